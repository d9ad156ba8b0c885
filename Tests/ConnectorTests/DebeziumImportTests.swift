import Connector
import Foundation
import Testing

/// `tributary import-debezium`: a Debezium connector's JSON becomes a connector file the loader accepts.
@Suite struct DebeziumImportTests {
    static func fixture(_ name: String) throws -> Data {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        return try Data(contentsOf: url)
    }

    static func load(_ yaml: String) throws -> ConnectorConfig {
        try ConnectorConfigLoader(environment: ["PGPASSWORD": "secret"]).parse(yaml, file: "imported.yaml")
    }

    @Test func theDocumentationsExampleBecomesAValidFile() throws {
        let result = try DebeziumImport(bootstrapServers: "kafka:9092").convert(Self.fixture("debezium-fulfillment.json"))
        let config = try Self.load(result.yaml)
        #expect(config.name == "fulfillment-connector")
        #expect(config.postgres.url == "postgresql://postgres@192.168.99.100:5432/postgres")
        #expect(config.postgres.password == "secret", "the password comes from ${env:PGPASSWORD}, not the JSON")
        #expect(!result.yaml.contains("\"postgres\"\n"), "the literal password is not copied")
        #expect(config.postgres.slot == "debezium", "Debezium's default slot, so Tributary can take it over")
        #expect(config.postgres.publication == "dbz_publication")
        #expect(config.postgres.tables.map(\.description) == ["public.inventory"])
        #expect(config.kafka.topicPrefix == "fulfillment")
        #expect(config.kafka.bootstrapServers == "kafka:9092")
        #expect(config.snapshot.mode == .initial)
        #expect(result.notes.contains { $0.contains("PGPASSWORD") })
        #expect(result.notes.contains { $0.contains("--continue-from-slot") })
    }

    @Test func everyMappedPropertyArrives() throws {
        let result = try DebeziumImport(bootstrapServers: "kafka-1:9092,kafka-2:9092").convert(
            Self.fixture("debezium-inventory.json"))
        let config = try Self.load(result.yaml)
        #expect(config.name == "inventory-cdc")
        #expect(config.postgres.url == "postgresql://cdc%20user@db.internal:5433/inventory?sslmode=require")
        #expect(config.postgres.slot == "inventory_slot")
        #expect(config.postgres.publication == "inventory_pub")
        #expect(config.postgres.publicationMode == .filtered)
        #expect(config.postgres.tables.map(\.description) == ["public.customers", "public.orders"])
        #expect(config.postgres.excludedTables.map(\.description) == ["public.audit_log"])
        #expect(config.postgres.statusInterval == .seconds(5))
        #expect(config.kafka.properties.contains { $0 == ("compression.type", "lz4") })
        #expect(config.kafka.properties.contains { $0 == ("linger.ms", "20") })
        #expect(config.events.schemas == false)
        #expect(config.events.tombstones == false)
        #expect(Set(config.events.skippedOperations.map(\.rawValue)) == ["t", "d"])
        #expect(config.snapshot.maxThreads == 4)
        #expect(config.snapshot.selectOverrides.count == 1)
        #expect(config.errors.mode == .deadLetter)
        #expect(config.errors.deadLetterTopic == "inventory.dlq")
        #expect(config.heartbeat.interval == .seconds(30))
        #expect(config.heartbeat.actionQuery == "INSERT INTO cdc_heartbeat (ts) VALUES (now())")
        // Transforms change the events' shape: they are named, not silently dropped.
        #expect(result.notes.contains { $0.hasPrefix("transforms ") })
        #expect(result.notes.contains { $0.hasPrefix("transforms.unwrap.type ") })
        #expect(result.yaml.contains("# NOTE: transforms"))
    }

    @Test func continuingFromTheSlotSkipsTheSnapshot() throws {
        let result = try DebeziumImport(bootstrapServers: "kafka:9092", continueFromSlot: true).convert(
            Self.fixture("debezium-fulfillment.json"))
        #expect(try Self.load(result.yaml).snapshot.mode == .noData)
    }

