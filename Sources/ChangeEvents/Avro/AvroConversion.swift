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

    public init(keyStrategy: SubjectStrategy = .topicName, valueStrategy: SubjectStrategy = .topicName) {
        self.keyStrategy = keyStrategy
        self.valueStrategy = valueStrategy
    }

    /// Schemas derived so far.
    public var schemaCount: Int { known.count }

    /// The Avro record for one side of an event; nil stays nil (a tombstone).
    public mutating func convert(_ json: [UInt8]?, topic: String, isKey: Bool, resolve: Resolve) throws -> [UInt8]? {
        guard let json else { return nil }
        let scanner = JSONScanner(json)
        guard let schemaRange = scanner.member("schema", ofObjectAt: 0),
            let payloadRange = scanner.member("payload", ofObjectAt: 0)
        else {
            throw Failure(description: "the \(isKey ? "key" : "value") of \(topic) carries no Connect schema to derive Avro from")
        }
        let schemaBytes = Array(json[schemaRange])
        var entry: Known
        if let found = known[schemaBytes] {
            entry = found
        } else {
            let connect = try ConnectSchemaNode(json: JSONTree.parse(schemaBytes))
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
        let payload = try JSONTree.parse(Array(json[payloadRange]))
        return try AvroEncoder.record(schemaID: id, payload: payload, schema: entry.connect)
    }
}
