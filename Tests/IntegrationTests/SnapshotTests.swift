import Foundation
import KafkaSink
import Synchronization
import TestSupport
import Testing

/// Initial snapshots: existing rows as `r` events, then streaming, with nothing missed in between.
@Suite(.serialized) struct SnapshotTests {
    /// The table as its topic says it is: the last event per key, deletes and tombstones removing it.
    static func rebuild(_ records: [KafkaRecord]) -> [String: String] {
        var rows: [String: String] = [:]
        for record in records {
            guard let key = record.keyText else { continue }
            let event = Event(record)
            if event.isTombstone || event.op == "d" {
                rows[key] = nil
            } else if let after = event.after {
                rows[key] = after["v"] as? String ?? "?"
            }
        }
        return rows
    }

    @Test func snapshotWhileAWriterRunsThenStreamingRebuildsTheTableExactly() async throws {
        // Large producer batches: the embedded broker hands a consumer one batch per fetch.
        let harness = try Harness(
            database: "snap_big", kafkaExtra: "properties: {linger.ms: 200, batch.num.messages: 100000}",
            snapshotExtra: "max_threads: 2\n  range_pages: 100")
        try harness.db.execute("CREATE TABLE big (id int PRIMARY KEY, v text NOT NULL)")
        try harness.db.execute("INSERT INTO big SELECT g, 'v' || g FROM generate_series(1, 200000) g")
        try harness.db.execute("ANALYZE big")
        // The embedded (mock) broker keeps at most 100,000 messages or 5 MB per partition: spread them out.
        try harness.kafka.createTopic("it.public.big", partitions: 48)
        let connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(try PostgresServer.freePort())"])
        // Writes before, during and after the snapshot.
        let writer = try harness.server.client(database: "snap_big")
        defer { writer.close() }
        var round = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            round += 1
            try writer.execute(
                "INSERT INTO big SELECT g, 'new' || g FROM generate_series(\(200000 + round * 10 + 1), \(200000 + round * 10 + 10)) g"
            )
            try writer.execute("UPDATE big SET v = 'updated\(round)' WHERE id IN (\(round * 7), \(round * 7 + 100000))")
            try writer.execute("DELETE FROM big WHERE id = \(round * 13 + 50000)")
            if connector.log.contains("streaming") && round > 50 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(connector.log.contains("snapshot complete"))
        // 200,000 rows fill well over 200 pages: the table was read in ranges by two readers.
        #expect(connector.log.contains("readers=2"))
        #expect(!connector.log.contains("work_units=1 "))
        try await harness.waitForSlot(toReach: try harness.currentWAL(), timeout: .seconds(120))

        var expected: [String: String] = [:]
        for row in try harness.db.execute("SELECT id, v FROM big") {
            expected["{\"id\":\(row[0] ?? "")}"] = row[1] ?? ""
        }
        let records = try await harness.records(["it.public.big"], atLeast: 200_000)
        let rebuilt = Self.rebuild(records)
        #expect(rebuilt.count == expected.count)
        #expect(rebuilt == expected, "rows differing: \(Set(expected.keys).symmetricDifference(rebuilt.keys).prefix(10))")

        let reads = records.map(Event.init).filter { $0.op == "r" }
        #expect(reads.count >= 190_000)
        let markers = reads.map { $0.source["snapshot"] as? String ?? "?" }
        #expect(markers.filter { $0 == "first_in_data_collection" }.count == 1)
        #expect(markers.filter { $0 == "last" }.count == 1)
        #expect(markers.filter { $0 == "true" }.count == reads.count - 2)
        #expect(reads.allSatisfy { $0.before == nil && $0.lsn != nil })
        #expect(try await connector.terminate() == 0)
    }

