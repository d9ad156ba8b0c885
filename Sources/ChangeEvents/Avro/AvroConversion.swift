import Foundation

/// Confluent's AvroConverter as the last stage of the event path: a key or value as JsonConverter writes it with its
/// schema (`{"schema":…,"payload":…}`) becomes Confluent's wire format, under the id the registry gives the derived
/// Avro schema's subject.
///
/// The registry is asked once per schema and subject: each schema's text is derived once and its id kept, so an
/// event whose schema was seen before costs a lookup by the schema's bytes and the encoding of its payload.
public struct AvroConversion {
    /// How a subject is named (Confluent's `key.subject.name.strategy` / `value.subject.name.strategy`).
    public enum SubjectStrategy: String, Sendable, CaseIterable {
        /// `<topic>-key`, `<topic>-value` (Confluent's default).
        case topicName = "topic_name"
        /// The record's full name (`dbz.public.orders.Value`).
        case recordName = "record_name"
        /// `<topic>-<record full name>`.
        case topicRecordName = "topic_record_name"

        public func subject(topic: String, isKey: Bool, schema: AvroSchema) throws(Failure) -> String {
            switch self {
            case .topicName: return "\(topic)-\(isKey ? "key" : "value")"
            case .recordName, .topicRecordName:
                guard schema.connect.kind == .structure, let name = schema.connect.name else {
                    throw Failure(
                        description: "the \(isKey ? "key" : "value") of \(topic) is not a named record, so the "
                            + "\(rawValue) subject strategy cannot name its subject")
                }
                return self == .recordName ? name : "\(topic)-\(name)"
            }
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Gives the id of `schema` under `subject`, registering it (or finding it) in the registry.
    public typealias Resolve = (_ subject: String, _ schema: AvroSchema) throws -> Int32

    private struct Known {
        var connect: ConnectSchemaNode
        var avro: AvroSchema
        /// Ids by subject (one schema may go to several topics).
        var ids: [String: Int32] = [:]
    }

    public let keyStrategy: SubjectStrategy
    public let valueStrategy: SubjectStrategy
    /// Schemas seen, by the bytes of their JsonConverter form.
    private var known: [[UInt8]: Known] = [:]
    /// The last schema of each topic's keys and values, with its id: an event with the same schema bytes (the common
    /// case) is recognised by comparing them, not by hashing them.
    private var last: [SideTopic: (schema: [UInt8], known: Known, id: Int32)] = [:]

    private struct SideTopic: Hashable {
        var isKey: Bool
        var topic: String
    }

    private static let schemaPrefix = Array(#"{"schema":"#.utf8)
    private static let payloadPrefix = Array(#","payload":"#.utf8)

    public init(keyStrategy: SubjectStrategy = .topicName, valueStrategy: SubjectStrategy = .topicName) {
        self.keyStrategy = keyStrategy
        self.valueStrategy = valueStrategy
    }

    /// Schemas derived so far.
    public var schemaCount: Int { known.count }
    /// Payloads that had to be parsed into a tree (their members out of the schema's order).
    public private(set) var treeFallbacks = 0

    /// The Avro record for one side of an event; nil stays nil (a tombstone).
    public mutating func convert(_ json: [UInt8]?, topic: String, isKey: Bool, resolve: Resolve) throws -> [UInt8]? {
        guard let json else { return nil }
        let side = SideTopic(isKey: isKey, topic: topic)
        if let seen = last[side], let payload = Self.payloadRange(json, schema: seen.schema) {
            return try record(json, payload, id: seen.id, schema: seen.known.connect)
        }
        let scanner = JSONScanner(json)
        guard let schemaRange = scanner.member("schema", ofObjectAt: 0),
            let payloadRange = scanner.member("payload", ofObjectAt: 0)
        else {
            throw Failure(description: "the \(isKey ? "key" : "value") of \(topic) carries no Connect schema to derive Avro from")
        }
        let schemaBytes = Array(json[schemaRange])
        let (entry, id) = try known(schemaBytes, connect: nil, avro: nil, topic: topic, isKey: isKey, resolve: resolve)
        last[side] = (schemaBytes, entry, id)
        return try record(json, payloadRange, id: id, schema: entry.connect)
    }

    /// The schema known by its JsonConverter bytes (derived now if it is new), and its id under its subject for
    /// `topic` (asked for now if it is new).
    private mutating func known(
        _ schemaBytes: [UInt8], connect: ConnectSchemaNode?, avro: AvroSchema?, topic: String, isKey: Bool,
        resolve: Resolve
    ) throws -> (Known, Int32) {
        var entry: Known
        if let found = known[schemaBytes] {
            entry = found
        } else if let avro {
            entry = Known(connect: avro.connect, avro: avro)
        } else {
            let connect = try connect ?? ConnectSchemaNode(json: JSONTree.parse(schemaBytes))
            entry = Known(connect: connect, avro: try AvroSchema(connect))
        }
        let strategy = isKey ? keyStrategy : valueStrategy
        let subject = try strategy.subject(topic: topic, isKey: isKey, schema: entry.avro)
        let id: Int32
        if let cached = entry.ids[subject] {
            id = cached
        } else {
            id = try resolve(subject, entry.avro)
            entry.ids[subject] = id
            known[schemaBytes] = entry
        }
        if known[schemaBytes] == nil { known[schemaBytes] = entry }
        return (entry, id)
    }

    /// For an event the builder wrote in Avro with an id still zeros: the ids of its schemas (registered or found, the
    /// key's first, as for any record) written into its bytes and noted in `ids` for the builder's next events.
    public mutating func complete(_ event: inout ChangeEvent, ids: AvroSchemaIDs, resolve: Resolve) throws {
        guard event.avroIDsPending, let schemas = event.avroSchemas else { return }
        var learned = AvroSchemaIDs.IDs()
        if event.key != nil, let keyJSON = schemas.keyJSON, let key = schemas.key {
            let id = try known(keyJSON, connect: nil, avro: key, topic: event.topic, isKey: true, resolve: resolve).1
            Self.setID(id, in: &event.key!)
            learned.key = id
        }
        if event.value != nil {
            let id = try known(
                schemas.valueJSON, connect: nil, avro: schemas.value, topic: event.topic, isKey: false, resolve: resolve
            ).1
            Self.setID(id, in: &event.value!)
            learned.value = id
        }
        ids.record(learned, for: schemas)
        event.avroIDsPending = false
    }

    private static func setID(_ id: Int32, in bytes: inout [UInt8]) {
        let unsigned = UInt32(bitPattern: id)
        bytes[1] = UInt8(unsigned >> 24)
        bytes[2] = UInt8(truncatingIfNeeded: unsigned >> 16)
        bytes[3] = UInt8(truncatingIfNeeded: unsigned >> 8)
        bytes[4] = UInt8(truncatingIfNeeded: unsigned)
    }

    /// Where the payload is, when `json` is `{"schema":<schema>,"payload":…}` with exactly these schema bytes.
    static func payloadRange(_ json: [UInt8], schema: [UInt8]) -> Range<Int>? {
        let start = schemaPrefix.count + schema.count + payloadPrefix.count
        guard json.count > start, json[json.count - 1] == UInt8(ascii: "}") else { return nil }
        let same = json.withUnsafeBufferPointer { buffer in
            schema.withUnsafeBufferPointer { expected in
                memcmp(buffer.baseAddress!, schemaPrefix, schemaPrefix.count) == 0
                    && memcmp(buffer.baseAddress! + schemaPrefix.count, expected.baseAddress!, schema.count) == 0
                    && memcmp(buffer.baseAddress! + schemaPrefix.count + schema.count, payloadPrefix, payloadPrefix.count) == 0
            }
        }
        return same ? start..<(json.count - 1) : nil
    }

    /// The wire format: straight from the bytes when the payload follows the schema's order, else through the tree.
    mutating func record(_ json: [UInt8], _ payload: Range<Int>, id: Int32, schema: ConnectSchemaNode) throws -> [UInt8] {
        var bytes: [UInt8] = [0]
        bytes.reserveCapacity(payload.count / 2 + 16)
        let unsigned = UInt32(bitPattern: id)
        bytes += [
            UInt8(unsigned >> 24), UInt8(truncatingIfNeeded: unsigned >> 16), UInt8(truncatingIfNeeded: unsigned >> 8),
            UInt8(truncatingIfNeeded: unsigned),
        ]
        if AvroStreamEncoder.encode(json, payload, schema, into: &bytes) { return bytes }
        treeFallbacks += 1
        return try AvroEncoder.record(schemaID: id, payload: JSONTree.parse(Array(json[payload])), schema: schema)
    }
}
