import Foundation
import KafkaSink
import PostgresReplication
import TestSupport
import Testing

/// Faults the connector must survive with nothing lost: the server going away, Kafka going away,
/// a second instance, idle slots, refused events and schema changes.
@Suite(.serialized) struct FaultTests {
    /// The `id`s of `items` events (creates) in a topic, in arrival order.
    static func ids(_ records: [KafkaRecord]) -> [Int] {
        records.compactMap { Event($0).after?["id"] as? Int }
    }

    static func expectEveryID(
        _ records: [KafkaRecord], _ range: ClosedRange<Int>, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let seen = Set(ids(records))
        let missing = range.filter { !seen.contains($0) }
        #expect(missing.isEmpty, "missing ids \(missing.prefix(20))", sourceLocation: sourceLocation)
    }

    @Test func aTerminatedWalsenderAndARestartedServerAreReconnectedWithoutLoss() async throws {
        let server = try PostgresServer.dedicated()
        let harness = try Harness(
            database: "fault_restart", extra: "errors: {retry_backoff: 200ms, retry_max_backoff: 1s}", server: server)
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        try harness.kafka.createTopic("it.public.items", partitions: 1)
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.transaction(["INSERT INTO items SELECT g, 'a' FROM generate_series(1, 100) g"])

        // The walsender is terminated: the connector reconnects and goes on.
        let killed = try harness.db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = 'tributary_fault-restart'")
        #expect(killed.count == 1)
        try harness.transaction(["INSERT INTO items SELECT g, 'b' FROM generate_series(101, 200) g"])
        let afterTerminate = try await harness.records(["it.public.items"], atLeast: 200)
        Self.expectEveryID(afterTerminate, 1...200)
        _ = try await Harness.waitForState("streaming", port: port, process: connector)
        #expect((try await Harness.status(port: port)["reconnects"] as? Int ?? 0) >= 1)

        // The server restarts, down for 3 s: the connector reports reconnecting meanwhile, then resumes. Judged by
        // its reconnect count and log rather than by polling for the passing state, which a loaded test host can miss.
        // On a thread of its own: the test pool's few threads may all be busy with other suites' blocking calls.
        let reconnectsBefore = try await Harness.status(port: port)["reconnects"] as? Int ?? 0
        let reconnectingBefore = connector.log.components(separatedBy: "state=reconnecting").count
        let restart = onThread { try server.restart(downFor: .seconds(3)) }
        try await restart.value
        let db = try server.client(database: "fault_restart")
        defer { db.close() }
        try db.execute("INSERT INTO items SELECT g, 'c' FROM generate_series(201, 300) g")
        var status: [String: Any] = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            status = try await Harness.waitForState("streaming", port: port, timeout: .seconds(30), process: connector)
            if status["reconnects"] as? Int ?? 0 > reconnectsBefore { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status["reconnects"] as? Int ?? 0 > reconnectsBefore, "\(status)")
        #expect(connector.log.components(separatedBy: "state=reconnecting").count > reconnectingBefore)
        #expect((status["last_error"] as? String).map { !$0.isEmpty } ?? true)
        let records = try await harness.records(["it.public.items"], atLeast: 300)
        Self.expectEveryID(records, 1...300)
        // First arrivals keep commit order: anything sent again after a reconnect only repeats.
        var firstSeen: [Int] = []
        var seen = Set<Int>()
        for id in Self.ids(records) where seen.insert(id).inserted { firstSeen.append(id) }
        #expect(firstSeen == Array(1...300))
        #expect(try await connector.terminate() == 0)
    }