    @Test func modesDecideWhetherRowsAreReadAgain() async throws {
        let harness = try Harness(database: "snap_modes")
        try harness.db.execute("CREATE TABLE a (id int PRIMARY KEY, v text)")
        try harness.db.execute("CREATE TABLE b (id int PRIMARY KEY, v text)")
        try harness.db.execute("INSERT INTO a VALUES (1, 'x'), (2, 'y')")
        try harness.db.execute("INSERT INTO b VALUES (1, 'z')")

        // initial: the first start reads both tables, a restart does not.
        var connector = try await harness.startConnector()
        #expect(try await connector.terminate() == 0)
        connector = try await harness.startConnector()
        #expect(!connector.log.contains("snapshot starting"))
        #expect(try await connector.terminate() == 0)
        var records = try await harness.records(["it.public.a", "it.public.b"], atLeast: 3)
        #expect(records.count == 3)
        // Readers run in parallel, so tables interleave: each starts first_in_data_collection (a table of
        // one row may instead be the snapshot's last), and exactly one row of all is `last`.
        let markers = records.map { Event($0).source["snapshot"] as? String ?? "?" }
        #expect(markers.filter { $0 == "last" }.count == 1)
        for topic in ["it.public.a", "it.public.b"] {
            let first = records.first { $0.topic == topic }.map { Event($0).source["snapshot"] as? String ?? "?" }
            #expect(first == "first_in_data_collection" || first == "last", "\(topic)")
        }
        #expect(markers.allSatisfy { ["first_in_data_collection", "true", "last_in_data_collection", "last"].contains($0) })

        // always: every start reads again.
        let always = try Harness.writeConnectorFile(
            name: "snap-modes", url: harness.server.url(database: "snap_modes"), bootstrapServers: harness.kafka.bootstrapServers,
            snapshotMode: "always")
        connector = try TributaryProcess(["run", always, "--health-port", "\(try PostgresServer.freePort())"])
        try await connector.waitForLog("streaming")
        #expect(try await connector.terminate() == 0)
        records = try await harness.records(["it.public.a", "it.public.b"], atLeast: 6)
        #expect(records.count == 6)

        // initial_only: a new slot, a snapshot, then the process stops by itself.
        let only = try Harness.writeConnectorFile(
            name: "snap-only", url: harness.server.url(database: "snap_modes"), bootstrapServers: harness.kafka.bootstrapServers,
            snapshotMode: "initial_only")
        connector = try TributaryProcess(["run", only, "--health-port", "\(try PostgresServer.freePort())"])
        #expect(try await connector.waitForExit(timeout: .seconds(60)) == 0)
        #expect(connector.log.contains("snapshot complete"))
        // 200,000 rows fill well over 200 pages: the table was read in ranges by two readers.
        #expect(connector.log.contains("readers=2"))
        #expect(!connector.log.contains("work_units=1 "))
        #expect(!connector.log.contains("streaming"))

        // when_needed: like initial while the slot lives; once the slot is gone, everything is read again.
        let needed = try Harness.writeConnectorFile(
            name: "snap-needed", url: harness.server.url(database: "snap_modes"),
            bootstrapServers: harness.kafka.bootstrapServers,
            snapshotMode: "when_needed")
        connector = try TributaryProcess(["run", needed, "--health-port", "\(try PostgresServer.freePort())"])
        try await connector.waitForLog("streaming")
        #expect(connector.log.contains("snapshot complete"))
        #expect(try await connector.terminate() == 0)
        connector = try TributaryProcess(["run", needed, "--health-port", "\(try PostgresServer.freePort())"])
        try await connector.waitForLog("streaming")
        #expect(!connector.log.contains("snapshot starting"))
        #expect(try await connector.terminate() == 0)
        try harness.db.execute("SELECT pg_drop_replication_slot('tributary_snap_needed')")
        connector = try TributaryProcess(["run", needed, "--health-port", "\(try PostgresServer.freePort())"])
        try await connector.waitForLog("streaming")
        #expect(connector.log.contains("snapshot complete"), "a lost slot means a new snapshot")
        #expect(try await connector.terminate() == 0)

        // no_data: a new slot, no rows read.
        let none = try Harness.writeConnectorFile(
            name: "snap-none", url: harness.server.url(database: "snap_modes"), bootstrapServers: harness.kafka.bootstrapServers,
            snapshotMode: "no_data")
        connector = try TributaryProcess(["run", none, "--health-port", "\(try PostgresServer.freePort())"])
        try await connector.waitForLog("streaming")
        #expect(!connector.log.contains("snapshot starting"))
        #expect(try await connector.terminate() == 0)
    }

