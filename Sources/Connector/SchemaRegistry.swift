public import ChangeEvents
import Logging

/// A Confluent-compatible schema registry, as the Avro format sees it. Called on the session's thread, once per new
/// schema and subject (never per event); it may block for a request.
public protocol SchemaRegistry: AnyObject {
    /// The id of `schema` (Avro schema text) under `subject`: registered as a new version when `register` is true (or
    /// found, if it is registered already), else looked up only.
    func id(subject: String, schema: String, register: Bool) throws(SchemaRegistryError) -> Int32
}

public struct SchemaRegistryError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The registry refused this schema for this subject for good: incompatible with the versions before it
        /// (409), not valid (422), or not registered where the connector may not register (lookup only).
        case refused
        /// The registry cannot be reached or answered with a server error: worth retrying.
        case unavailable
        /// The registry refused the connector's credentials (401, 403): a configuration to fix.
        case unauthorized
    }

    public var kind: Kind
    public var message: String
    /// The registry's own error code (`40901`, `42201`, …), when it gave one.
    public var code: Int?

    public init(_ kind: Kind, _ message: String, code: Int? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    public var description: String { message }
}

/// The Avro formats as the event path's last stage: each Avro side of a record (written with its Connect schema)
/// becomes Confluent's wire format; a JSON side loses the schema the Avro side needed unless `events.schemas` is on.
struct AvroFormat {
    private var conversion: AvroConversion
    private let registry: any SchemaRegistry
    private let keyFormat: ConnectorConfig.Serialization
    private let valueFormat: ConnectorConfig.Serialization
    private let jsonSchemas: Bool
    private let register: Bool
    private let metrics: ConnectorMetrics?

    init(config: ConnectorConfig, registry: any SchemaRegistry, metrics: ConnectorMetrics? = nil) {
        self.metrics = metrics
        let settings = config.schemaRegistry ?? ConnectorConfig.SchemaRegistry(urls: [])
        conversion = AvroConversion(
            keyStrategy: settings.keySubjectStrategy, valueStrategy: settings.valueSubjectStrategy)
        self.registry = registry
        keyFormat = config.events.keyFormat
        valueFormat = config.events.valueFormat
        jsonSchemas = config.events.schemas
        register = settings.autoRegister
    }

    /// Why a record cannot be written in Avro.
    enum Failure: Error, CustomStringConvertible {
        /// The registry refused the schema, or the record does not fit Avro: a refusal through `errors.mode`.
        case refused(String)
        /// The registry is away: the session ends and starts again from the slot.
        case unavailable(SchemaRegistryError)
        case unauthorized(SchemaRegistryError)

        var description: String {
            switch self {
            case .refused(let message): message
            case .unavailable(let error), .unauthorized(let error): error.message
            }
        }
    }

    mutating func apply(to event: inout ChangeEvent) throws(Failure) {
        let what = event.table.map { "\($0)" } ?? event.topic
        event.key = try side(event.key, format: keyFormat, topic: event.topic, isKey: true, what: what)
        event.value = try side(event.value, format: valueFormat, topic: event.topic, isKey: false, what: what)
    }

    private mutating func side(
        _ bytes: [UInt8]?, format: ConnectorConfig.Serialization, topic: String, isKey: Bool, what: String
    ) throws(Failure) -> [UInt8]? {
        guard let bytes else { return nil }
        guard format == .avro else { return jsonSchemas ? bytes : Self.payload(of: bytes) }
        let registry = self.registry
        let register = self.register
        let metrics = self.metrics
        var registryError: SchemaRegistryError?
        do {
            return try conversion.convert(bytes, topic: topic, isKey: isKey) { subject, schema in
                do throws(SchemaRegistryError) {
                    let id = try registry.id(subject: subject, schema: schema.text, register: register)
                    metrics?.countRegistryRequest(outcome: "ok")
                    return id
                } catch {
                    registryError = error
                    metrics?.countRegistryRequest(
                        outcome: error.kind == .refused
                            ? "refused" : error.kind == .unavailable ? "unavailable" : "unauthorized")
                    throw error
                }
            }
        } catch {
            if let registryError {
                switch registryError.kind {
                case .refused:
                    throw .refused(
                        "the schema registry refused the \(isKey ? "key" : "value") schema of \(what) on topic \(topic): "
                            + registryError.message)
                case .unavailable: throw .unavailable(registryError)
                case .unauthorized: throw .unauthorized(registryError)
                }
            }
            throw .refused("the \(isKey ? "key" : "value") of \(what) on topic \(topic) cannot be written in Avro: \(error)")
        }
    }

    /// JsonConverter's form without its schema: the payload alone (a JSON side next to an Avro one, `schemas` off).
    static func payload(of bytes: [UInt8]) -> [UInt8] {
        let scanner = JSONScanner(bytes)
        guard let range = scanner.member("payload", ofObjectAt: 0) else { return bytes }
        return Array(bytes[range])
    }
}
