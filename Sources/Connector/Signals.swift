import Foundation
public import PGOutput

/// A signal as Debezium defines them: an id, a type and JSON data (a row of the signal table, a record of the signal
/// topic, or a request to the HTTP endpoint).
public struct Signal: Sendable, Equatable {
    public var id: String
    public var type: String
    public var data: String?
    /// For a signal read from the signal topic: its offset, kept once the signal is acted on, so that a restart reads
    /// on after it.
    public var kafkaOffset: Int64?

    public init(id: String, type: String, data: String?, kafkaOffset: Int64? = nil) {
        self.id = id
        self.type = type
        self.data = data
        self.kafkaOffset = kafkaOffset
    }
}

extension Signal {
    /// A signal as the signal topic and the HTTP endpoint carry it: a JSON object with `type`, `data` (an object, or
    /// its text) and an optional `id` (`defaultID` when it has none); nil for anything else.
    public init?(json bytes: [UInt8], defaultID: String, kafkaOffset: Int64? = nil) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
            let type = object["type"] as? String
        else { return nil }
        var data: String?
        if let text = object["data"] as? String {
            data = text
        } else if let value = object["data"], !(value is NSNull),
            let encoded = try? JSONSerialization.data(withJSONObject: value)
        {
            data = String(decoding: encoded, as: UTF8.self)
        }
        self.init(id: (object["id"] as? String) ?? defaultID, type: type, data: data, kafkaOffset: kafkaOffset)
    }
}

/// Where the signal topic was read up to (`<name>.signals.json` in `snapshot.state_directory`).
public struct SignalTopicPosition: Codable, Sendable, Equatable {
    /// The offset of the last signal acted on.
    public var offset: Int64

    static func file(_ config: ConnectorConfig) -> StateFile<SignalTopicPosition> {
        StateFile(directory: config.snapshot.stateDirectory, name: "\(config.name).signals.json", what: "signal topic position")
    }

    /// The offset to read the signal topic from: after the last signal acted on, or its beginning.
    public static func start(_ config: ConnectorConfig) throws(ConnectorError) -> Int64? {
        try file(config).load().map { $0.offset + 1 }
    }
}

/// What a signal asks for, read from its type and data as Debezium reads them.
public enum SignalAction: Sendable, Equatable {
    /// `execute-snapshot`: an incremental snapshot of the tables the `data-collections` patterns name.
    case executeSnapshot(SnapshotRequest)
    /// `stop-snapshot`: of the tables named, or (none named) of the whole incremental snapshot.
    case stopSnapshot(patterns: [String]?)
    case pauseSnapshot
    case resumeSnapshot
    /// `log`: a line in the connector's log.
    case log(String)

    /// `execute-snapshot`'s data.
    public struct SnapshotRequest: Sendable, Equatable {
        /// Regular expressions matched, whole and ignoring case, against `schema.table`.
        public var patterns: [String]
        /// `additional-conditions`: a WHERE clause for the tables a pattern names.
        public var conditions: [Condition]
        /// `surrogate-key`: the column to read in chunks by, for a table without a primary key.
        public var surrogateKey: String?

        public struct Condition: Sendable, Equatable {
            public var pattern: String
            public var filter: String
        }
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Reads a signal; a signal that is not one Tributary acts on (an unknown type, bad JSON, a missing field) throws,
    /// saying what is wrong.
    public init(_ signal: Signal) throws(Invalid) {
        let data = try Self.object(signal.data, type: signal.type)
        switch signal.type {
        case "execute-snapshot":
            let kind = (data["type"] as? String)?.lowercased() ?? "incremental"
            guard kind == "incremental" else {
                throw Invalid(
                    description: kind == "blocking"
                        ? "blocking snapshots are not supported; send \"type\": \"incremental\""
                        : "snapshot type '\(kind)' is unknown; use incremental")
            }
            guard let patterns = try Self.patterns(data), !patterns.isEmpty else {
                throw Invalid(description: "execute-snapshot needs data-collections, a list of tables (schema.table)")
            }
            var conditions: [SnapshotRequest.Condition] = []
            if let entries = data["additional-conditions"] {
                guard let list = entries as? [[String: Any]] else {
                    throw Invalid(description: "additional-conditions must be a list of {data-collection, filter} objects")
                }
                for entry in list {
                    guard let pattern = entry["data-collection"] as? String, let filter = entry["filter"] as? String,
                        !filter.trimmingCharacters(in: .whitespaces).isEmpty
                    else {
                        throw Invalid(description: "each additional condition needs data-collection and filter strings")
                    }
                    conditions.append(.init(pattern: pattern, filter: filter))
                }
            }
            if data["additional-condition"] != nil {
                throw Invalid(description: "additional-condition was replaced by additional-conditions in Debezium 2.3")
            }
            let surrogate = (data["surrogate-key"] as? String).flatMap { $0.trimmingCharacters(in: .whitespaces) }
            self = .executeSnapshot(
                SnapshotRequest(
                    patterns: patterns, conditions: conditions, surrogateKey: surrogate?.isEmpty == false ? surrogate : nil))
        case "stop-snapshot":
            let kind = (data["type"] as? String)?.lowercased() ?? "incremental"
            guard kind == "incremental" else { throw Invalid(description: "only incremental snapshots can be stopped") }
            let patterns = try Self.patterns(data)
            self = .stopSnapshot(patterns: patterns?.isEmpty == false ? patterns : nil)
        case "pause-snapshot": self = .pauseSnapshot
        case "resume-snapshot": self = .resumeSnapshot
        case "log":
            guard let message = data["message"] as? String, !message.isEmpty else {
                throw Invalid(description: "a log signal needs a message")
            }
            self = .log(message)
        default:
            throw Invalid(
                description:
                    "signal type '\(signal.type)' is unknown; Tributary acts on execute-snapshot, stop-snapshot, "
                    + "pause-snapshot, resume-snapshot and log")
        }
    }

    private static func object(_ text: String?, type: String) throws(Invalid) -> [String: Any] {
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [:] }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)), let object = parsed as? [String: Any]
        else {
            throw Invalid(description: "the data of a \(type) signal is not a JSON object: \(text.prefix(200))")
        }
        return object
    }

    private static func patterns(_ data: [String: Any]) throws(Invalid) -> [String]? {
        guard let value = data["data-collections"] else { return nil }
        guard let list = value as? [Any], list.allSatisfy({ $0 is String }) else {
            throw Invalid(description: "data-collections must be a list of strings (schema.table)")
        }
        return list.compactMap { ($0 as? String)?.trimmingCharacters(in: .whitespaces) }
    }

    /// Whether `pattern` (a regular expression, whole, ignoring case, as Debezium matches data collections) names
    /// `table`; nil when it is no valid expression.
    public static func matches(_ pattern: String, _ table: TableName) -> Bool? {
        guard let expression = try? NSRegularExpression(pattern: "^(?:\(pattern))$", options: [.caseInsensitive]) else {
            return nil
        }
        let text = table.description
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