    @Test func whatWouldChangeTheEventsIsRefusedWithWhatToDo() throws {
        func convert(_ config: [String: String]) throws -> DebeziumImport.Result {
            var base = [
                "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.hostname": "h",
                "database.dbname": "d", "topic.prefix": "p",
            ]
            base.merge(config) { $1 }
            return try DebeziumImport(bootstrapServers: "k:9092").convert(try JSONSerialization.data(withJSONObject: base))
        }
        let cases: [([String: String], String)] = [
            (["connector.class": "io.debezium.connector.mysql.MySqlConnector"], "only"),
            (["value.converter": "io.confluent.connect.avro.AvroConverter"], "JsonConverter"),
            (["table.include.list": "public.order_.*"], "list the tables"),
            (["snapshot.mode": "custom"], "snapshot.mode"),
            (["decimal.handling.mode": "exact"], "decimal.handling.mode"),
            (["topic.prefix": ""], "topic.prefix"),
        ]
        for (config, expected) in cases {
            #expect {
                _ = try convert(config)
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
        #expect(throws: DebeziumImport.Failure.self) {
            try DebeziumImport(bootstrapServers: "k:9092").convert(Data("not json".utf8))
        }
        // A pre-2.0 configuration names the prefix database.server.name.
        let old = try convert(["topic.prefix": "", "database.server.name": "legacy"])
        #expect(try Self.load(old.yaml).kafka.topicPrefix == "legacy")
    }

    /// Every row of docs/migrating-from-debezium.md's table: the example value imports, maps to the key
    /// the page names, and is not reported as having no equivalent.
    @Test func everyPropertyTheMigrationGuideListsIsMapped() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("docs/migrating-from-debezium.md"), encoding: .utf8)
        var rows: [(property: String, example: String, key: String)] = []
        for line in page.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            func code(_ cell: String) -> String? {
                guard let start = cell.firstIndex(of: "`") else { return nil }
                let rest = cell[cell.index(after: start)...]
                return rest.firstIndex(of: "`").map { String(rest[..<$0]) }
            }
            guard let property = code(cells[0]), let example = code(cells[1]), let key = code(cells[2]) else { continue }
            rows.append((property, example, key))
        }
        #expect(rows.count >= 30, "the table was read")
        let keys = Set(ConnectorConfigLoader.documentedKeys)
        for row in rows {
            #expect(keys.contains(row.key), "\(row.property) maps to \(row.key), which is not a connector-file key")
            var config = [
                "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.hostname": "h",
                "database.dbname": "d", "topic.prefix": "p",
            ]
            if row.property == "database.server.name" { config["topic.prefix"] = nil }
            config[row.property] = row.example
            // Properties that only act together with another, as in Debezium.
            if row.property == "errors.deadletterqueue.topic.name" { config["errors.tolerance"] = "all" }
            if row.property == "heartbeat.action.query" { config["heartbeat.interval.ms"] = "10000" }
            if row.property == "snapshot.select.statement.overrides" {
                config["snapshot.select.statement.overrides.\(row.example)"] = "SELECT * FROM \(row.example)"
            }
            let result = try DebeziumImport(bootstrapServers: "k:9092").convert(
                try JSONSerialization.data(withJSONObject: config))
            let unmapped = result.notes.contains { $0.hasPrefix(row.property + " ") && $0.contains("no equivalent") }
            #expect(!unmapped, "\(row.property) is reported unmapped")
            _ = try Self.load(result.yaml)
            let section = row.key.split(separator: ".").first.map(String.init) ?? ""
            let leaf = row.key.split(separator: ".").last.map(String.init) ?? ""
            #expect(
                result.yaml.contains("\n  \(leaf):") || result.yaml.contains("\n\(leaf):") || section == "postgres",
                "\(row.property) shows up as \(row.key)")
        }
    }
}
