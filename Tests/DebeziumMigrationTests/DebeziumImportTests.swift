import ChangeEvents
import Connector
import DebeziumMigration
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
        #expect(config.postgres.tablePatterns.tableInclude == ["public.inventory"])
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
        #expect(config.postgres.tables.isEmpty)
        #expect(config.postgres.tablePatterns.tableInclude == [#"public\.customers"#, #"public\.orders_\d+"#])
        #expect(config.postgres.statusInterval == .seconds(5))
        #expect(config.kafka.properties.contains { $0 == ("compression.type", "lz4") })
        #expect(config.kafka.properties.contains { $0 == ("linger.ms", "20") })
        #expect(config.events.schemas == false)
        #expect(config.events.tombstones == false)
        #expect(config.events.contextHeaders == false)
        #expect(Set(config.events.skippedOperations.map(\.rawValue)) == ["t", "d"])
        #expect(config.snapshot.maxThreads == 4)
        #expect(config.snapshot.selectOverrides.count == 1)
        #expect(config.errors.mode == .deadLetter)
        #expect(config.errors.deadLetterTopic == "inventory.dlq")
        #expect(config.heartbeat.interval == .seconds(30))
        #expect(config.heartbeat.actionQuery == "INSERT INTO cdc_heartbeat (ts) VALUES (now())")
        // What changes nothing a consumer sees is a note, in the file and on standard error.
        #expect(result.notes.contains { $0.hasPrefix("max.batch.size = 4096 is not imported: ") })
        #expect(result.yaml.contains("# NOTE: slot.drop.on.stop = false"))
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
            (["value.converter": "io.apache.avro.SomeOtherConverter"], "JsonConverter"),
            (["value.converter": "io.confluent.connect.avro.AvroConverter"], "schema.registry.url"),
            (["table.include.list": "public.(order"], "table.include.list entry 'public.(order'"),
            (["table.include.list": "a", "table.exclude.list": "b"], "exclude each other"),
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
        #expect {
            _ = try convert([
                "provide.transaction.metadata": "true",
                "transaction.metadata.factory": "com.example.MyTransactionMetadataFactory",
            ])
        } throws: { "\($0)".contains("transaction.metadata.factory") }
        let metadata = try Self.load(
            try convert(["provide.transaction.metadata": "true", "topic.transaction": "tx"]).yaml)
        #expect(metadata.events.transactionMetadata && metadata.events.transactionTopic == "p.tx")
        // A pre-2.0 configuration names the prefix database.server.name.
        let old = try convert(["topic.prefix": "", "database.server.name": "legacy"])
        #expect(try Self.load(old.yaml).kafka.topicPrefix == "legacy")
    }

    /// Confluent's AvroConverter on either side becomes that side's Avro format, its registry settings the
    /// schema_registry section; the secret stays out of the file.
    @Test func anAvroFeedBecomesTheAvroFormatsWithItsRegistry() throws {
        let result = try Self.convert([
            "key.converter": "io.confluent.connect.avro.AvroConverter",
            "key.converter.schema.registry.url": "https://registry:8081",
            "value.converter": "io.confluent.connect.avro.AvroConverter",
            "value.converter.schema.registry.url": "https://registry:8081",
            "value.converter.basic.auth.credentials.source": "USER_INFO",
            "value.converter.basic.auth.user.info": "cdc:secret",
            "value.converter.auto.register.schemas": "false",
            "value.converter.value.subject.name.strategy": "io.confluent.kafka.serializers.subject.RecordNameStrategy",
        ])
        #expect(!result.yaml.contains("secret"))
        let config = try ConnectorConfigLoader(environment: ["SCHEMA_REGISTRY_AUTH": "cdc:secret"]).parse(
            result.yaml, file: "imported.yaml")
        #expect(config.events.keyFormat == .avro && config.events.valueFormat == .avro)
        let registry = try #require(config.schemaRegistry)
        #expect(registry.urls == ["https://registry:8081"])
        #expect(registry.basicAuth == "cdc:secret")
        #expect(!registry.autoRegister)
        #expect(registry.valueSubjectStrategy == .recordName && registry.keySubjectStrategy == .topicName)
        // A JSON key beside an Avro value keeps the key's schemas setting.
        let mixed = try Self.load(
            try Self.convert([
                "key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
                "value.converter": "io.confluent.connect.avro.AvroConverter",
                "value.converter.schema.registry.url": "http://r:8081",
            ]).yaml)
        #expect(mixed.events.keyFormat == .json && mixed.events.valueFormat == .avro && !mixed.events.schemas)
        // use.latest.version counts only where the serializer may not register, as in Confluent's.
        let latest = try Self.convert([
            "value.converter": "io.confluent.connect.avro.AvroConverter",
            "value.converter.schema.registry.url": "http://r:8081", "value.converter.use.latest.version": "true",
            "value.converter.auto.register.schemas": "false",
        ])
        #expect(try Self.load(latest.yaml).schemaRegistry?.useLatestVersion == true)
        let ignored = try Self.convert([
            "value.converter": "io.confluent.connect.avro.AvroConverter",
            "value.converter.schema.registry.url": "http://r:8081", "value.converter.use.latest.version": "true",
        ])
        #expect(try Self.load(ignored.yaml).schemaRegistry?.useLatestVersion == false)
        #expect(ignored.notes.contains { $0.contains("use.latest.version is left out") })
    }

    /// Signals: the signal table (a database part in front dropped), the chunk size and `read.only`; other channels are
    /// refused.
    @Test func theSignalTableChunkSizeAndReadOnlyAreMapped() throws {
        let config = try Self.load(
            try Self.convert([
                "signal.data.collection": "inventory.public.debezium_signal", "incremental.snapshot.chunk.size": "4096",
                "read.only": "true",
            ]).yaml)
        #expect(config.signals.dataCollection?.description == "public.debezium_signal")
        #expect(config.incrementalSnapshot.chunkSize == 4096)
        #expect(config.incrementalSnapshot.readOnly)
        #expect(try !Self.load(try Self.convert(["read.only": "false"]).yaml).incrementalSnapshot.readOnly)
        #expect { _ = try Self.convert(["read.only": "maybe"]) } throws: { "\($0)".contains("read.only") }
        #expect(try Self.load(try Self.convert(["slot.failover": "true"]).yaml).postgres.failoverSlot)
        #expect(try !Self.load(try Self.convert(["slot.failover": "false"]).yaml).postgres.failoverSlot)
        let kafka = try Self.load(
            try Self.convert(["signal.enabled.channels": "source,kafka", "signal.kafka.bootstrap.servers": "k2:9092"]).yaml)
        #expect(kafka.signals.kafkaTopic == "p-signal" && kafka.signals.kafkaBootstrapServers == "k2:9092")
        #expect {
            _ = try Self.convert(["signal.data.collection": "public.s", "signal.enabled.channels": "source,jmx"])
        } throws: { "\($0)".contains("signal.enabled.channels") }
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
            if row.property == "topic.transaction" { config["provide.transaction.metadata"] = "true" }
            if row.property.hasPrefix("value.converter.") && row.property != "value.converter.schemas.enable" {
                config["value.converter"] = "io.debezium.converters.CloudEventsConverter"
            }
            if row.property == "transforms" {
                config["transforms.\(row.example).type"] = "io.debezium.transforms.ExtractNewRecordState"
            }
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
    /// The properties of `Fixtures/debezium-properties.tsv`, with names that are patterns made concrete.
    static func debeziumProperties() throws -> [(name: String, defaultValue: String, origin: String, shown: String)] {
        let text = String(decoding: try fixture("debezium-properties.tsv"), as: UTF8.self)
        var rows: [(String, String, String, String)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard cells.count == 3 else { continue }
            let name = cells[0].replacingOccurrences(of: "([^.]+)", with: "SHA-256")
                .replacingOccurrences(of: "(.+)", with: "pepper").replacingOccurrences(of: "(d+)", with: "12")
            let shown = cells[0].replacingOccurrences(of: "([^.]+)", with: "<algorithm>")
                .replacingOccurrences(of: "(.+)", with: "<salt>").replacingOccurrences(of: "(d+)", with: "<n>")
            if cells[2] == "json-converter" {
                rows.append(("key.converter.\(name)", cells[1], cells[2], "{key,value}.converter.\(shown)"))
                rows.append(("value.converter.\(name)", cells[1], cells[2], "{key,value}.converter.\(shown)"))
                // CloudEventsConverter configures the JsonConverter of its data attribute with its json.* properties.
                rows.append(("value.converter.json.\(name)", cells[1], cells[2], "value.converter.json.\(shown)"))
            } else if cells[2] == "cloudevents-converter" {
                rows.append(("value.converter.\(name)", cells[1], cells[2], "value.converter.\(shown)"))
            } else {
                rows.append((name, cells[1], cells[2], shown))
            }
        }
        return rows
    }

    static func convert(_ extra: [String: String]) throws -> DebeziumImport.Result {
        var config = [
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.hostname": "h",
            "database.dbname": "d", "topic.prefix": "p",
        ]
        config.merge(extra) { $1 }
        return try DebeziumImport(bootstrapServers: "k:9092").convert(try JSONSerialization.data(withJSONObject: config))
    }

    /// Every property of Debezium's PostgreSQL connector, Kafka Connect and JsonConverter is mapped, harmless or refused.
    @Test func everyPropertyIsMappedHarmlessOrRefused() throws {
        let properties = try Self.debeziumProperties()
        #expect(properties.count > 180, "the list was read")
        var counts: [String: Int] = [:]
        for property in properties {
            switch DebeziumImport.treatment(of: property.name) {
            case .mapped: counts["mapped", default: 0] += 1
            case .harmless: counts["harmless", default: 0] += 1
            case .refused: counts["refused", default: 0] += 1
            case nil: Issue.record("\(property.name) (\(property.origin)) is not classified")
            }
        }
        #expect(counts["mapped", default: 0] >= 35 && counts["harmless", default: 0] >= 60 && counts["refused", default: 0] >= 40)
    }

    /// A refused property with a value that changes the records fails the import, naming it and what to do; with
    /// its default (which changes nothing) it imports.
    @Test func aRefusedPropertyFailsTheImportUnlessItKeepsItsDefault() throws {
        for property in try Self.debeziumProperties() {
            guard case .refused(let allowed, let advice) = DebeziumImport.treatment(of: property.name) else { continue }
            #expect(!advice.isEmpty)
            #expect {
                try Self.convert([property.name: "tributary-test-value"])
            } throws: { error in
                "\(error)".contains("  - \(property.name) = tributary-test-value: \(advice)")
            }
            for value in allowed {
                let result = try Self.convert([property.name: value])
                _ = try Self.load(result.yaml)
            }
        }
    }

    /// A harmless property imports as a note that says why it changes nothing.
    @Test func aHarmlessPropertyBecomesANote() throws {
        for property in try Self.debeziumProperties() {
            guard case .harmless(let why) = DebeziumImport.treatment(of: property.name) else { continue }
            let value = ["(none)", "?", "(required)", ""].contains(property.defaultValue) ? "1" : property.defaultValue
            let result = try Self.convert([property.name: value])
            let shown = property.name.contains("password") ? "****" : value
            #expect(result.notes.contains("\(property.name) = \(shown) is not imported: \(why)"), "\(property.name)")
            _ = try Self.load(result.yaml)
        }
    }

    @Test func everyRefusalIsListedAtOnceAndUnknownPropertiesAreRefused() throws {
        #expect {
            try Self.convert([
                "column.propagate.source.type": "public.customers.ssn", "transforms": "insert",
                "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
                "table.whitelist": "public.orders", "databse.port": "5432",
            ])
        } throws: { error in
            let text = "\(error)"
            return text.contains("column.propagate.source.type = public.customers.ssn: it adds __debezium.source.column.*")
                && text.contains(
                    "transforms.insert.type = org.apache.kafka.connect.transforms.InsertField$Value: Tributary does not run this transform"
                )
                && text.contains("table.whitelist is an old name of table.include.list")
                && text.contains("databse.port is not a property of Debezium's PostgreSQL connector")
        }
    }

    @Test func debeziumListsSplitAsDebeziumSplitsThem() {
        #expect(DebeziumImport.regexList(#"public\.a, sales\..* ,x{1\,3}"#) == [#"public\.a"#, #"sales\..*"#, "x{1,3}"])
        #expect(DebeziumImport.regexList(" , ").isEmpty)
    }
    /// docs/migrating-from-debezium.md lists every property with what the import does with it, from the same table
    /// the import reads (`make docs` rewrites the list; `make test` fails while it is stale).
    @Test func theMigrationGuideListsEveryPropertyWithItsClass() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("docs/migrating-from-debezium.md").path
        let page = try String(contentsOfFile: path, encoding: .utf8)
        var rows = ["| property | class | what the import does |", "|---|---|---|"]
        var seen: Set<String> = []
        for property in try Self.debeziumProperties() {
            let name = property.shown
            guard seen.insert(name).inserted else { continue }
            let cells: (String, String)
            switch DebeziumImport.treatment(of: property.name) {
            case .mapped: cells = ("mapped", "becomes the connector-file key in the table above")
            case .harmless(let why): cells = ("harmless", "a note: \(why)")
            case .refused(let allowed, let advice):
                let values = allowed.sorted().map { $0.isEmpty ? "empty" : "`\($0)`" }.joined(separator: ", ")
                cells = ("refused", "refused unless \(values): \(advice)")
            case nil: cells = ("?", "?")
            }
            rows.append("| `\(name)` | \(cells.0) | \(cells.1.replacingOccurrences(of: "|", with: "\\|")) |")
        }
        let begin =
            "<!-- properties: generated by DebeziumImportTests from Tests/DebeziumMigrationTests/Fixtures/debezium-properties.tsv -->"
        let end = "<!-- end of properties -->"
        let table = rows.joined(separator: "\n")
        guard let start = page.range(of: begin), let stop = page.range(of: end) else {
            Issue.record("docs/migrating-from-debezium.md has no \(begin) … \(end) section")
            return
        }
        let current = page[start.upperBound..<stop.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        if ProcessInfo.processInfo.environment["TRIBUTARY_WRITE_DOCS"] == "1" {
            let updated = page.replacingCharacters(in: start.upperBound..<stop.lowerBound, with: "\n" + table + "\n")
            try updated.write(toFile: path, atomically: true, encoding: .utf8)
        } else {
            #expect(current == table, "docs/migrating-from-debezium.md's property list is stale: run make docs")
        }
    }
}

