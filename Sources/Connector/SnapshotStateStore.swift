import Foundation
public import PGOutput

/// What a connector remembers of its snapshot between runs: which tables are completely in Kafka.
public struct SnapshotState: Codable, Equatable, Sendable {
    public var slot: String
    public var completed: Bool
    /// `schema.table` of the tables whose every row Kafka acknowledged.
    public var tablesDone: [String]

    public init(slot: String, completed: Bool = false, tablesDone: [String] = []) {
        self.slot = slot
        self.completed = completed
        self.tablesDone = tablesDone
    }

    enum CodingKeys: String, CodingKey {
        case slot, completed
        case tablesDone = "tables_done"
    }
}

/// Keeps `SnapshotState` in `<state_directory>/<connector>.snapshot.json`, replaced atomically.
public struct SnapshotStateStore: Sendable {
    public let path: String

    public init(directory: String, connector: String) {
        path = (directory as NSString).appendingPathComponent("\(connector).snapshot.json")
    }

    /// The saved state, or nil when there is none (or it belongs to another slot).
    public func load(slot: String) throws -> SnapshotState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            let state = try JSONDecoder().decode(SnapshotState.self, from: data)
            return state.slot == slot ? state : nil
        } catch {
            throw ConnectorError(.configuration, "snapshot state \(path) is unreadable (\(error)); remove it to snapshot again")
        }
    }

    public func save(_ state: SnapshotState) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let temporary = path + ".tmp"
            try encoder.encode(state).write(to: URL(fileURLWithPath: temporary))
            // rename(2) replaces the file atomically: a crash leaves the old state or the new, never half of one.
            if rename(temporary, path) != 0 { throw CocoaError(.fileWriteUnknown) }
        } catch {
            throw ConnectorError(.configuration, "cannot write snapshot state \(path): \(error); check snapshot.state_directory")
        }
    }
}
