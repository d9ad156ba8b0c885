import Foundation
import PostgresReplication
import Synchronization
import TestSupport
import Testing

/// Decoding on a physical standby (PostgreSQL 16+), and failover slots carrying a connector over to a promoted
/// standby (PostgreSQL 17+), each following docs/operations.md.
@Suite(.serialized) struct StandbyTests {
    /// Waits until `standby` has replayed everything `primary` has written so far.
    static func waitForReplay(_ standby: CatalogClient, of primary: CatalogClient) async throws {
        let position = try primary.execute("SELECT pg_current_wal_lsn()::text").first?.first.flatMap { $0 } ?? ""
        let deadline = ContinuousClock.now + .seconds(30)
        while try standby.execute("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", [position]).first?.first != "t" {
            guard ContinuousClock.now < deadline else { throw TestSupportError("the standby did not replay \(position)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// A client of `database` on the standby, once it has replayed everything `primary` has written (its creation).
    static func replica(
        _ standby: PostgresServer, _ database: String, of primary: CatalogClient
    ) async throws
        -> CatalogClient
    {
        let admin = try standby.client(database: "postgres")
        defer { admin.close() }
        try await waitForReplay(admin, of: primary)
        return try standby.client(database: database)
    }

    /// Waits until the slot on `server` has confirmed `primary`'s current WAL position.
    static func waitForSlot(
        _ slot: String, on server: CatalogClient, toReachCurrentWALOf primary: CatalogClient
    )
        async throws
    {
        let position = try primary.execute("SELECT pg_current_wal_lsn()::text").first?.first.flatMap { $0 } ?? ""
        let deadline = ContinuousClock.now + .seconds(60)
        while try server.execute(
            "SELECT confirmed_flush_lsn >= $2::pg_lsn FROM pg_replication_slots WHERE slot_name = $1", [slot, position]
        ).first?.first != "t" {
            guard ContinuousClock.now < deadline else { throw TestSupportError("slot \(slot) did not reach \(position)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// A connector pointed at a PostgreSQL 16 standby, set up as its failures say: hot_standby_feedback first, then the
    /// publication made on the primary. It creates its slot on the standby, snapshots there (txId 0, as Debezium writes
    /// on a standby), streams what the primary's writers commit, and snapshots a table incrementally in the read-only
    /// way while a writer changes it; the topic rebuilds the table, and the primary holds no logical slot.
    @Test func aConnectorOnAStandbyDecodesThereAndLeavesThePrimaryAlone() async throws {
        let primary = try PostgresServer.dedicated(major: 16)
        let standby = try primary.makeStandby(physicalSlot: "standby_decoding")
        let database = "standby_decoding"
        let harness = try Harness(
            database: database,
            extra: "signals: {data_collection: public.debezium_signal}\nincremental_snapshot: {chunk_size: 100, read_only: true}",
            postgresExtra: "tables: [public.items]", server: primary, connectorURL: standby.url(database: database))
        try harness.db.execute("CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32), data text)")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)")
        try harness.db.execute("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 3000) g")
        let replica = try await Self.replica(standby, database, of: harness.db)
        defer { replica.close() }

        // A role that may not replicate cannot use the standby either (roles come from the primary).
        try harness.db.execute("DROP ROLE IF EXISTS cdc_plain")
        try harness.db.execute("CREATE ROLE cdc_plain LOGIN")
        try await Self.waitForReplay(replica, of: harness.db)
        let plain = try Harness.writeConnectorFile(
            name: "standby-plain", url: "postgresql://cdc_plain@127.0.0.1:\(standby.port)/\(database)",
            bootstrapServers: harness.kafka.bootstrapServers, postgresExtra: "tables: [public.items]")
        var error = try await BadInputTests.failure(config: plain)
        #expect(error.contains("role cdc_plain lacks the REPLICATION privilege"), "\(error)")
        #expect(error.contains("ALTER ROLE cdc_plain WITH REPLICATION"), "\(error)")

        // hot_standby_feedback is off (PostgreSQL's default): the first thing to change.
        error = try await BadInputTests.failure(config: harness.configPath)
        #expect(error.contains("the server is a standby with hot_standby_feedback off"), "\(error)")
        #expect(error.contains("set hot_standby_feedback = on on the standby"), "\(error)")
        try replica.execute("ALTER SYSTEM SET hot_standby_feedback = on")
        try replica.execute("SELECT pg_reload_conf()")
        let deadline = ContinuousClock.now + .seconds(10)
        while try replica.execute("SHOW hot_standby_feedback").first?.first != "on" {
            guard ContinuousClock.now < deadline else { throw TestSupportError("hot_standby_feedback stayed off") }
            try await Task.sleep(for: .milliseconds(50))
        }

        // The publication cannot be made on the standby: the error names the statement to run on the primary.
        error = try await BadInputTests.failure(config: harness.configPath)
        let lead = "the server is a standby, where the publication cannot be made or changed: run "
        #expect(error.contains(lead), "\(error)")
        let statement = error.components(separatedBy: lead).last?.components(separatedBy: " on the primary").first ?? ""
        #expect(statement.hasPrefix("CREATE PUBLICATION"), "\(error)")
        try harness.db.execute(statement)
        try await Self.waitForReplay(replica, of: harness.db)

        // Creating the slot on the standby waits for the primary to log its running transactions; the docs say how to
        // hurry it.
        let port = try PostgresServer.freePort()
        let connector = try TributaryProcess(["run", harness.configPath, "--health-port", "\(port)"])
        let starting = ContinuousClock.now + .seconds(60)
        while !connector.log.contains("[Connector] streaming") && connector.isRunning && ContinuousClock.now < starting {
            try harness.db.execute("SELECT pg_log_standby_snapshot()")
            try await Task.sleep(for: .milliseconds(200))
        }
        _ = try await Harness.waitForState("streaming", port: port, process: connector)
        #expect(connector.log.contains("creating the replication slot on a standby"))
        let reads = try await harness.records(["it.public.items"], atLeast: 3000).map(Event.init)
        #expect(Set(reads.compactMap { ($0.after?["id"] as? NSNumber)?.intValue }) == Set(1...3000))
        #expect(reads.allSatisfy { $0.op == "r" && $0.txId == 0 }, "snapshot events on a standby have txId 0")

        // Changes committed on the primary arrive through the standby; an incremental snapshot (read-only: a standby
        // takes no writes) runs while a writer changes the rows it reads.
        try harness.db.execute(
            IncrementalSnapshotTests.signal("standby-1", "execute-snapshot", #"{"data-collections": ["public.items"]}"#))
        let writer = try primary.client(database: database)
        defer { writer.close() }
        try await IncrementalSnapshotTests.changeItemsWhileSnapshotting(writer, connector, rows: 3000, newFrom: 5000)
        try await Self.waitForSlot(harness.slot, on: replica, toReachCurrentWALOf: harness.db)
        let records = try await IncrementalSnapshotTests.expectTopicRebuildsItems(harness)
        #expect(records.map(Event.init).filter { $0.source["snapshot"] as? String == "incremental" }.count >= 2000)

        #expect(
            try replica.execute("SELECT slot_type FROM pg_replication_slots WHERE slot_name = $1", [harness.slot]).first?.first
                == "logical")
        #expect(
            try harness.db.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'").first?.first
                == "0", "the primary does no decoding")
        #expect(try await connector.terminate() == 0)

        // A standby takes no writes, so no heartbeats.
        let heartbeat = try Harness.writeConnectorFile(
            name: "standby-heartbeat", url: standby.url(database: database),
            bootstrapServers: harness.kafka.bootstrapServers, postgresExtra: "tables: [public.items]",
            extra: "heartbeat: {interval: 5s}")
        error = try await BadInputTests.failure(config: heartbeat)
        #expect(error.contains("heartbeat.interval: the server is a standby, which takes no writes"), "\(error)")

        // Promoted, the standby keeps the slot and the connector carries on there.
        try standby.promote()
        let promoted = try standby.client(database: database)
        defer { promoted.close() }
        try promoted.execute("INSERT INTO items VALUES (100000, 'after promotion')")
        let resumed = try await harness.startConnector()
        let after = try await harness.records(["it.public.items"], atLeast: records.count + 1).map(Event.init)
        #expect(after.contains { ($0.after?["id"] as? NSNumber)?.intValue == 100000 })
        #expect(try await resumed.terminate() == 0)

        // Failover slots are made on a primary of PostgreSQL 17 or later.
        let failover = try Harness.writeConnectorFile(
            name: "standby-failover", url: primary.url(database: database), bootstrapServers: harness.kafka.bootstrapServers,
            postgresExtra: "tables: [public.items]\n  failover_slot: true")
        error = try await BadInputTests.failure(config: failover)
        #expect(error.contains("postgres.failover_slot needs PostgreSQL 17 or later, and the server is 16"), "\(error)")
    }

    /// A PostgreSQL 15 standby cannot decode: the connector says so instead of failing on each attempt to make a slot.
    @Test func aStandbyOfPostgreSQL15IsRefusedWithWhatToDo() async throws {
        let primary = try PostgresServer.dedicated(major: 15)
        let standby = try primary.makeStandby(settings: ["hot_standby_feedback": "on"])
        let harness = try Harness(
            database: "standby_15", tables: "public.items", server: primary,
            connectorURL: standby.url(database: "standby_15"))
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        let replica = try await Self.replica(standby, "standby_15", of: harness.db)
        defer { replica.close() }
        let error = try await BadInputTests.failure(config: harness.configPath)
        #expect(error.contains("the server is a standby of PostgreSQL 15, which cannot decode changes"), "\(error)")
        #expect(error.contains("point postgres.url at the primary"), "\(error)")
    }

    /// An existing ordinary slot becomes a failover slot (`ALTER_REPLICATION_SLOT … (FAILOVER true)`) when the file
    /// turns `failover_slot` on later, and the connector streams from it.
    @Test func anOrdinarySlotIsMadeAFailoverSlotWhenTheFileAsks() async throws {
        let server = try PostgresServer.dedicated(major: 18)
        let harness = try Harness(
            database: "failover_later", snapshotMode: "no_data", postgresExtra: "tables: [public.items]\n  failover_slot: true",
            server: server)
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        try harness.db.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [harness.slot])
        let failover = "SELECT failover FROM pg_replication_slots WHERE slot_name = $1"
        #expect(try harness.db.execute(failover, [harness.slot]).first?.first == "f")
        let connector = try await harness.startConnector()
        #expect(connector.log.contains("made the replication slot a failover slot"), "\(connector.log)")
        #expect(try harness.db.execute(failover, [harness.slot]).first?.first == "t")
        try harness.db.execute("INSERT INTO items VALUES (1)")
        let records = try await harness.records(["it.public.items"], atLeast: 1)
        #expect(records.map(\.keyText) == [#"{"id":1}"#])
        #expect(try await connector.terminate() == 0)
    }

    /// The failover runbook of docs/operations.md on PostgreSQL 18: a standby synchronising the connector's failover
    /// slot, a writer committing numbered rows, the primary stopped hard mid-write, the standby promoted and its
    /// synchronized_standby_slots cleared. The connector, with both hosts and target_session_attrs=read-write in its URL,
    /// carries on from the synchronised slot: Kafka holds every row the promoted server has, and none it does not.
    @Test func aFailoverSlotCarriesTheConnectorOverToThePromotedStandby() async throws {
        let primary = try PostgresServer.dedicated(major: 18)
        let database = "failover_slot"
        // Runbook: a physical slot for the standby, hot_standby_feedback and sync_replication_slots on it, dbname in
        // its primary_conninfo (pg_basebackup -R -d '… dbname=…').
        let standby = try primary.makeStandby(
            physicalSlot: "standby1", settings: ["hot_standby_feedback": "on", "sync_replication_slots": "on"])
        let url =
            "postgresql://postgres@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/\(database)"
            + "?target_session_attrs=read-write"
        let harness = try Harness(
            database: database, snapshotMode: "no_data", postgresExtra: "tables: [public.items]\n  failover_slot: true",
            server: primary, connectorURL: url)
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        // Runbook: the primary holds back logical changes until the standby has them; a shared configuration carries
        // the setting to the standby too, which must drop it once promoted.
        for server in [harness.db, try standby.client(database: "postgres")] {
            try server.execute("ALTER SYSTEM SET synchronized_standby_slots = 'standby1'")
            try server.execute("SELECT pg_reload_conf()")
        }
        let connector = try await harness.startConnector()
        #expect(
            try harness.db.execute("SELECT failover FROM pg_replication_slots WHERE slot_name = $1", [harness.slot])
                .first?.first == "t")
        #expect(!connector.log.contains("synchronized_standby_slots is empty"))

        // The standby keeps a usable copy of the slot (not a temporary one still catching up).
        let replica = try await Self.replica(standby, database, of: harness.db)
        var deadline = ContinuousClock.now + .seconds(60)
        while try replica.execute(
            "SELECT synced AND NOT temporary FROM pg_replication_slots WHERE slot_name = $1", [harness.slot]
        ).first?.first != "t" {
            guard ContinuousClock.now < deadline else { throw TestSupportError("the standby did not synchronise the slot") }
            try harness.db.execute("INSERT INTO items VALUES (-1) ON CONFLICT DO NOTHING")
            try await Task.sleep(for: .milliseconds(200))
        }
        // Pointed at the standby itself, the copy is refused with what to do.
        let onStandby = try Harness.writeConnectorFile(
            name: "failover-slot", url: standby.url(database: database), bootstrapServers: harness.kafka.bootstrapServers,
            postgresExtra: "tables: [public.items]")
        var error = try await BadInputTests.failure(config: onStandby)
        #expect(error.contains("on this standby is the primary's failover slot, copied by slot synchronisation"), "\(error)")
        let withFailover = try Harness.writeConnectorFile(
            name: "failover-slot", url: standby.url(database: database), bootstrapServers: harness.kafka.bootstrapServers,
            postgresExtra: "tables: [public.items]\n  failover_slot: true")
        error = try await BadInputTests.failure(config: withFailover)
        #expect(error.contains("postgres.failover_slot: the server is a standby"), "\(error)")

        // A writer commits numbered rows, one per transaction; the primary is stopped hard while it writes.
        let acknowledged = Mutex<[Int]>([])
        let primaryURL = primary.url(database: database)
        let writer = onThread {
            let client = try CatalogClient(settings: ConnectionSettings(conninfo: primaryURL))
            defer { client.close() }
            for id in 1... {
                do {
                    try client.execute("INSERT INTO items VALUES ($1)", [String(id)])
                } catch {
                    return
                }
                acknowledged.withLock { $0.append(id) }
            }
        }
        deadline = ContinuousClock.now + .seconds(30)
        while acknowledged.withLock({ $0.count }) < 2000 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try primary.crash()
        _ = await writer.result
        let written = acknowledged.withLock { $0 }
        #expect(written.count >= 2000)

        // Runbook: promote, clear synchronized_standby_slots on the promoted server, go on writing there.
        try standby.promote()
        replica.close()
        let promoted = try standby.client(database: database)
        defer { promoted.close() }
        try promoted.execute("ALTER SYSTEM RESET synchronized_standby_slots")
        try promoted.execute("SELECT pg_reload_conf()")
        // The row being written when the primary stopped may have committed without its writer hearing so.
        let highest = try promoted.execute("SELECT coalesce(max(id), 0) FROM items").first?.first.flatMap { $0.flatMap(Int.init) }
        let next = max(written.max() ?? 0, highest ?? 0) + 1
        try promoted.execute("INSERT INTO items SELECT g FROM generate_series(\(next), \(next + 499)) g")

        let expected = Set(try promoted.execute("SELECT id FROM items WHERE id > 0").compactMap { $0[0].flatMap { Int($0) } })
        let records = try await harness.records(["it.public.items"], atLeast: expected.count)
        let delivered = Set(records.map(Event.init).compactMap { ($0.after?["id"] as? NSNumber)?.intValue }.filter { $0 > 0 })
        #expect(expected.subtracting(delivered).isEmpty, "lost: \(expected.subtracting(delivered).sorted().prefix(20))")
        #expect(
            delivered.subtracting(expected).isEmpty,
            "rows the promoted server never had: \(delivered.subtracting(expected).sorted().prefix(20))")
        #expect(expected.isSuperset(of: next..<(next + 500)))
        let lostInFailover = Set(written).subtracting(expected).count
        print(
            "failover: \(written.count) rows acknowledged by the old primary, \(lostInFailover) of them not on the "
                + "promoted server (asynchronous replication), \(records.count - delivered.count) duplicate or marker records")
        #expect(!connector.log.contains("does not exist"), "\(connector.log.suffix(3000))")
        #expect(try SlotLossTests.record(harness)["timeline"] as? Int == 2, "the connector streams on the new timeline")
        #expect(try await connector.terminate() == 0)
    }
}