    /// A network partition: the connections to PostgreSQL stay open but nothing crosses them, not even a reset. The
    /// connector gives them up after `postgres.receive_timeout`, starts again once the server has let go of the slot,
    /// and loses nothing.
    @Test func aPartitionedServerIsGivenUpAfterTheReceiveTimeoutAndNothingIsLost() async throws {
        // The server drops a walsender whose client went silent after wal_sender_timeout, and so frees the slot.
        let server = try PostgresServer.dedicated(settings: ["wal_sender_timeout": "3s"])
        let proxy = try TCPProxy(target: server.port)
        defer { proxy.close() }
        let harness = try Harness(
            database: "fault_partition", postgresExtra: "receive_timeout: 3s", server: server,
            connectorURL: "postgresql://postgres@127.0.0.1:\(proxy.port)/fault_partition")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.transaction(["INSERT INTO items VALUES (1)"])
        let beforePartition = try harness.currentWAL()
        try await harness.waitForSlot(toReach: beforePartition)
        // Quiet for longer than the timeout first: an idle server that answers keepalives is not given up.
        try await Task.sleep(for: .seconds(5))
        #expect(!connector.log.contains("connector session ended"))

        proxy.partition()
        try harness.transaction(["INSERT INTO items SELECT generate_series(2, 100)"])
        // Whichever notices first: the quiet stream, or a status query left unanswered.
        try await connector.waitForLog("connector session ended; retrying", timeout: .seconds(30))
        #expect(
            connector.log.contains("sent nothing on the replication stream for 3")
                || connector.log.contains("PostgreSQL did not answer within 3"))
        let written = try harness.currentWAL()
        try await harness.waitForSlot(toReach: written, timeout: .seconds(60))
        let records = try await harness.records(["it.public.items"], atLeast: 100)
        Self.expectEveryID(records, 1...100)
        let status = try await Harness.status(port: port)
        #expect(status["state"] as? String == "streaming")
        #expect(status["reconnects"] as? Int ?? 0 >= 1)
        #expect(try await connector.terminate() == 0)
    }

    /// A catalog query to a server that stopped answering ends after the query timeout, and closes the connection.
    @Test func aQueryToAPartitionedServerEndsAfterTheQueryTimeout() throws {
        let server = try PostgresServer.start()
        let proxy = try TCPProxy(target: server.port)
        defer { proxy.close() }
        let client = try CatalogClient(
            settings: ConnectionSettings(conninfo: "postgresql://postgres@127.0.0.1:\(proxy.port)/postgres"))
        defer { client.close() }
        client.queryTimeout = .milliseconds(500)
        #expect(try client.execute("SELECT 1, $1::int", ["2"]).first == ["1", "2"])
        proxy.partition()
        let started = ContinuousClock.now
        #expect {
            try client.execute("SELECT 2")
        } throws: { error in
            "\(error)".contains("PostgreSQL did not answer within 0.5 seconds; the connection is closed")
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect { try client.execute("SELECT 3") } throws: { "\($0)".contains("connection is closed") }
    }

    @Test func kafkaDownForThirtySecondsPausesReadingWithinTheInFlightLimitAndResumes() async throws {
        let limit = 8 << 20
        let harness = try Harness(
            database: "fault_kafka_down", kafkaExtra: "max_in_flight_bytes: 8MB\n  properties: {linger.ms: \"50\"}")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        // Many partitions: the mock cluster keeps at most 5 MB per partition.
        try harness.kafka.createTopic("it.public.items", partitions: 32)
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.transaction(["INSERT INTO items SELECT g, repeat('x', 2000) FROM generate_series(1, 1000) g"])
        try await harness.waitForSlot(toReach: try harness.currentWAL())
        let baseline = try #require(connector.memory).resident

        harness.kafka.setAllBrokers(up: false)
        // 40,000 rows of 2 kB, 80 MB of values (ten times the limit), written while Kafka is away.
        // (While nothing is in flight the slot may follow keepalives over WAL other than ours, so the check is that it
        // never reaches the end of the first transaction Kafka has not taken.)
        var firstUnacknowledged: String?
        for batch in 0..<40 {
            try harness.transaction([
                "INSERT INTO items SELECT g, repeat(md5(g::text), 63) FROM generate_series(\(1001 + batch * 1000), \(2000 + batch * 1000)) g"
            ])
            if firstUnacknowledged == nil { firstUnacknowledged = try harness.currentWAL() }
        }
        let unacknowledged = try #require(firstUnacknowledged)
        let written = try harness.currentWAL()
        var peakInFlightBytes = 0
        let outage = ContinuousClock.now
        while ContinuousClock.now - outage < .seconds(30) {
            let status = try await Harness.status(port: port)
            let events = status["events"] as? [String: Any] ?? [:]
            peakInFlightBytes = max(peakInFlightBytes, events["in_flight_bytes"] as? Int ?? 0)
            #expect(["streaming", "reconnecting"].contains(status["state"] as? String ?? ""))
            // Nothing Kafka does not hold is confirmed.
            #expect(try !harness.slotReached(unacknowledged))
            try await Task.sleep(for: .milliseconds(500))
        }
        harness.kafka.setAllBrokers(up: true)
        try await harness.waitForSlot(toReach: written, timeout: .seconds(180))
        let memory = try #require(connector.memory)
        let total = (try await Harness.status(port: port)["events"] as? [String: Any])?["total"] as? Int ?? 0
        #expect(total >= 41_000)
        // Each row once: nothing lost, nothing sent twice.
        let records = try await harness.records(["it.public.items"], atLeast: 41_000)
        #expect(Self.ids(records).sorted() == Array(1...41_000))
        // An event is about 4 kB of JSON: the limit may be passed by one event.
        #expect(peakInFlightBytes > 0 && peakInFlightBytes <= limit + 8192)
        // librdkafka holds a copy of each unacknowledged event; the rest is a fixed overhead.
        let overhead = 64 << 20
        #expect(
            memory.peak <= baseline + 2 * limit + overhead,
            "peak RSS \(memory.peak >> 20) MB, baseline \(baseline >> 20) MB, limit \(limit >> 20) MB")
        print(
            "kafka down 30 s: baseline RSS \(baseline >> 20) MB, peak \(memory.peak >> 20) MB, peak in flight \(peakInFlightBytes >> 10) kB"
        )
        #expect(try await connector.terminate() == 0)
    }

    @Test func produceRequestErrorsAreRetriedWithoutLossOrReordering() async throws {
        let harness = try Harness(database: "fault_produce_errors")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        try harness.kafka.createTopic("it.public.items", partitions: 1)
        let connector = try await harness.startConnector()
        // NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, LEADER_NOT_AVAILABLE: all retriable.
        harness.kafka.pushRequestErrors(apiKey: 0, errors: [6, 7, 19, 5, 6, 7, 19, 5])
        for batch in 0..<10 {
            try harness.transaction([
                "INSERT INTO items SELECT g, 'x' FROM generate_series(\(batch * 50 + 1), \(batch * 50 + 50)) g"
            ])
        }
        let records = try await harness.records(["it.public.items"], atLeast: 500)
        let missing = Set(1...500).subtracting(Self.ids(records)).sorted()
        // Seen once in many runs (id 1 missing, the slot confirmed past it): the connector's log says what it did.
        #expect(missing.isEmpty, "missing \(missing.prefix(20)); connector log: \(connector.log.suffix(6000))")
        #expect(Self.ids(records) == Array(1...500))
        try await harness.waitForSlot(toReach: try harness.currentWAL())
        #expect(try await connector.terminate() == 0)
    }

    /// A broker that loses the idempotent producer's sequence makes librdkafka fail the producer for good:
    /// the connector replaces it and sends again, from the slot, what it had not confirmed.
    @Test func aFatallyFailedProducerIsReplacedWithoutLoss() async throws {
        let harness = try Harness(database: "fault_fatal_producer", extra: "errors: {retry_backoff: 200ms}")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        try harness.kafka.createTopic("it.public.items", partitions: 1)
        let connector = try await harness.startConnector()
        try harness.transaction(["INSERT INTO items SELECT g, 'a' FROM generate_series(1, 50) g"])
        _ = try await harness.records(["it.public.items"], atLeast: 50)
        // OUT_OF_ORDER_SEQUENCE_NUMBER on a Produce request.
        harness.kafka.pushRequestErrors(apiKey: 0, errors: [45])
        try harness.transaction(["INSERT INTO items SELECT g, 'b' FROM generate_series(51, 100) g"])
        try await connector.waitForLog("failed fatally", timeout: .seconds(60))
        try harness.transaction(["INSERT INTO items SELECT g, 'c' FROM generate_series(101, 150) g"])
        let records = try await harness.records(["it.public.items"], atLeast: 150)
        Self.expectEveryID(records, 1...150)
        // What the failed producer had not delivered is sent again; what it had is not.
        #expect(Self.ids(records).count == 150, "\(Self.ids(records).count - 150) rows arrived twice")
        try await harness.waitForSlot(toReach: try harness.currentWAL())
        #expect(try await connector.terminate() == 0)
    }

    @Test func aSecondInstanceStandsByAndTakesOverWhenTheFirstIsKilled() async throws {
        let harness = try Harness(database: "fault_standby", extra: "errors: {retry_backoff: 200ms, retry_max_backoff: 1s}")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        try harness.kafka.createTopic("it.public.items", partitions: 1)
        let first = try await harness.startConnector()
        let port = try PostgresServer.freePort()
        // The standby has a state directory of its own, as on another machine: it knows the topics from the tables.
        let standbyFile = try Harness.writeConnectorFile(
            name: "fault-standby", url: harness.server.url(database: "fault_standby"),
            bootstrapServers: harness.kafka.bootstrapServers, extra: "errors: {retry_backoff: 200ms, retry_max_backoff: 1s}")
        let second = try TributaryProcess(["run", standbyFile, "--health-port", "\(port)"])
        let standby = try await Harness.waitForState("standby", port: port, process: second)
        #expect((standby["last_error"] as? String)?.contains("in use") == true)
        let ready = try await httpGet("http://127.0.0.1:\(port)/health/ready")
        #expect(ready.status == 200)
        #expect(ready.body.contains("\"state\":\"standby\""))
        #expect(ready.body.contains("\"status\":\"STANDBY\""))

        try harness.transaction(["INSERT INTO items SELECT g, 'a' FROM generate_series(1, 100) g"])
        _ = try await harness.records(["it.public.items"], atLeast: 100)
        try await first.kill9()
        try harness.transaction(["INSERT INTO items SELECT g, 'b' FROM generate_series(101, 200) g"])
        let started = ContinuousClock.now
        _ = try await Harness.waitForState("streaming", port: port, timeout: .seconds(15), process: second)
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(second.log.contains("not snapshotting again"), "Kafka shows the snapshot was done")
        let records = try await harness.records(["it.public.items"], atLeast: 200)
        // Each row once: the standby read back what the killed instance had written and left it out.
        #expect(Self.ids(records) == Array(1...200))
        try await harness.waitForSlot(toReach: try harness.currentWAL())
        #expect(try await second.terminate() == 0)
    }

    @Test func heartbeatsMoveAnIdleSlotWhileAnotherDatabaseIsBusyAndMetricsShowRetainedWAL() async throws {
        let harness = try Harness(
            database: "fault_idle", tables: "public.quiet",
            extra: "heartbeat: {interval: 500ms, action_query: \"INSERT INTO beats VALUES (now())\"}")
        try harness.db.execute("CREATE TABLE quiet (id int PRIMARY KEY)")
        try harness.db.execute("CREATE TABLE beats (at timestamptz)")
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        let busy = try harness.server.createDatabase("fault_idle_busy")
        defer { busy.close() }
        try busy.execute("CREATE TABLE noise (id int, payload text)")
        for _ in 0..<5 { try busy.execute("INSERT INTO noise SELECT g, repeat('n', 500) FROM generate_series(1, 20000) g") }
        let busyEnd = try harness.currentWAL()
        try await harness.waitForSlot(toReach: busyEnd, timeout: .seconds(30))
        let beatsDeadline = ContinuousClock.now + .seconds(10)
        var beats = 0
        while beats < 2 && ContinuousClock.now < beatsDeadline {
            beats = Int(try harness.db.execute("SELECT count(*) FROM beats").first?.first.flatMap { $0 } ?? "0") ?? 0
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(beats >= 2)

        let deadline = ContinuousClock.now + .seconds(15)
        var slot: [String: Any]?
        while slot == nil && ContinuousClock.now < deadline {
            slot = try await Harness.status(port: port)["slot_wal"] as? [String: Any]
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(slot?["wal_status"] as? String == "reserved")
        #expect(slot?["retained_bytes"] is Int)
        let metrics = try await httpGet("http://127.0.0.1:\(port)/metrics").body
        #expect(metrics.contains("tributary_slot_retained_wal_bytes{connector=\"fault-idle\"}"))
        #expect(metrics.contains("tributary_slot_wal_status{connector=\"fault-idle\",status=\"reserved\"} 1"))
        #expect(try await connector.terminate() == 0)
    }

    @Test func theDefaultHeartbeatEmitsAMessageThatIsNotAnEvent() async throws {
        let harness = try Harness(database: "fault_heartbeat_message", extra: "heartbeat: {interval: 300ms}")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        let connector = try await harness.startConnector()
        try await Task.sleep(for: .seconds(2))
        try harness.transaction(["INSERT INTO items VALUES (1)", "SELECT pg_logical_emit_message(true, 'app', 'hello')"])
        let records = try await harness.records(["it.public.items", "it.message"], atLeast: 2)
        let messages = records.filter { $0.topic == "it.message" }
        #expect(messages.count == 1)
        #expect(messages.first.map { Event($0).value?["message"] as? [String: Any] }??["prefix"] as? String == "app")
        try await harness.waitForSlot(toReach: try harness.currentWAL())
        #expect(connector.log.contains("heartbeat failed") == false)
        #expect(try await connector.terminate() == 0)
    }

    @Test(arguments: ["fail", "skip", "dead_letter"])
    func anEventKafkaRefusesIsHandledAsErrorsModeSays(mode: String) async throws {
        let harness = try Harness(
            database: "fault_refused_\(mode)", extra: "errors: {mode: \(mode)}",
            kafkaExtra: "properties: {message.max.bytes: \"20000\"}")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        try harness.kafka.createTopic("it.public.items", partitions: 1)
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.transaction(["INSERT INTO items VALUES (1, 'small')"])
        let beforeRefused = try harness.currentWAL()
        try await harness.waitForSlot(toReach: beforeRefused)
        try harness.transaction(["INSERT INTO items VALUES (2, repeat(md5('x'), 1000))"])
        let afterRefused = try harness.currentWAL()
        try harness.transaction(["INSERT INTO items VALUES (3, 'small')"])
        switch mode {
        case "fail":
            let status = try await Harness.waitForState("failed", port: port, process: connector)
            let error = status["last_error"] as? String ?? ""
            #expect(error.contains("errors.mode"))
            #expect(error.contains("public.items"))
            #expect(!error.contains("\n"))
            let records = try await harness.records(["it.public.items"], atLeast: 1)
            #expect(Self.ids(records) == [1])
            #expect(try harness.slotReached(beforeRefused))
            #expect(try !harness.slotReached(afterRefused))
        case "skip":
            let records = try await harness.records(["it.public.items"], atLeast: 2)
            #expect(Self.ids(records) == [1, 3])
            try await harness.waitForSlot(toReach: try harness.currentWAL())
            let events = try await Harness.status(port: port)["events"] as? [String: Any]
            #expect(events?["skipped"] as? Int == 1)
        default:
            // Too large for the dead-letter topic as well: the copy keeps the key and says why, without the value.
            // Then a Produce request refused as not authorized: the copy holds the whole event.
            try await harness.waitForSlot(toReach: try harness.currentWAL())
            harness.kafka.pushRequestErrors(apiKey: 0, errors: [29])
            try harness.transaction(["INSERT INTO items VALUES (4, 'not authorized')"])
            // (librdkafka then refuses the topic at once until its metadata is refreshed, as with a real ACL.)
            let records = try await harness.records(["it.public.items", "it.dlq"], atLeast: 4)
            #expect(Self.ids(records.filter { $0.topic == "it.public.items" }) == [1, 3])
            let letters = records.filter { $0.topic == "it.dlq" }.map(Event.init)
            #expect(
                letters.count == 2, "\(letters.map { ($0.key ?? "-", $0.header("__connect.errors.exception.message") ?? "-") })")
            let large = letters.first
            #expect(large?.key == "{\"id\":2}")
            #expect(large?.isTombstone == true)
            #expect(large?.header("__tributary.errors.value_omitted")?.contains("bytes") == true)
            for letter in letters {
                #expect(letter.header("__connect.errors.topic") == "it.public.items")
                #expect(letter.header("__tributary.errors.table") == "public.items")
                #expect(letter.header("__tributary.errors.lsn").map { !$0.isEmpty } == true)
            }
            #expect(large?.header("__connect.errors.exception.message")?.contains("too large") == true)
            #expect(letters.last?.after?["id"] as? Int == 4)
            #expect(letters.last?.header("__connect.errors.exception.message")?.contains("uthoriz") == true)
            try await harness.waitForSlot(toReach: try harness.currentWAL())
            let events = try await Harness.status(port: port)["events"] as? [String: Any]
            #expect(events?["dead_lettered"] as? Int == 2)
        }
        _ = try await connector.terminate()
    }

    @Test func tablesAddedAndColumnsChangedMidStreamAreCapturedWithoutLoss() async throws {
        let harness = try Harness(database: "fault_schema_change")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        for topic in ["it.public.items", "it.public.added"] { try harness.kafka.createTopic(topic, partitions: 1) }
        let connector = try await harness.startConnector()
        try harness.transaction(["INSERT INTO items VALUES (1, 'one')"])
        try harness.db.execute("CREATE TABLE added (id int PRIMARY KEY, note text)")
        try harness.transaction(["INSERT INTO added VALUES (1, 'new table')", "INSERT INTO items VALUES (2, 'two')"])
        try harness.db.execute("ALTER TABLE items ADD COLUMN qty int DEFAULT 5")
        try harness.transaction(["INSERT INTO items VALUES (3, 'three', 7)"])
        try harness.db.execute("ALTER TABLE items ALTER COLUMN qty TYPE bigint")
        try harness.db.execute("ALTER TABLE items DROP COLUMN label")
        try harness.transaction(["INSERT INTO items VALUES (4, 9)", "UPDATE items SET qty = 10 WHERE id = 1"])
        let records = try await harness.records(["it.public.items", "it.public.added"], atLeast: 6)
        let items = records.filter { $0.topic == "it.public.items" }.map(Event.init)
        #expect(items.compactMap { $0.after?["id"] as? Int } == [1, 2, 3, 4, 1])
        #expect(items[2].after?["qty"] as? Int == 7)
        #expect(items[3].after?["label"] == nil && items[3].after?["qty"] as? Int == 9)
        #expect(items[4].after?["qty"] as? Int == 10)
        let added = records.filter { $0.topic == "it.public.added" }.map(Event.init)
        #expect(added.first?.after?["note"] as? String == "new table")
        try await harness.waitForSlot(toReach: try harness.currentWAL())
        #expect(try await connector.terminate() == 0)
    }
}