    @Test func aSnapshotKilledMidwayResumesWithoutResendingARow() async throws {
        let harness = try Harness(database: "snap_resume")
        for table in ["t1", "t2", "t3"] {
            try harness.db.execute("CREATE TABLE \(table) (id int PRIMARY KEY, v text)")
            try harness.db.execute("INSERT INTO \(table) SELECT g, 'x' FROM generate_series(1, 60000) g")
            // The embedded (mock) broker keeps at most 100,000 messages or 5 MB per partition: spread them out.
            try harness.kafka.createTopic("it.public.\(table)", partitions: 16)
        }
        let statePath = URL(fileURLWithPath: harness.configPath).deletingLastPathComponent()
            .appendingPathComponent("state/snap-resume.snapshot.json").path
        // A slow broker keeps the snapshot going for several seconds, so there is time between tables to kill it.
        harness.kafka.setRoundTripTime(milliseconds: 50)
        var connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(try PostgresServer.freePort())"])
        // Kill as soon as one table is recorded complete.
        let state = try await killWhenSnapshotState(at: statePath, pid: connector.pid) {
            !($0["tables_done"] as? [String] ?? []).isEmpty
        }
        let done = state["tables_done"] as? [String] ?? []
        try await connector.kill9()
        harness.kafka.setRoundTripTime(milliseconds: 0)
        #expect(done.count >= 1)
        #expect(done.count < 3, "the kill came after the whole snapshot; the test proves nothing")

        connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(try PostgresServer.freePort())"])
        try await connector.waitForLog("snapshot complete", timeout: .seconds(120))
        try await connector.waitForLog("streaming")
        #expect(try await connector.terminate() == 0)
        #expect(connector.log.contains("resuming the snapshot"))

        let records = try await harness.records(["it.public.t1", "it.public.t2", "it.public.t3"], atLeast: 180_000)
        for table in ["t1", "t2", "t3"] {
            let keys = records.filter { $0.topic == "it.public.\(table)" }.compactMap(\.keyText)
            #expect(Set(keys).count == 60000, "\(table) is complete")
            // A completed table is not read again; of a table read halfway, the rows Kafka holds are not sent again.
            #expect(keys.count == 60000, "\(table) holds each row once")
        }
    }
}

@Suite(.serialized) struct SnapshotFilterTests {
    @Test func excludedTablesAndSelectOverrides() async throws {
        let harness = try Harness(
            database: "snap_filters", postgresExtra: "exclude_tables: [public.secret]",
            snapshotExtra:
                "select_overrides: {public.orders: \"SELECT id, status FROM public.orders WHERE status <> 'archived'\"}")
        try harness.db.execute("CREATE TABLE orders (id int PRIMARY KEY, status text)")
        try harness.db.execute("CREATE TABLE secret (id int PRIMARY KEY)")
        try harness.db.execute("INSERT INTO orders VALUES (1, 'open'), (2, 'archived'), (3, 'open')")
        try harness.db.execute("INSERT INTO secret VALUES (1)")
        let connector = try await harness.startConnector()
        try harness.transaction(["INSERT INTO secret VALUES (2)", "INSERT INTO orders VALUES (4, 'open')"])
        let records = try await harness.records(["it.public.orders"], atLeast: 3)
        #expect(try await connector.terminate() == 0)
        let ids = records.compactMap { Event($0).after?["id"] as? Int }.sorted()
        #expect(ids == [1, 3, 4])
        let reader = try KafkaTopicReader(bootstrapServers: harness.kafka.bootstrapServers)
        try reader.assign(["it.public.secret"])
        #expect(try reader.next(timeoutMilliseconds: 2000) == nil, "nothing of an excluded table reaches Kafka")
    }
}

