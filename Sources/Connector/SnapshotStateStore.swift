import Foundation
import PGOutput

/// What a connector remembers of its snapshot between runs: which tables are completely in Kafka.
public struct SnapshotState: Codable, Equatable, Sendable {
    public var slot: String
    public var completed: Bool
    /// `schema.table` of the tables whose every row Kafka acknowledged.
    public var tablesDone: [String]
    /// The page ranges a large table was split into (kept, so a resumed snapshot splits it the same way).
    public var ranges: [String: [PageRange]]
    /// Indexes into `ranges` of the ranges whose every row Kafka acknowledged.
    public var rangesDone: [String: [Int]]

    /// Pages `[lower, upper)`; nil upper = to the end of the table.
    public struct PageRange: Codable, Equatable, Sendable {
        public var lower: Int64
        public var upper: Int64?
    }

    public init(
        slot: String, completed: Bool = false, tablesDone: [String] = [], ranges: [String: [PageRange]] = [:],
        rangesDone: [String: [Int]] = [:]
    ) {
        self.slot = slot
        self.completed = completed
        self.tablesDone = tablesDone
        self.ranges = ranges
        self.rangesDone = rangesDone
    }

    enum CodingKeys: String, CodingKey {
        case slot, completed, ranges
        case tablesDone = "tables_done"
        case rangesDone = "ranges_done"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        slot = try container.decode(String.self, forKey: .slot)
        completed = try container.decode(Bool.self, forKey: .completed)
        tablesDone = try container.decode([String].self, forKey: .tablesDone)
        ranges = try container.decodeIfPresent([String: [PageRange]].self, forKey: .ranges) ?? [:]
        rangesDone = try container.decodeIfPresent([String: [Int]].self, forKey: .rangesDone) ?? [:]
    }
}

/// Keeps `SnapshotState` in `<state_directory>/<connector>.snapshot.json`, replaced atomically.
public struct SnapshotStateStore: Sendable {
    private let file: StateFile<SnapshotState>
    public var path: String { file.path }

    public init(directory: String, connector: String) {
        file = StateFile(directory: directory, name: "\(connector).snapshot.json", what: "snapshot state")
    }

    /// The saved state, or nil when there is none (or it belongs to another slot).
    public func load(slot: String) throws -> SnapshotState? {
        guard let state = try file.load() else { return nil }
        return state.slot == slot ? state : nil
    }

    public func save(_ state: SnapshotState) throws {
        try file.save(state)
    }
}
