import Connector
import Foundation
import Testing

/// docs/configuration.md lists exactly the keys a connector file may hold.
@Suite struct ConfigurationDocTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The keys of the reference table.
    static func documentedKeys() throws -> [String] {
        try documentedExamples().map(\.key)
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

    /// The reference rows: key and example, the example being the fourth cell in backquotes.
    static func documentedExamples() throws -> [(key: String, example: String)] {
        let page = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        return page.split(separator: "\n").compactMap { line -> (String, String)? in
            guard line.hasPrefix("| `") else { return nil }
            // Cells are separated by " | "; an escaped "\|" inside a cell is not a separator.
            let cells = line.replacingOccurrences(of: "\\|", with: "\u{1}").components(separatedBy: " | ")
            guard cells.count >= 5 else { return nil }
            let key = cells[0].dropFirst(3).prefix { $0 != "`" }
            let example = cells[3]
            guard example.hasPrefix("`"), example.hasSuffix("`"), example.count > 2 else { return (String(key), "") }
            return (String(key), String(example.dropFirst().dropLast()))
        }
    }

    /// Each key's example, put in an otherwise minimal connector file, is accepted by the loader.
    @Test func everyKeyHasAnExampleTheLoaderAccepts() throws {
        let rows = try Self.documentedExamples()
        #expect(rows.count == ConnectorConfigLoader.documentedKeys.count, "every key has a row with an example")
        for (key, example) in rows {
            #expect(!example.isEmpty, "\(key) has no example")
            var sections: [String: [String: String]] = [
                "postgres": ["url": "\"postgresql://u@h/db\""],
                "kafka": ["bootstrap_servers": "\"h:9092\"", "topic_prefix": "p"],
            ]
            var name = "probe"
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            var topLevel = ""
            if key == "name" {
                name = example
            } else if parts.count == 1 {
                topLevel = "\(key): \(example)\n"
            } else {
                sections[parts[0], default: [:]][parts[1]] = example
            }
            // Keys that only act with another, as the page says.
            if key == "postgres.publication_mode" && example == "filtered" { sections["postgres"]?["tables"] = "[t]" }
            if key == "heartbeat.action_query" { sections["heartbeat"]?["interval"] = "10s" }
            if key.hasPrefix("events.cloudevents_") { sections["events"]?["format"] = "cloudevents" }
            if key == "events.transaction_topic" { sections["events"]?["transaction_metadata"] = "true" }
            if key.hasPrefix("schema_registry.") || (key.hasSuffix("_format") && example == "avro") {
                sections["events", default: [:]]["value_format"] = sections["events"]?["value_format"] ?? "avro"
                sections["schema_registry", default: [:]]["url"] = sections["schema_registry"]?["url"] ?? "\"http://r:8081\""
            }
            if key == "schema_registry.cert_file" { sections["schema_registry"]?["key_file"] = "/k.pem" }
            if key == "schema_registry.key_file" { sections["schema_registry"]?["cert_file"] = "/c.pem" }
            if key == "schema_registry.use_latest_version" { sections["schema_registry"]?["auto_register"] = "false" }
            if key == "signals.kafka_bootstrap_servers" { sections["signals"]?["kafka_topic"] = "s" }
            if key == "postgres.row_filters" { sections["postgres"]?["tables"] = "[public.orders]" }
            var yaml = "name: \(name)\n" + topLevel
            for (section, entries) in sections.sorted(by: { $0.key < $1.key }) {
                yaml += "\(section):\n"
                for (entry, value) in entries.sorted(by: { $0.key < $1.key }) { yaml += "  \(entry): \(value)\n" }
            }
            do {
                _ = try ConnectorConfigLoader(environment: [
                    "PGPASSWORD": "secret", "REGISTRY_AUTH": "u:p", "REGISTRY_TOKEN": "t",
                ]).parse(
                    yaml, file: "example.yaml")
            } catch {
                Issue.record("the example of \(key) (\(example)) is refused: \(error)")
            }
        }
    }
    /// The default a row states is the one the code has: each default is written once, next to its type.
    @Test func everyStatedDefaultIsTheCodes() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        var stated: [String: String] = [:]
        for line in page.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.replacingOccurrences(of: "\\|", with: "\u{1}").components(separatedBy: " | ")
            guard cells.count >= 5 else { continue }
            stated[String(cells[0].dropFirst(3).prefix { $0 != "`" })] = cells[2]
        }
        func seconds(_ duration: Duration) -> String { "\(duration.components.seconds)s" }
        let events = ConnectorConfig.Events()
        let snapshot = ConnectorConfig.Snapshot()
        let errors = ConnectorConfig.Errors()
        let expected: [String: String] = [
            "postgres.status_interval": seconds(ConnectorConfig.Postgres.defaultStatusInterval),
            "postgres.receive_timeout": seconds(ConnectorConfig.Postgres.defaultReceiveTimeout),
            "kafka.max_in_flight": "\(ConnectorConfig.Kafka.defaultMaxInFlight)",
            "kafka.max_in_flight_bytes": "\(ConnectorConfig.Kafka.defaultMaxInFlightBytes >> 20)MB",
            "events.schemas": "\(events.schemas)", "events.tombstones": "\(events.tombstones)",
            "events.skipped_operations": "[\(events.skippedOperations.map(\.rawValue).sorted().joined(separator: ", "))]",
            "snapshot.mode": snapshot.mode.rawValue, "snapshot.state_directory": snapshot.stateDirectory,
            "snapshot.max_threads": "\(snapshot.maxThreads)", "snapshot.range_pages": "\(snapshot.rangePages)",
            "errors.mode": errors.mode.rawValue, "errors.retry_backoff": seconds(errors.retryBackoff),
            "errors.retry_max_backoff": seconds(errors.retryMaxBackoff),
        ]
        for (key, value) in expected {
            #expect(
                stated[key]?.hasPrefix("`\(value)`") == true, "\(key): docs say \(stated[key] ?? "nothing"), the code \(value)")
        }
    }
}