@Suite(.serialized) struct SnapshotRangeResumeTests {
    @Test func aSnapshotKilledMidwayDoesNotResendCompletedRangesOfATable() async throws {
        let harness = try Harness(
            database: "snap_ranges",
            kafkaExtra: "max_in_flight: 2000", snapshotExtra: "max_threads: 2\n  range_pages: 20")
        try harness.db.execute("CREATE TABLE r (id int PRIMARY KEY, v text)")
        try harness.db.execute("INSERT INTO r SELECT g, 'x' FROM generate_series(1, 120000) g")
        try harness.db.execute("VACUUM ANALYZE r")
        // The embedded (mock) broker keeps at most 100,000 messages or 5 MB per partition: spread them out.
        try harness.kafka.createTopic("it.public.r", partitions: 32)
        let statePath = URL(fileURLWithPath: harness.configPath).deletingLastPathComponent()
            .appendingPathComponent("state/snap-ranges.snapshot.json").path
        // A slow broker keeps the snapshot going for several seconds, so there is time between ranges to kill it.
        harness.kafka.setRoundTripTime(milliseconds: 50)
        var connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(try PostgresServer.freePort())"])
        let state = try await killWhenSnapshotState(at: statePath, pid: connector.pid) {
            !((($0["ranges_done"] as? [String: Any])?["public.r"] as? [Int]) ?? []).isEmpty
        }
        let ranges = (state["ranges"] as? [String: Any])?["public.r"] as? [[String: Any]] ?? []
        let done = (state["ranges_done"] as? [String: Any])?["public.r"] as? [Int] ?? []
        try await connector.kill9()
        harness.kafka.setRoundTripTime(milliseconds: 0)
        #expect(ranges.count > 2)
        #expect(!done.isEmpty && done.count < ranges.count, "the kill must come between ranges")

        connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(try PostgresServer.freePort())"])
        try await connector.waitForLog("snapshot complete", timeout: .seconds(120))
        #expect(try await connector.terminate() == 0)

        let records = try await harness.records(["it.public.r"], atLeast: 120_000)
        var counts: [Int: Int] = [:]
        for record in records { if let id = Event(record).after?["id"] as? Int { counts[id, default: 0] += 1 } }
        #expect(counts.count == 120_000, "every row arrived")
        // Rows of ranges read halfway that Kafka held were not sent again either: each row arrived once.
        #expect(records.count == 120_000, "\(records.count - 120_000) rows arrived twice")
        // Rows of the ranges recorded as done before the kill were not read again.
        for index in done {
            let lower = ranges[index]["lower"] as? Int ?? 0
            let upper = ranges[index]["upper"] as? Int
            let filter = "ctid >= '(\(lower),0)'::tid" + (upper.map { " AND ctid < '(\($0),0)'::tid" } ?? "")
            let ids = try harness.db.execute("SELECT id FROM r WHERE \(filter)").compactMap { $0[0].flatMap { Int($0) } }
            #expect(!ids.isEmpty)
            #expect(ids.allSatisfy { counts[$0] == 1 }, "range \(index) was sent again (or is missing)")
        }
    }
}

/// Polls a connector's snapshot state file until `condition` holds (or two minutes pass) and returns it.
/// Watches the snapshot state file on a thread of its own and sends SIGKILL to `pid` the moment `condition` holds,
/// so that the kill lands where the test wants it even while other tests keep the shared test threads busy.
/// Returns the state that was seen at the kill, or the last one seen if the condition never held.
func killWhenSnapshotState(
    at path: String, pid: Int32, until condition: @escaping @Sendable ([String: Any]) -> Bool
) async throws -> [String: Any] {
    let seen = Mutex<Data?>(nil)
    try await onThread {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: path),
                let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            {
                seen.withLock { $0 = data }
                if condition(state) {
                    kill(pid, SIGKILL)
                    return
                }
            }
            usleep(2_000)
        }
    }.value
    guard let data = seen.withLock({ $0 }) else { return [:] }
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
}
