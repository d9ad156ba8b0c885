import Foundation
import KafkaSink
import PostgresReplication
import TestSupport
import Testing

/// Settings the server refuses, and inputs at the edges: each ends in a clear one-line error or in events.
@Suite(.serialized) struct BadInputTests {
    /// Starts a connector from `config`, waits for `failed` and returns its error.
    static func failure(config: String) async throws -> String {
        let port = try PostgresServer.freePort()
        let process = try TributaryProcess(["run", config, "--health-port", "\(port)"])
        let status = try await Harness.waitForState("failed", port: port, process: process)
        _ = try await process.terminate()
        return status["last_error"] as? String ?? ""
    }

    static func expectOneLine(_ error: String, mentions words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!error.isEmpty && !error.contains("\n"), "\(error)", sourceLocation: sourceLocation)
        for word in words { #expect(error.contains(word), "\(error)", sourceLocation: sourceLocation) }
    }

    /// Publishing generated columns needs PostgreSQL 18 (on the servers before it).
    @Test func publishingGeneratedColumnsBefore18SaysSo() async throws {
        let server = try PostgresServer.dedicated(major: 16)
        let harness = try Harness(
            database: "bad_generated", postgresExtra: "tables: [public.items]\n  publish_generated_columns: true",
            server: server)
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, twice int GENERATED ALWAYS AS (id * 2) STORED)")
        let error = try await Self.failure(config: harness.configPath)
        Self.expectOneLine(error, mentions: ["postgres.publish_generated_columns needs PostgreSQL 18"])
    }

    @Test func walLevelNotLogicalSaysWhatToSet() async throws {
        let server = try PostgresServer.dedicated(settings: ["wal_level": "replica"])
        let harness = try Harness(database: "bad_wal_level", server: server)
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        let error = try await Self.failure(config: harness.configPath)
        Self.expectOneLine(error, mentions: ["wal_level", "logical", "restart"])
    }

    @Test func aRoleWithoutReplicationSaysWhatToGrant() async throws {
        let harness = try Harness(database: "bad_no_replication")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        try harness.db.execute("CREATE PUBLICATION bad_no_replication_pub FOR TABLE items")
        try harness.db.execute("DROP ROLE IF EXISTS cdc_plain")
        try harness.db.execute("CREATE ROLE cdc_plain LOGIN")
        try harness.db.execute("GRANT SELECT ON items TO cdc_plain")
        let config = try Harness.writeConnectorFile(
            name: "bad-no-replication", url: "postgresql://cdc_plain@127.0.0.1:\(harness.server.port)/bad_no_replication",
            bootstrapServers: harness.kafka.bootstrapServers,
            postgresExtra: "publication: bad_no_replication_pub\n  publication_mode: existing")
        let error = try await Self.failure(config: config)
        Self.expectOneLine(error, mentions: ["REPLICATION", "cdc_plain"])
    }

    @Test func aMissingTableSaysWhichOne() async throws {
        let harness = try Harness(database: "bad_missing_table", tables: "public.items, public.nope")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        let error = try await Self.failure(config: harness.configPath)
        Self.expectOneLine(error, mentions: ["public.nope", "postgres.tables"])
    }

    @Test func aMessageKeyColumnTheTableLacksSaysWhichOne() async throws {
        let harness = try Harness(
            database: "bad_key_column", snapshotMode: "no_data",
            postgresExtra: "tables: [public.items]\n  message_key_columns: ['public.items:custmer_id']")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, customer_id int)")
        let error = try await Self.failure(config: harness.configPath)
        Self.expectOneLine(error, mentions: ["message_key_columns", "custmer_id", "public.items"])
    }

    @Test func aColumnFilterThatMatchesNoColumnSaysWhichOne() async throws {
        let harness = try Harness(
            database: "bad_column_filter", snapshotMode: "no_data",
            postgresExtra: "tables: [public.items]\n  column_exclude_list: ['public.items.pasword']")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, password text)")
        let error = try await Self.failure(config: harness.configPath)
        Self.expectOneLine(error, mentions: ["column_exclude_list", "public.items.pasword", "matches no column"])
    }

    @Test func aMissingPublicationInExistingModeSaysHowToCreateIt() async throws {
        let harness = try Harness(database: "bad_missing_publication", postgresExtra: "publication_mode: existing")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        let error = try await Self.failure(config: harness.configPath)
        Self.expectOneLine(error, mentions: ["tributary_bad_missing_publication", "CREATE PUBLICATION"])
    }

    @Test func aSlotOfAnotherPluginSaysHowToFreeTheName() async throws {
        let harness = try Harness(database: "bad_slot_plugin")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        try harness.db.execute("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [harness.slot])
        let error = try await Self.failure(config: harness.configPath)
        Self.expectOneLine(error, mentions: ["test_decoding", "pg_drop_replication_slot", "postgres.slot"])
    }

    @Test func aDatabaseThatDoesNotExistIsNamed() async throws {
        let harness = try Harness(database: "bad_database_host")
        let config = try Harness.writeConnectorFile(
            name: "bad-database", url: harness.server.url(database: "no_such_db"),
            bootstrapServers: harness.kafka.bootstrapServers)
        let error = try await Self.failure(config: config)
        Self.expectOneLine(error, mentions: ["no_such_db", "does not exist"])
    }

    /// Debezium stops at a quote in a table name; Tributary snapshots and streams it.
    @Test func quotesInTableNamesAreSnapshottedAndStreamed() async throws {
        let harness = try Harness(database: "bad_quoted_names")
        try harness.db.execute(#"CREATE SCHEMA "we""ird.Schema""#)
        try harness.db.execute(#"CREATE TABLE "we""ird.Schema"."Tab ""le"" ü" ("I""d" int PRIMARY KEY, "va l" text)"#)
        try harness.db.execute(#"INSERT INTO "we""ird.Schema"."Tab ""le"" ü" VALUES (1, 'before')"#)
        let topic = "it.we_ird.Schema.Tab__le___"
        try harness.kafka.createTopic(topic, partitions: 1)
        let connector = try await harness.startConnector()
        try harness.db.execute(#"INSERT INTO "we""ird.Schema"."Tab ""le"" ü" VALUES (2, 'after')"#)
        let events = try await harness.records([topic], atLeast: 2).map(Event.init)
        #expect(events.map(\.op) == ["r", "c"])
        #expect(events.map(\.key) == [#"{"I\"d":1}"#, #"{"I\"d":2}"#])
        #expect(events.last?.after?["va l"] as? String == "after")
        #expect(events.last?.source["schema"] as? String == #"we"ird.Schema"#)
        #expect(events.last?.source["table"] as? String == #"Tab "le" ü"#)
        #expect(try await connector.terminate() == 0)
    }

    @Test func aTableOfAThousandColumnsIsSnapshottedAndStreamed() async throws {
        let harness = try Harness(database: "bad_wide_table")
        let columns = (1...999).map { "c\($0) int" }.joined(separator: ", ")
        try harness.db.execute("CREATE TABLE wide (id int PRIMARY KEY, \(columns))")
        let values = (1...999).map { "\($0)" }.joined(separator: ", ")
        try harness.db.execute("INSERT INTO wide VALUES (1, \(values))")
        try harness.kafka.createTopic("it.public.wide", partitions: 1)
        let connector = try await harness.startConnector()
        try harness.db.execute("INSERT INTO wide VALUES (2, \(values))")
        try harness.db.execute("UPDATE wide SET c999 = -1 WHERE id = 2")
        let events = try await harness.records(["it.public.wide"], atLeast: 3).map(Event.init)
        #expect(events.map(\.op) == ["r", "c", "u"])
        for event in events { #expect(event.after?.count == 1000) }
        #expect(events.last?.after?["c999"] as? Int == -1)
        #expect(events.last?.after?["c500"] as? Int == 500)
        #expect(try await connector.terminate() == 0)
    }

    @Test func aHundredMegabyteValueArrivesWhole() async throws {
        let size = 100 << 20
        let harness = try Harness(
            database: "bad_large_value",
            // Compressed, as one would send such values: the mock broker drops connections carrying requests this large.
            kafkaExtra: "properties: {message.max.bytes: \"200000000\", compression.type: lz4}")
        try harness.db.execute("CREATE TABLE docs (id int PRIMARY KEY, body text)")
        try harness.kafka.createTopic("it.public.docs", partitions: 1)
        let connector = try await harness.startConnector()
        // Long blocking calls go to a thread of their own, not the test pool's few threads.
        try await onThread { try harness.db.execute("INSERT INTO docs VALUES (1, repeat('0123456789abcdef', \(size / 16)))") }
            .value
        try harness.db.execute("INSERT INTO docs VALUES (2, 'small')")
        do {
            try await harness.waitForSlot(toReach: try harness.currentWAL(), timeout: .seconds(120))
        } catch {
            Issue.record(
                "\(error)\n\(connector.log.split(separator: "\n").filter { !$0.contains("debug") }.suffix(30).joined(separator: "\n"))"
            )
        }
        // Reading 100 MB blocks for seconds: off the shared test threads.
        let servers = harness.kafka.bootstrapServers
        let records = try await onOwnThread { () throws -> [KafkaRecord] in
            let reader = try KafkaTopicReader(
                bootstrapServers: servers,
                properties: [("fetch.max.bytes", "250000000"), ("receive.message.max.bytes", "260000000")])
            _ = try reader.assign(["it.public.docs"])
            var records: [KafkaRecord] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while records.count < 2 && ContinuousClock.now < deadline {
                if let record = try reader.next(timeoutMilliseconds: 500) { records.append(record) }
            }
            return records
        }
        #expect(records.count == 2)
        let body = records.first.flatMap { Event($0).after?["body"] as? String }
        #expect(body?.utf8.count == size)
        #expect(body?.hasPrefix("0123456789abcdef0123") == true)
        #expect(records.last.flatMap { Event($0).after?["body"] as? String } == "small")
        #expect(try await connector.terminate() == 0)
    }

    /// A row of over 1 GB is more than Kafka (librdkafka's message.max.bytes is at most 1e9) can take: the connector
    /// stops with an error that says what to do, and never confirms past the row.
    @Test func aRowOverOneGigabyteIsRefusedWithAClearError() async throws {
        let harness = try Harness(database: "bad_huge_row", kafkaExtra: "properties: {message.max.bytes: \"1000000000\"}")
        try harness.db.execute("CREATE TABLE docs (id int PRIMARY KEY, body text)")
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.db.execute("INSERT INTO docs VALUES (1, 'small')")
        let before = try harness.currentWAL()
        try await harness.waitForSlot(toReach: before)
        try await onThread { try harness.db.execute("INSERT INTO docs VALUES (2, repeat('a', 1050000000))") }.value
        let status = try await Harness.waitForState("failed", port: port, timeout: .seconds(300), process: connector)
        let error = status["last_error"] as? String ?? ""
        Self.expectOneLine(error, mentions: ["public.docs", "errors.mode"])
        #expect(try harness.slotReached(before))
        #expect(try !harness.slotReached(try harness.currentWAL()))
        print("1 GB row: \(error); connector peak RSS \((connector.memory?.peak ?? 0) >> 20) MB")
        _ = try await connector.terminate()
    }
}
