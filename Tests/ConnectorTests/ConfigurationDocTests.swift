import Connector
import Foundation
import Testing

/// docs/configuration.md lists exactly the keys a connector file may hold.
@Suite struct ConfigurationDocTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The keys of the reference table: rows that start with a key in backquotes.
    static func documentedKeys() throws -> [String] {
        let page = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        return page.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            let rest = line.dropFirst(3)
            guard let end = rest.firstIndex(of: "`") else { return nil }
            return String(rest[..<end])
        }
    }

    @Test func everyKeyOfTheLoaderIsDocumentedAndNothingElse() throws {
        let documented = try Self.documentedKeys()
        let accepted = ConnectorConfigLoader.documentedKeys
        #expect(!documented.isEmpty)
        let missing = Set(accepted).subtracting(documented).sorted()
        let unknown = Set(documented).subtracting(accepted).sorted()
        #expect(missing.isEmpty, "keys the loader accepts that docs/configuration.md does not list: \(missing)")
        #expect(unknown.isEmpty, "keys docs/configuration.md lists that the loader refuses: \(unknown)")
        #expect(Set(documented).count == documented.count, "a key is listed twice")
    }

    /// The loader really refuses what the list does not hold, so the list is the code's truth.
    @Test func aKeyOutsideTheListIsRefused() throws {
        for (section, _) in ConnectorConfigLoader.sections where !section.isEmpty {
            let yaml = """
                name: probe
                postgres: {url: "postgresql://u@h/db"\(section == "postgres" ? ", not_a_key: 1" : "")}
                kafka: {bootstrap_servers: "h:9092", topic_prefix: p\(section == "kafka" ? ", not_a_key: 1" : "")}
                \(section == "postgres" || section == "kafka" ? "" : "\(section): {not_a_key: 1}")
                """
            #expect(throws: ConfigErrors.self, "\(section).not_a_key") {
                try ConnectorConfigLoader().parse(yaml, file: "probe.yaml")
            }
        }
    }
}
