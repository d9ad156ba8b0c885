import Foundation
import KafkaSink
import PostgresReplication
import Testing

@testable import TestSupport

/// Incremental snapshots while streaming, asked for by signals: rows the stream changes while their chunk waits are
/// sent from the stream, so the table rebuilt from its topic equals the table.
@Suite(.serialized) struct IncrementalSnapshotTests {
    static let signals = "signals: {data_collection: public.debezium_signal}\nincremental_snapshot: {chunk_size: 50}"

    static func signal(_ id: String, _ type: String, _ data: String) -> String {
        "INSERT INTO debezium_signal VALUES ('\(id)', '\(type)', '\(data.replacingOccurrences(of: "'", with: "''"))')"
    }

    /// Commits transactions that insert, update and delete rows of `items` (ids 1...rows; new ones after `newFrom`)
    /// until the connector has logged the items' incremental snapshot complete and at least 20 have committed (at most
    /// 90 s); expects it complete and not ended early.
    static func changeItemsWhileSnapshotting(
        _ writer: CatalogClient, _ connector: TributaryProcess, rows: Int, newFrom: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var round = 0
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            round += 1
            // Several statements per transaction, so that some commit while a chunk is read.
            try writer.execute(
                """
                BEGIN;
                INSERT INTO items VALUES (\(newFrom + round), 'new\(round)');
                UPDATE items SET v = 'updated\(round)' WHERE id IN (\(round * 7 % rows + 1), \(round * 13 % rows + 1));
                DELETE FROM items WHERE id = \(round * 31 % rows + 1);
                COMMIT
                """)
            if connector.log.contains("incremental snapshot of public.items complete") && round > 20 { break }
            try await Task.sleep(for: .milliseconds(3))
        }
        #expect(connector.log.contains("incremental snapshot of public.items complete"), sourceLocation: sourceLocation)
        #expect(
            !connector.log.contains("incremental snapshot of public.items ends"), "\(connector.log.suffix(2000))",
            sourceLocation: sourceLocation)
    }

    /// Reads the items topic and expects it to rebuild `items` (id → v) exactly; returns the records.
    static func expectTopicRebuildsItems(
        _ harness: Harness, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [KafkaRecord] {
        var expected: [String: String] = [:]
        for row in try harness.db.execute("SELECT id, v FROM items") {
            expected["{\"id\":\(row[0] ?? "")}"] = row[1] ?? ""
        }
        let records = try await harness.records(["it.public.items"], atLeast: expected.count)
        let rebuilt = SnapshotTests.rebuild(records)
        let differing = Set(expected.keys).union(rebuilt.keys).filter { expected[$0] != rebuilt[$0] }.sorted().prefix(10)
            .map { "\($0): table \(expected[$0] ?? "-"), topic \(rebuilt[$0] ?? "-")" }
        #expect(
            differing.isEmpty, "rows differing: \(differing) (of \(expected.count), \(rebuilt.count) rebuilt)",
            sourceLocation: sourceLocation)
        return records
    }

    /// The signal table's insert starts a snapshot of a table the connector never read (snapshot mode no_data) while a
    /// writer inserts, updates and deletes the same rows; afterwards the topic rebuilds the table exactly. Also with
    /// pgoutput's binary mode, where the signal's row and the rows that close a chunk's window come in binary.
    @Test(arguments: [false, true]) func aSignalSnapshotsATableWhileAWriterChangesIt(binary: Bool) async throws {
        let database = binary ? "incremental_source_binary" : "incremental_source"
        let harness = try Harness(
            database: database, tables: "public.items", extra: Self.signals, snapshotMode: "no_data",
            postgresExtra: binary ? "pgoutput_binary: true" : "")
        try harness.db.execute("CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32), data text)")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        try harness.db.execute("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 2000) g")
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.db.execute(Self.signal("ad-hoc-1", "execute-snapshot", #"{"data-collections": ["public.items"]}"#))

        let writer = try harness.server.client(database: database)
        defer { writer.close() }
        var round = 0
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            round += 1
            try writer.execute("INSERT INTO items VALUES (\(3000 + round), 'new\(round)')")
            try writer.execute(
                "UPDATE items SET v = 'updated\(round)' WHERE id IN (\(round * 7 % 2000 + 1), \(round * 13 % 2000 + 1))")
            try writer.execute("DELETE FROM items WHERE id = \(round * 31 % 2000 + 1)")
            if connector.log.contains("incremental snapshot of public.items complete") && round > 20 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(connector.log.contains("incremental snapshot of public.items complete"))
        try await harness.waitForSlot(toReach: try harness.currentWAL(), timeout: .seconds(60))

        let records = try await Self.expectTopicRebuildsItems(harness)
        let reads = records.map(Event.init).filter { $0.op == "r" }
        #expect(reads.count >= 1500, "most rows come from the snapshot, the rest from the stream")
        #expect(reads.allSatisfy { $0.source["snapshot"] as? String == "incremental" && $0.before == nil })
        #expect(!records.contains { $0.topic.contains("debezium_signal") })
        let metrics = try await httpGet("http://127.0.0.1:\(port)/metrics").body
        let name = database.replacingOccurrences(of: "_", with: "-")
        #expect(metrics.contains(#"tributary_signals_total{connector="\#(name)",outcome="acted"} 1"#))
        _ = try await connector.terminate()
    }

    /// The read-only variant (`incremental_snapshot.read_only`) with a role that may not write the watermarks
    /// (`pg_logical_emit_message` revoked): each chunk's own snapshot tells which streamed transactions it saw, and the
    /// table rebuilt from its topic equals the table while a writer changes the same rows.
    @Test func theReadOnlyVariantWritesNothing() async throws {
        let database = "incremental_read_only"
        let server = try PostgresServer.start()
        let harness = try Harness(
            database: database,
            extra: "signals: {data_collection: public.debezium_signal}\nincremental_snapshot: {chunk_size: 50, read_only: true}",
            snapshotMode: "no_data",
            postgresExtra: "publication: \(database)_pub\n  publication_mode: existing", server: server,
            connectorURL: "postgresql://cdc_read_only@127.0.0.1:\(server.port)/\(database)")
        try harness.db.execute("CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32), data text)")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        try harness.db.execute("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 2000) g")
        try harness.db.execute("CREATE PUBLICATION \(database)_pub FOR TABLE items, debezium_signal")
        try harness.db.execute("DROP ROLE IF EXISTS cdc_read_only")
        try harness.db.execute("CREATE ROLE cdc_read_only LOGIN REPLICATION")
        try harness.db.execute("GRANT SELECT ON items, debezium_signal TO cdc_read_only")
        // Every form (PostgreSQL 17 added a flush argument).
        try harness.db.execute(
            """
            DO $$ DECLARE f regprocedure; BEGIN
              FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname = 'pg_logical_emit_message' LOOP
                EXECUTE 'REVOKE EXECUTE ON FUNCTION ' || f || ' FROM PUBLIC';
              END LOOP;
            END $$
            """)
        let connector = try await harness.startConnector()
        try harness.db.execute(Self.signal("read-only-1", "execute-snapshot", #"{"data-collections": ["public.items"]}"#))

        let writer = try harness.server.client(database: database)
        defer { writer.close() }
        try await Self.changeItemsWhileSnapshotting(writer, connector, rows: 2000, newFrom: 3000)
        try await harness.waitForSlot(toReach: try harness.currentWAL(), timeout: .seconds(60))

        let records = try await Self.expectTopicRebuildsItems(harness)
        let reads = records.map(Event.init).filter { $0.op == "r" }
        #expect(reads.count >= 1500, "most rows come from the snapshot, the rest from the stream")
        #expect(reads.allSatisfy { $0.source["snapshot"] as? String == "incremental" })

        // With nothing written at all, each chunk goes out once a keepalive says the stream passed its position.
        try harness.db.execute(Self.signal("read-only-2", "execute-snapshot", #"{"data-collections": ["public.items"]}"#))
        let rows = try harness.db.execute("SELECT count(*) FROM items").first?.first.flatMap { $0.flatMap(Int.init) } ?? 0
        let idleRecords = try await harness.records(["it.public.items"], atLeast: records.count + rows)
        #expect(idleRecords.count - records.count == rows, "the table once more, all reads")
        _ = try await connector.terminate()
    }

    /// A malformed signal is logged with its id and skipped; the stream goes on.
    @Test func aMalformedSignalIsSkipped() async throws {
        let harness = try Harness(
            database: "incremental_bad", tables: "public.items", extra: Self.signals, snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32), data text)")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.db.execute(Self.signal("bad-1", "execute-snapshot", "{not json"))
        try harness.db.execute(Self.signal("bad-2", "explode", "{}"))
        try harness.db.execute(Self.signal("bad-3", "execute-snapshot", #"{"data-collections": ["public.nope"]}"#))
        try harness.db.execute(Self.signal("log-1", "log", #"{"message": "hello from a signal"}"#))
        // A condition that is not valid SQL ends that table's snapshot with a warning; the stream goes on.
        try harness.db.execute(
            Self.signal(
                "bad-4", "execute-snapshot",
                #"{"data-collections": ["public.items"], "additional-conditions": [{"data-collection": "public.items", "filter": "id >>> 3"}]}"#
            ))
        try harness.db.execute("INSERT INTO items VALUES (1, 'after the signals')")
        let records = try await harness.records(["it.public.items"], atLeast: 1)
        #expect(records.count == 1)
        try await connector.waitForLog("hello from a signal")
        #expect(connector.log.contains("signal=bad-1"))
        #expect(connector.log.contains("signal type 'explode' is unknown"))
        #expect(connector.log.contains("name no captured table"))
        try await connector.waitForLog("incremental snapshot of public.items ends")
        #expect(connector.log.contains("operator does not exist"))
        let metrics = try await httpGet("http://127.0.0.1:\(port)/metrics").body
        #expect(metrics.contains(#"tributary_signals_total{connector="incremental-bad",outcome="skipped"} 3"#))
        _ = try await connector.terminate()
    }

    /// `kill -9` in the middle of an incremental snapshot: the restarted connector resumes after the last chunk Kafka
    /// acknowledged (not from the beginning), and the topic rebuilds the table, with nothing lost.
    /// Both with watermarks and read-only.
    @Test(arguments: [false, true]) func aKilledSnapshotResumesFromItsLastAcknowledgedChunk(readOnly: Bool) async throws {
        let harness = try Harness(
            database: readOnly ? "incremental_kill_ro" : "incremental_kill", tables: "public.items",
            extra:
                "signals: {data_collection: public.debezium_signal}\nincremental_snapshot: {chunk_size: 50, read_only: \(readOnly)}",
            snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32), data text)")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        // Enough chunks that the kill lands mid-snapshot however fast the machine reads them.
        try harness.db.execute("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 100000) g")
        // The embedded (mock) broker keeps at most 5 MB per partition: spread the records out.
        try harness.kafka.createTopic("it.public.items", partitions: 32)
        var connector = try await harness.startConnector()
        try harness.db.execute(Self.signal("replay-1", "execute-snapshot", #"{"data-collections": ["public.items"]}"#))
        // Killed once some chunks are acknowledged (the state file holds a key), before the table is done.
        let stateFile =
            (harness.configPath as NSString).deletingLastPathComponent
            + "/state/\(readOnly ? "incremental-kill-ro" : "incremental-kill").incremental.json"
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: stateFile, encoding: .utf8), text.contains("lastKey") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try harness.db.execute("UPDATE items SET v = 'changed' WHERE id % 1000 = 7")
        try await connector.kill9()
        #expect(!connector.log.contains("incremental snapshot of public.items complete"), "killed mid-snapshot")
        try harness.db.execute("DELETE FROM items WHERE id % 1000 = 9")

        connector = try await harness.startConnector()
        try await connector.waitForLog("incremental snapshot resumes", timeout: .seconds(30))
        try await connector.waitForLog("incremental snapshot of public.items complete", timeout: .seconds(120))
        try await harness.waitForSlot(toReach: try harness.currentWAL(), timeout: .seconds(60))
        let records = try await Self.expectTopicRebuildsItems(harness)
        let reads = records.map(Event.init).filter { $0.op == "r" }.count
        #expect(reads < 100000 + 100000 / 2, "resumed after the acknowledged chunks, not from the beginning (\(reads) reads)")
        _ = try await connector.terminate()
    }

    /// pause-snapshot holds the reading (its progress on /status says so), resume-snapshot goes on from there, and
    /// stop-snapshot ends it for the tables it names.
    @Test func pauseResumeAndStop() async throws {
        let harness = try Harness(
            database: "incremental_pause", tables: "public.items, public.other",
            extra: "signals: {data_collection: public.debezium_signal}\nincremental_snapshot: {chunk_size: 20}",
            snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32), data text)")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        try harness.db.execute("CREATE TABLE other (id int PRIMARY KEY, v text NOT NULL)")
        try harness.db.execute("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 20000) g")
        try harness.db.execute("INSERT INTO other SELECT g, 'o' || g FROM generate_series(1, 100) g")
        try harness.kafka.createTopic("it.public.items", partitions: 16)
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        // Both in one transaction: the first chunk is read when the first signal is read, and the pause comes before
        // its watermarks, so exactly one chunk goes out before the reading holds.
        try harness.db.execute(
            "BEGIN; "
                + Self.signal("s-1", "execute-snapshot", #"{"data-collections": ["public.items", "public.other"]}"#)
                + "; " + Self.signal("s-2", "pause-snapshot", "") + "; COMMIT")
        try await connector.waitForLog("incremental snapshot paused")
        func sent() async throws -> Int {
            let metrics = try await httpGet("http://127.0.0.1:\(port)/metrics").body
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("tributary_incremental_snapshot_rows_total{") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while try await sent() < 20 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let paused = try await httpGet("http://127.0.0.1:\(port)/status").body
        #expect(paused.contains(#""paused":true"#) && paused.contains(#""table":"public.items""#), "\(paused)")
        #expect(paused.contains(#""tables_waiting":1"#) && paused.contains(#""rows_estimated":"#))
        try await Task.sleep(for: .seconds(1))
        let held = try await sent()
        #expect(held == 20, "one chunk, then nothing while paused")
        try harness.db.execute(Self.signal("s-3", "resume-snapshot", ""))
        try await connector.waitForLog("incremental snapshot of public.items complete", timeout: .seconds(60))
        // By then the second table is being read; stop it.
        try harness.db.execute(Self.signal("s-4", "stop-snapshot", #"{"data-collections": ["public.other"]}"#))
        try await connector.waitForLog("incremental snapshot stopped")
        try await Task.sleep(for: .milliseconds(500))
        let done = try await httpGet("http://127.0.0.1:\(port)/status").body
        #expect(done.contains(#""incremental_snapshot":null"#), "\(done)")
        let items = try await harness.records(["it.public.items"], atLeast: 20000)
        #expect(Set(items.compactMap(\.keyText)).count == 20000)
        _ = try await connector.terminate()
    }

    /// Tributary's own channel: `tributary signal` posts to the HTTP endpoint, which takes signals only where the file
    /// enables it and answers a malformed one at once.
    @Test func aSignalOverHTTP() async throws {
        let harness = try Harness(
            database: "incremental_http", tables: "public.items",
            extra: "signals: {http: true}\nincremental_snapshot: {chunk_size: 100}", snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        try harness.db.execute("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 500) g")
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        func signal(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try runCommand(TributaryProcess.executablePath, ["signal"] + arguments + ["--port", "\(port)"])
        }
        let sent = try signal(["incremental-http", "execute-snapshot", "--tables", "public.items", "--id", "http-1"])
        #expect(sent.status == 0 && sent.output.contains(#""status":"accepted""#), "\(sent.output)")
        let records = try await harness.records(["it.public.items"], atLeast: 500)
        #expect(Set(records.compactMap(\.keyText)).count == 500)
        #expect(records.map(Event.init).allSatisfy { $0.source["snapshot"] as? String == "incremental" })
        let malformed = try signal(["incremental-http", "execute-snapshot"])
        #expect(malformed.status != 0 && malformed.output.contains("needs data-collections"), "\(malformed.output)")
        let unknown = try signal(["nobody", "pause-snapshot"])
        #expect(unknown.status != 0 && unknown.output.contains("no connector named nobody"))
        _ = try await connector.terminate()

        // Off unless the file says so.
        let closed = try Harness(database: "incremental_http_off", tables: "public.items", snapshotMode: "no_data")
        try closed.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        let closedPort = try PostgresServer.freePort()
        let other = try await closed.startConnector(healthPort: closedPort)
        let refused = try runCommand(
            TributaryProcess.executablePath, ["signal", "incremental-http-off", "pause-snapshot", "--port", "\(closedPort)"])
        #expect(refused.status != 0 && refused.output.contains("set signals.http: true"), "\(refused.output)")
        _ = try await other.terminate()
    }

    /// Debezium's Kafka channel: records of the signal topic keyed by the topic prefix are signals; others are left
    /// alone; a restart reads on after the last signal acted on.
    @Test func aSignalFromTheSignalTopic() async throws {
        let harness = try Harness(
            database: "incremental_kafka", tables: "public.items",
            extra: "signals: {kafka_topic: it-signal}\nincremental_snapshot: {chunk_size: 100}", snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        try harness.db.execute("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 300) g")
        try harness.kafka.createTopic("it-signal", partitions: 1)
        let producer = try KafkaProducer(properties: [("bootstrap.servers", harness.kafka.bootstrapServers)])
        defer { producer.close() }
        func send(_ key: String, _ value: String) throws {
            try producer.send(topic: "it-signal", key: Array(key.utf8), value: Array(value.utf8), partition: 0, token: 1)
            _ = producer.flush(timeoutMilliseconds: 5000) { _ in }
        }
        try send("another-connector", #"{"type": "execute-snapshot", "data": {"data-collections": ["public.items"]}}"#)
        try send("it", #"{"id": "k-1", "type": "execute-snapshot", "data": {"data-collections": ["public.items"]}}"#)
        var connector = try await harness.startConnector()
        let records = try await harness.records(["it.public.items"], atLeast: 300)
        #expect(Set(records.compactMap(\.keyText)).count == 300)
        try await connector.waitForLog("incremental snapshot of public.items complete")
        #expect(connector.log.contains("is for another connector"))
        #expect(connector.log.contains("signal=k-1"))
        _ = try await connector.terminate()

        // Restarted: the signal acted on is not read again; a new one is.
        connector = try await harness.startConnector()
        try send("it", #"{"id": "k-2", "type": "log", "data": {"message": "second signal from Kafka"}}"#)
        try await connector.waitForLog("second signal from Kafka")
        #expect(!connector.log.contains("signal=k-1"))
        _ = try await connector.terminate()
    }
}