/// Debezium configurations with transforms, as teams run them.
@Suite struct DebeziumTransformImportTests {
    @Test func aSinkFeedWithUnwrapBecomesTheSameTransform() throws {
        let result = try DebeziumImport(bootstrapServers: "kafka:9092").convert(
            DebeziumImportTests.fixture("debezium-unwrap.json"))
        let config = try DebeziumImportTests.load(result.yaml)
        var expected = Unwrap.Options()
        expected.deleteHandling = .rewrite
        expected.addFields = ["op", "table", "lsn", "source.ts_ms"]
        expected.addHeaders = ["db"]
        #expect(config.transforms == [.unwrap(expected)])
    }

    @Test func unwrapThenRoutingKeepTheirOrder() throws {
        let result = try DebeziumImportTests.convert([
            "transforms": "unwrap, reroute,rename",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.reroute.type": "io.debezium.transforms.ByLogicalTableRouter",
            "transforms.reroute.topic.regex": #"p\.public\.orders_(\d+)"#,
            "transforms.reroute.topic.replacement": "p.public.orders",
            "transforms.reroute.key.enforce.uniqueness": "false",
            "transforms.rename.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.rename.regex": #"p\.(.*)"#, "transforms.rename.replacement": "cdc.$1",
        ])
        let config = try DebeziumImportTests.load(result.yaml)
        var router = LogicalTableRouter.Options(topicRegex: #"p\.public\.orders_(\d+)"#, topicReplacement: "p.public.orders")
        router.keyEnforceUniqueness = false
        #expect(
            config.transforms == [
                .unwrap(Unwrap.Options()), .logicalTableRouter(router),
                .regexRouter(regex: #"p\.(.*)"#, replacement: "cdc.$1"),
            ])
    }

    @Test(arguments: [
        (["transforms.route.type": "org.apache.kafka.connect.transforms.InsertField$Value"], "does not run this transform"),
        (["transforms.unwrap.drop.tombstones": "true"], "does not take drop.tombstones"),
        (["transforms.unwrap.predicate": "isOrders"], "does not take predicate"),
        (["transforms.other.type": "io.debezium.transforms.ExtractNewRecordState"], "which transforms does not list"),
    ])
    func whatTributaryDoesNotRunIsRefused(extra: [String: String], reason: String) throws {
        var config: [String: String] = [
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.hostname": "db",
            "database.dbname": "shop", "topic.prefix": "shop", "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        ]
        if extra.keys.contains("transforms.route.type") { config["transforms"] = "unwrap,route" }
        config.merge(extra) { _, new in new }
        let data = try JSONSerialization.data(withJSONObject: config)
        #expect {
            _ = try DebeziumImport(bootstrapServers: "kafka:9092").convert(data)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}

extension DebeziumTransformImportTests {
    @Test func anOutboxRoutersGroupReferenceSurvivesTheImport() throws {
        let result = try DebeziumImportTests.convert([
            "transforms": "outbox", "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
            "transforms.outbox.route.topic.replacement": "events.${routedByValue}",
            "transforms.outbox.table.fields.additional.placement": "type:header:eventType,aggregatetype:envelope",
        ])
        let config = try DebeziumImportTests.load(result.yaml)
        var expected = OutboxRouter.Options()
        expected.topicReplacement = "events.${routedByValue}"
        expected.additionalFields = [
            .init(column: "type", placement: .header, alias: "eventType"), .init(column: "aggregatetype", placement: .envelope),
        ]
        #expect(config.transforms == [.outbox(expected)])
    }
}

/// Debezium configurations with CloudEventsConverter as the value converter.
@Suite struct DebeziumCloudEventsImportTests {
    @Test func aCloudEventsFeedBecomesTheCloudEventsFormat() throws {
        let result = try DebeziumImport(bootstrapServers: "kafka:9092").convert(
            DebeziumImportTests.fixture("debezium-cloudevents.json"))
        let config = try DebeziumImportTests.load(result.yaml)
        #expect(config.events.format == .cloudevents)
        #expect(!config.events.schemas)
        #expect(config.events.cloudEvents == CloudEvents.Options(extensionAttributes: false, tracingAttributes: false))
        #expect(result.notes.contains { $0.hasPrefix("value.converter.schema.name.adjustment.mode = avro is not imported") })
    }

    @Test func theDataSchemasFollowJsonSchemasEnableWhichDefaultsToTrue() throws {
        let result = try DebeziumImportTests.convert([
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "io.debezium.converters.CloudEventsConverter",
            "value.converter.opentelemetry.tracing.attributes.enable": "true",
        ])
        let config = try DebeziumImportTests.load(result.yaml)
        #expect(config.events.format == .cloudevents && config.events.schemas)
        #expect(config.events.cloudEvents == CloudEvents.Options(extensionAttributes: true, tracingAttributes: true))
    }

    @Test(arguments: [
        (["value.converter.serializer.type": "avro"], "value.converter.serializer.type = avro"),
        (["value.converter.metadata.source": "header"], "value.converter.metadata.source = header"),
        (["key.converter.schemas.enable": "true"], "make them the same"),
        (["key.converter": "io.debezium.converters.CloudEventsConverter"], "the key converter is"),
    ])
    func whatTributaryDoesNotWriteIsRefused(extra: [String: String], reason: String) throws {
        var config = [
            "key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
            "value.converter": "io.debezium.converters.CloudEventsConverter",
            "value.converter.json.schemas.enable": "false",
        ]
        config.merge(extra) { _, new in new }
        #expect {
            _ = try DebeziumImportTests.convert(config)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}

extension DebeziumTransformImportTests {
    @Test func headerFromAfterUnwrapBecomesHeaderFrom() throws {
        let result = try DebeziumImportTests.convert([
            "transforms": "unwrap,headers", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.headers.type": "org.apache.kafka.connect.transforms.HeaderFrom$Value",
            "transforms.headers.fields": "id,tenant_id", "transforms.headers.headers": "x-id, x-tenant",
            "transforms.headers.operation": "move",
        ])
        let config = try DebeziumImportTests.load(result.yaml)
        #expect(
            config.transforms == [
                .unwrap(Unwrap.Options()),
                .headerFrom(HeaderFrom.Options(fields: ["id", "tenant_id"], headers: ["x-id", "x-tenant"], operation: .move)),
            ])
        #expect {
            _ = try DebeziumImportTests.convert([
                "transforms": "headers", "transforms.headers.type": "org.apache.kafka.connect.transforms.HeaderFrom$Value",
                "transforms.headers.fields": "id", "transforms.headers.headers": "x-id",
                "transforms.headers.operation": "copy", "transforms.headers.replace.null.with.default": "false",
            ])
        } throws: { error in
            "\(error)".contains("transforms.headers.replace.null.with.default = false")
        }
    }
}

extension DebeziumTransformImportTests {
    /// The usual way to send only what an update changed.
    @Test func changedFieldsAndUnwrapsDropOptionsArrive() throws {
        let result = try DebeziumImportTests.convert([
            "transforms": "changes,unwrap",
            "transforms.changes.type": "io.debezium.transforms.ExtractChangedRecordState",
            "transforms.changes.header.unchanged.name": "Unchanged",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.drop.fields.header.name": "Unchanged", "transforms.unwrap.drop.fields.from.key": "true",
            "transforms.unwrap.drop.fields.keep.schema.compatible": "false",
        ])
        let config = try DebeziumImportTests.load(result.yaml)
        var unwrap = Unwrap.Options()
        unwrap.dropFieldsHeader = "Unchanged"
        unwrap.dropFieldsFromKey = true
        unwrap.dropFieldsKeepSchemaCompatible = false
        #expect(config.transforms == [.changedFields(ChangedFields.Options(unchangedHeader: "Unchanged")), .unwrap(unwrap)])
    }
}

extension DebeziumTransformImportTests {
    @Test func headerFromKeyBecomesHeaderFromTheKey() throws {
        let result = try DebeziumImportTests.convert([
            "transforms": "keys", "transforms.keys.type": "org.apache.kafka.connect.transforms.HeaderFrom$Key",
            "transforms.keys.fields": "id", "transforms.keys.headers": "x-id", "transforms.keys.operation": "copy",
        ])
        let config = try DebeziumImportTests.load(result.yaml)
        #expect(
            config.transforms == [
                .headerFrom(HeaderFrom.Options(fields: ["id"], headers: ["x-id"], operation: .copy, fromKey: true))
            ])
    }
}
