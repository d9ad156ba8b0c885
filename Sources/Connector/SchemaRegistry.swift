import ChangeEvents
import Logging

/// A Confluent-compatible schema registry, as the Avro format sees it. Called on the session's thread, once per new
/// schema and subject (never per event); it may block for a request.
public protocol SchemaRegistry: AnyObject {
    /// The id of `schema` (Avro schema text) under `subject`: registered as a new version when `register` is true (or
    /// found, if it is registered already), else looked up only.
    func id(subject: String, schema: String, register: Bool) throws(SchemaRegistryError) -> Int32
    /// The subject's latest version (`GET /subjects/{s}/versions/latest`); a subject without versions is a refusal.
    func latest(subject: String) throws(SchemaRegistryError) -> RegisteredSchema
}

/// One version of a subject, as the registry holds it.
public struct RegisteredSchema: Sendable, Equatable {
    public var id: Int32
    public var version: Int
    public var schema: String

    public init(id: Int32, version: Int, schema: String) {
        self.id = id
        self.version = version
        self.schema = schema
    }
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
    /// `use.latest.version` (with `register` off): records go out under the subject's latest version, which must
    /// encode them as their own schema does.
    private let useLatest: Bool
    private let metrics: ConnectorMetrics?
    /// Where the ids of schemas the builder wrote in Avro itself go, for its next events.
    private let builderIDs: AvroSchemaIDs?

    /// Whether the builder can write a connector's events in Avro itself: both sides Avro, Debezium's envelope, and no
    /// transform in between (the transforms read and write JSON).
    static func builderWritesAvro(_ config: ConnectorConfig) -> Bool {
        config.events.keyFormat == .avro && config.events.valueFormat == .avro && config.transforms.isEmpty
            && config.events.format == .debezium
    }

    init(
        config: ConnectorConfig, registry: any SchemaRegistry, metrics: ConnectorMetrics? = nil,
        builderIDs: AvroSchemaIDs? = nil
    ) {
        self.metrics = metrics
        self.builderIDs = builderIDs
        let settings = config.schemaRegistry ?? ConnectorConfig.SchemaRegistry(urls: [])
        conversion = AvroConversion(
            keyStrategy: settings.keySubjectStrategy, valueStrategy: settings.valueSubjectStrategy)
        self.registry = registry
        keyFormat = config.events.keyFormat
        valueFormat = config.events.valueFormat
        jsonSchemas = config.events.schemas
        register = settings.autoRegister
        useLatest = settings.useLatestVersion && !settings.autoRegister
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
        if event.avroSchemas != nil {
            // Written in Avro by the builder: only ids it did not know yet to fill in.
            guard event.avroIDsPending, let builderIDs else { return }
            let keySchema = event.avroSchemas?.key
            try resolving(topic: event.topic, what: what, isKey: nil, keySchema: keySchema) { conversion, resolve in
                try conversion.complete(&event, ids: builderIDs, resolve: resolve)
            }
            return
        }
        event.key = try side(event.key, format: keyFormat, topic: event.topic, isKey: true, what: what)
        event.value = try side(event.value, format: valueFormat, topic: event.topic, isKey: false, what: what)
    }

    private mutating func side(
        _ bytes: [UInt8]?, format: ConnectorConfig.Serialization, topic: String, isKey: Bool, what: String
    ) throws(Failure) -> [UInt8]? {
        guard let bytes else { return nil }
        guard format == .avro else { return jsonSchemas ? bytes : Self.payload(of: bytes) }
        return try resolving(topic: topic, what: what, isKey: isKey, keySchema: nil) { conversion, resolve in
            try conversion.convert(bytes, topic: topic, isKey: isKey, resolve: resolve)
        }
    }

    /// Runs `body` with the conversion and a resolver that asks the registry (counting each request), turning what goes
    /// wrong into a `Failure` that names the side (`isKey`, or for both sides the one whose schema is `keySchema`), the
    /// table and the topic.
    private mutating func resolving<T>(
        topic: String, what: String, isKey: Bool?, keySchema: AvroSchema?,
        _ body: (inout AvroConversion, AvroConversion.Resolve) throws -> T
    ) throws(Failure) -> T {
        let registry = self.registry
        let register = self.register
        let useLatest = self.useLatest
        let metrics = self.metrics
        var registryError: SchemaRegistryError?
        var failedSide = "value"
        do {
            return try body(&conversion) { subject, schema in
                do throws(SchemaRegistryError) {
                    if useLatest {
                        let latest = try registry.latest(subject: subject)
                        metrics?.countRegistryRequest(outcome: "ok")
                        try Self.checkLatest(latest, subject: subject, schema: schema)
                        return latest.id
                    }
                    let id = try registry.id(subject: subject, schema: schema.text, register: register)
                    metrics?.countRegistryRequest(outcome: "ok")
                    return id
                } catch {
                    registryError = error
                    failedSide = (isKey ?? (schema == keySchema)) ? "key" : "value"
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
                        "the schema registry refused the \(failedSide) schema of \(what) on topic \(topic): "
                            + registryError.message)
                case .unavailable: throw .unavailable(registryError)
                case .unauthorized: throw .unauthorized(registryError)
                }
            }
            throw .refused("the \(failedSide) of \(what) on topic \(topic) cannot be written in Avro: \(error)")
        }
    }

    /// With `use.latest.version`, Confluent's serializer writes a record with the subject's latest schema, field by
    /// field in that schema's order: the bytes are a faithful record only when the latest version encodes like the
    /// record's own schema (the same Parsing Canonical Form: it may differ in docs, defaults and properties). Anything
    /// else is refused rather than written under a schema that reads it wrongly.
    static func checkLatest(_ latest: RegisteredSchema, subject: String, schema: AvroSchema) throws(SchemaRegistryError) {
        let own: String
        let registered: String
        do {
            own = try AvroSchema.parsingCanonicalForm(schema.text)
            registered = try AvroSchema.parsingCanonicalForm(latest.schema)
        } catch {
            throw SchemaRegistryError(
                .refused, "the latest version (\(latest.version)) of subject \(subject) is not a readable Avro schema: \(error)")
        }
        guard own == registered else {
            throw SchemaRegistryError(
                .refused,
                "use_latest_version: the latest version (\(latest.version), id \(latest.id)) of subject \(subject) does not "
                    + "encode this record as its own schema does (fields, types or names differ); register the record's "
                    + "schema as the subject's latest version, or turn use_latest_version off")
        }
    }

    /// JsonConverter's form without its schema: the payload alone (a JSON side next to an Avro one, `schemas` off).
    static func payload(of bytes: [UInt8]) -> [UInt8] {
        let scanner = JSONScanner(bytes)
        guard let range = scanner.member("payload", ofObjectAt: 0) else { return bytes }
        return Array(bytes[range])
    }
}
