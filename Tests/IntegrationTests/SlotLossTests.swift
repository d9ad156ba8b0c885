import Foundation
import KafkaSink
import TestSupport
import Testing

/// A slot lost between two runs never turns into a silent gap: the connector stops, or reads the tables again, or
/// streams on with the gap logged and counted, as `postgres.on_slot_lost` says.
@Suite(.serialized) struct SlotLossTests {
    /// The connector's file with `postgres.on_slot_lost` set (or removed, for nil).
    static func setOnSlotLost(_ action: String?, in path: String) throws {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("on_slot_lost") }
            .joined(separator: "\n")
        if let action {
            text = text.replacingOccurrences(
                of: "  status_interval: 1s", with: "  status_interval: 1s\n  on_slot_lost: \(action)")
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The slot record the connector keeps beside its file.
    static func record(_ harness: Harness) throws -> [String: Any] {
        let directory = URL(fileURLWithPath: harness.configPath).deletingLastPathComponent().appendingPathComponent("state")
        let name = URL(fileURLWithPath: harness.configPath).deletingPathExtension().lastPathComponent
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).slot.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The value of `tributary_slot_lost_total` for an action, from `/metrics`.
    static func slotLostCount(port: Int, action: String) async throws -> Double {
        let metrics = try await httpGet("http://127.0.0.1:\(port)/metrics").body
        let line = metrics.split(separator: "\n").first {
            $0.hasPrefix("tributary_slot_lost_total{") && $0.contains("action=\"\(action)\"")
        }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    static func ids(_ records: [KafkaRecord], op: String) -> Set<Int> {
        Set(
            records.map(Event.init).filter { $0.op == op }.compactMap { ($0.after?["id"] as? NSNumber)?.intValue })
    }

    @Test func aDroppedSlotStopsTheConnectorUntilTheFileSaysWhatToDo() async throws {
        let harness = try Harness(database: "slot_dropped", snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        var connector = try await harness.startConnector()
        try harness.db.execute("INSERT INTO items SELECT g, 'streamed' FROM generate_series(1, 100) g")
        let streamed = try harness.currentWAL()
        try await harness.waitForSlot(toReach: streamed)
        #expect(try await connector.terminate() == 0)
        let confirmed = try #require(try Self.record(harness)["confirmed_lsn"] as? String)
        #expect(try harness.db.execute("SELECT $1::pg_lsn >= $2::pg_lsn", [confirmed, streamed]).first?.first == "t")

        // A DBA drops the slot; rows written meanwhile reach no slot.
        try harness.db.execute("SELECT pg_drop_replication_slot($1)", [harness.slot])
        try harness.db.execute("INSERT INTO items SELECT g, 'while lost' FROM generate_series(101, 300) g")

        // no_data's default: failed, saying what was lost and what to choose; no slot is created behind its back.
        var port = try PostgresServer.freePort()
        connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(port)"])
        let status = try await Harness.waitForState("failed", port: port, process: connector)
        let error = status["last_error"] as? String ?? ""
        #expect(error.contains("replication slot \(harness.slot) does not exist"), "\(error)")
        #expect(error.contains("after \(confirmed), which this connector confirmed at "), "\(error)")
        #expect(error.contains("postgres.on_slot_lost: snapshot") && error.contains("accept_gap"), "\(error)")
        #expect(try await Self.slotLostCount(port: port, action: "fail") >= 1)
        try await Task.sleep(for: .seconds(2))
        #expect(try harness.confirmedFlush() == nil, "still no slot after retries")
        _ = try await connector.terminate()
        #expect(try Self.record(harness)["confirmed_lsn"] as? String == confirmed, "the record still names the gap")
        let check = try runCommand(TributaryProcess.executablePath, ["check", harness.configPath])
        #expect(check.status == 1)
        #expect(check.output.contains("FAIL  replication slot \(harness.slot) does not exist"), "\(check.output)")
        #expect(check.output.contains("fix: set postgres.on_slot_lost: snapshot"), "\(check.output)")

        // on_slot_lost: snapshot reads the table again: the rows written while the slot was gone arrive as reads.
        try Self.setOnSlotLost("snapshot", in: harness.configPath)
        port = try PostgresServer.freePort()
        connector = try await harness.startConnector(healthPort: port)
        #expect(connector.log.contains("reading every captured table again"))
        #expect(try await Self.slotLostCount(port: port, action: "snapshot") == 1)
        try harness.db.execute("INSERT INTO items VALUES (301, 'after')")
        let afterSnapshot = try await harness.records(["it.public.items"], atLeast: 100 + 300 + 1)
        #expect(Self.ids(afterSnapshot, op: "r") == Set(1...300))
        #expect(Self.ids(afterSnapshot, op: "c") == Set(1...100).union([301]))
        let streamedAgain = try harness.currentWAL()
        try await harness.waitForSlot(toReach: streamedAgain)
        #expect(try await connector.terminate() == 0)
        let checked = try runCommand(TributaryProcess.executablePath, ["check", harness.configPath])
        #expect(checked.output.contains("ok    slot \(harness.slot) continues from what this connector confirmed"))

        // A restart with the slot in place continues quietly, whatever on_slot_lost says.
        try Self.setOnSlotLost(nil, in: harness.configPath)
        connector = try await harness.startConnector()
        #expect(!connector.log.contains("on_slot_lost"))
        #expect(try await connector.terminate() == 0)

        // accept_gap: streams on from a new slot; the gap is logged and counted, and later rows arrive.
        try harness.db.execute("SELECT pg_drop_replication_slot($1)", [harness.slot])
        try harness.db.execute("INSERT INTO items SELECT g, 'gap' FROM generate_series(302, 310) g")
        try Self.setOnSlotLost("accept_gap", in: harness.configPath)
        port = try PostgresServer.freePort()
        connector = try await harness.startConnector(healthPort: port)
        // The log says "streaming on" before the new slot exists: wait for the state, or 311 could precede the slot.
        _ = try await Harness.waitForState("streaming", port: port, process: connector)
        #expect(connector.log.contains("does not exist on the server"))
        #expect(connector.log.contains("as postgres.on_slot_lost is accept_gap"))
        #expect(try await Self.slotLostCount(port: port, action: "accept_gap") == 1)
        try harness.db.execute("INSERT INTO items VALUES (311, 'after the gap')")
        // Earlier starts may have sent some events twice (at-least-once): read until 311 is there.
        var all = try await harness.records(["it.public.items"], atLeast: 100 + 300 + 1 + 1)
        for _ in 0..<2 where !Self.ids(all, op: "c").contains(311) {
            all = try await harness.records(["it.public.items"], atLeast: all.count + 1)
        }
        #expect(Self.ids(all, op: "c") == Set(1...100).union([301, 311]), "the gap is what accept_gap accepts")
        #expect(try await connector.terminate() == 0)
    }
    /// PostgreSQL 18 invalidates a slot left unused longer than `idle_replication_slot_timeout` (at a checkpoint): the
    /// connector stops in `failed`, saying so, what is missing and what to change; it never streams on from a new slot.
    @Test func aSlotInvalidatedForIdlenessSaysWhatToChange() async throws {
        let server = try PostgresServer.dedicated(settings: ["idle_replication_slot_timeout": "1s"], major: 18)
        let harness = try Harness(database: "slot_idle", snapshotMode: "no_data", server: server)
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        var connector = try await harness.startConnector()
        try harness.db.execute("INSERT INTO items VALUES (1)")
        try await harness.waitForSlot(toReach: try harness.currentWAL())
        #expect(try await connector.terminate() == 0)
        try harness.db.execute("INSERT INTO items VALUES (2)")
        var reason: String?
        let deadline = ContinuousClock.now + .seconds(30)
        while reason == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(1))
            try harness.db.execute("CHECKPOINT")
            reason =
                try harness.db.execute(
                    "SELECT invalidation_reason FROM pg_replication_slots WHERE slot_name = $1", [harness.slot]
                ).first?.first ?? nil
        }
        #expect(reason == "idle_timeout")

        let port = try PostgresServer.freePort()
        connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(port)"])
        let status = try await Harness.waitForState("failed", port: port, process: connector)
        let error = status["last_error"] as? String ?? ""
        #expect(error.contains("replication slot \(harness.slot) was invalidated by the server (idle_timeout"), "\(error)")
        #expect(error.contains("raise that setting"), "\(error)")
        #expect(error.contains("postgres.on_slot_lost"), "\(error)")
        _ = try await connector.terminate()
    }

    /// A PostgreSQL 16 primary dies and its standby, which never had the slot, is promoted. The connector, with both
    /// hosts in its URL, reaches the new primary and stops there instead of creating a slot past the rows written since.
    @Test func aFailoverToAStandbyWithoutTheSlotIsNoticed() async throws {
        let primary = try PostgresServer.dedicated(major: 16)
        let standby = try primary.makeStandby()
        let url =
            "postgresql://postgres@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/slot_failover"
            + "?target_session_attrs=read-write"
        let harness = try Harness(database: "slot_failover", snapshotMode: "no_data", server: primary, connectorURL: url)
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        var connector = try await harness.startConnector()
        #expect(try harness.db.execute("SHOW server_version").first?.first??.hasPrefix("16.") == true)
        try harness.db.execute("INSERT INTO items SELECT g, 'before' FROM generate_series(1, 100) g")
        let streamed = try harness.currentWAL()
        try await harness.waitForSlot(toReach: streamed)
        #expect(try await connector.terminate() == 0)

        // The standby has replayed everything, then the primary dies and the standby takes over.
        let replica = try standby.client(database: "slot_failover")
        let deadline = ContinuousClock.now + .seconds(30)
        while try replica.execute("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", [streamed]).first?.first != "t" {
            guard ContinuousClock.now < deadline else { throw TestSupportError("the standby did not replay \(streamed)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        try primary.crash()
        try standby.promote()
        replica.close()
        let promoted = try standby.client(database: "slot_failover")
        try promoted.execute("INSERT INTO items SELECT g, 'after promotion' FROM generate_series(101, 3100) g")

        let port = try PostgresServer.freePort()
        connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(port)"])
        let status = try await Harness.waitForState("failed", port: port, process: connector)
        let error = status["last_error"] as? String ?? ""
        #expect(error.contains("replication slot \(harness.slot) does not exist"), "\(error)")
        #expect(error.contains("timeline went from 1 to 2, so it was promoted"), "\(error)")
        #expect(try await Self.slotLostCount(port: port, action: "fail") >= 1)
        #expect(
            try promoted.execute("SELECT count(*) FROM pg_replication_slots").first?.first == "0",
            "no slot was created on the promoted server")
        _ = try await connector.terminate()

        // Told to read the tables again, it delivers every row written after the failover.
        try Self.setOnSlotLost("snapshot", in: harness.configPath)
        connector = try await harness.startConnector()
        let records = try await harness.records(["it.public.items"], atLeast: 100 + 3100)
        #expect(Self.ids(records, op: "r") == Set(1...3100))
        #expect(try await connector.terminate() == 0)
        #expect(try Self.record(harness)["timeline"] as? Int == 2)
    }
    /// Two instances of one connector on two hosts keep their own state directories. The standby follows the slot
    /// while the other streams, and takes over without taking the other's progress for a gap.
    @Test func aStandbyWithItsOwnStateDirectoryTakesOverWithoutAFalseAlarm() async throws {
        let harness = try Harness(database: "slot_peer", snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        let other = try Harness.writeConnectorFile(
            name: "slot-peer", url: harness.server.url(database: "slot_peer"), bootstrapServers: harness.kafka.bootstrapServers,
            snapshotMode: "no_data")
        #expect(other != harness.configPath)
        // B streams first, so it has a record; then A takes the slot and B waits.
        var standby = try TributaryProcess(["run", other, "--health-port", "\(try PostgresServer.freePort())"])
        try await standby.waitForLog("streaming")
        #expect(try await standby.terminate() == 0)
        let active = try await harness.startConnector()
        var port = try PostgresServer.freePort()
        standby = try TributaryProcess(["run", other, "--health-port", "\(port)"])
        _ = try await Harness.waitForState("standby", port: port, process: standby)
        try await Task.sleep(for: .seconds(2))  // the standby looks every second, and sees the other instance
        #expect(try await standby.terminate() == 0)
        // While the standby is away, the active instance moves the slot on, then dies.
        try harness.db.execute("INSERT INTO items SELECT g FROM generate_series(1, 500) g")
        try await harness.waitForSlot(toReach: try harness.currentWAL())
        try await active.kill9()
        port = try PostgresServer.freePort()
        standby = try TributaryProcess(["run", other, "--health-port", "\(port)"])
        _ = try await Harness.waitForState("streaming", port: port, timeout: .seconds(60), process: standby)
        #expect(!standby.log.contains("past what this connector confirmed"))
        try harness.db.execute("INSERT INTO items VALUES (501)")
        let records = try await harness.records(["it.public.items"], atLeast: 501)
        #expect(Set(records.map(Event.init).compactMap { ($0.after?["id"] as? NSNumber)?.intValue }) == Set(1...501))
        #expect(try await standby.terminate() == 0)
    }
}
