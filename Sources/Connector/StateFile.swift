import Foundation

/// A small JSON file in `snapshot.state_directory`, read whole and replaced atomically.
struct StateFile<Value: Codable>: Sendable {
    let path: String
    /// What the file is, for messages ("snapshot state", "slot record").
    let what: String

    init(directory: String, name: String, what: String) {
        path = (directory as NSString).appendingPathComponent(name)
        self.what = what
    }

    /// The saved value, or nil when there is no file.
    func load() throws(ConnectorError) -> Value? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch {
            throw ConnectorError(.configuration, "\(what) \(path) is unreadable (\(error)); move it away to start over")
        }
    }

    func save(_ value: Value) throws(ConnectorError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let temporary = path + ".tmp"
            try encoder.encode(value).write(to: URL(fileURLWithPath: temporary))
            // rename(2) replaces the file atomically: a crash leaves the old state or the new, never half of one.
            if rename(temporary, path) != 0 { throw CocoaError(.fileWriteUnknown) }
        } catch {
            throw ConnectorError(.configuration, "cannot write \(what) \(path): \(error); check snapshot.state_directory")
        }
    }
}
