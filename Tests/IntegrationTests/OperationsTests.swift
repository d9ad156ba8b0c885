import Foundation
import KafkaSink
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What an operator sees: the HTTP endpoint, the command line, logs and a clean stop.
@Suite(.serialized) struct OperationsTests {
    @Test func endpointReportsEveryConnectorWhileOneFailsAndTheOtherStreams() async throws {
        let harness = try Harness(database: "ops_good")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        let broken = try Harness.writeConnectorFile(
            name: "ops-missing", url: harness.server.url(database: "ops_no_such_database"),
            bootstrapServers: harness.kafka.bootstrapServers)
        let port = try PostgresServer.freePort()
        let base = "http://127.0.0.1:\(port)"
        let process = try TributaryProcess(["run", harness.configPath, broken, "--health-port", "\(port)"])
        try await process.waitForLog("streaming")
        try await process.waitForLog("health endpoint listening")
        try await process.waitForLog("does not exist")

        let health = try await httpGet("\(base)/health")
        #expect(health.status == 503)
        let healthBody = try json(health.body)
        #expect(healthBody["status"] as? String == "DOWN")
        let states = Dictionary(
            uniqueKeysWithValues: (healthBody["connectors"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0) })
        #expect(states["ops-good"]?["state"] as? String == "streaming")
        #expect(states["ops-missing"]?["state"] as? String == "failed")
        #expect((states["ops-missing"]?["error"] as? String)?.contains("ops_no_such_database") == true)

        let ready = try await httpGet("\(base)/health/ready")
        #expect(ready.status == 503)
        #expect(ready.body.contains("ops-missing"))
        #expect(!ready.body.contains("ops-good"))
        let live = try await httpGet("\(base)/health/live")
        #expect(live.status == 200)

        // The healthy connector keeps streaming next to the failing one.
        try harness.transaction(["INSERT INTO items VALUES (1, 'one'), (2, 'two')"])
        let records = try await harness.records(["it.public.items"], atLeast: 2)
        #expect(records.count == 2)
        let afterWrites = try harness.currentWAL()
        try await harness.waitForSlot(toReach: afterWrites)
        try await Task.sleep(for: .milliseconds(1500))

        let status = try json(try await httpGet("\(base)/status").body)
        let connectors = Dictionary(
            uniqueKeysWithValues: (status["connectors"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0) })
        let good = try #require(connectors["ops-good"])
        #expect(good["state"] as? String == "streaming")
        #expect(good["slot"] as? String == "tributary_ops_good")
        #expect((good["events"] as? [String: Any])?["total"] as? Int == 2)
        let lsn = good["lsn"] as? [String: Any] ?? [:]
        // The confirmed position moves on with other databases' WAL, so compare with where our writes ended.
        let flushed = try #require(lsn["flushed"] as? String)
        #expect(try harness.db.execute("SELECT $1::pg_lsn >= $2::pg_lsn", [flushed, afterWrites]).first?.first == "t")
        #expect(lsn["server"] as? String != nil)
        #expect((good["lag"] as? [String: Any])?["bytes"] as? Int != nil)
        #expect((good["lag"] as? [String: Any])?["ms"] as? Int != nil)
        #expect(good["last_error"] is NSNull)
        let missing = try #require(connectors["ops-missing"])
        #expect(missing["state"] as? String == "failed")
        #expect((missing["last_error"] as? String)?.contains("does not exist") == true)
        #expect((missing["reconnects"] as? Int ?? 0) >= 1)

        let metrics = try await httpGet("\(base)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("tributary_events_total{connector=\"ops-good\",table=\"public.items\",op=\"c\"} 2"))
        #expect(metrics.body.contains("tributary_connector_state{connector=\"ops-missing\",state=\"failed\"} 1"))
        #expect(metrics.body.contains("tributary_lag_bytes{connector=\"ops-good\"}"))
        #expect(metrics.body.contains("tributary_reconnects_total{connector=\"ops-missing\"}"))

        #expect(try await process.terminate() == 0)
        await #expect(throws: (any Error).self) { try await httpGet("\(base)/health") }
    }

    @Test func sigtermUnderLoadConfirmsExactlyWhatKafkaAcknowledged() async throws {
        let harness = try Harness(database: "ops_sigterm")
        try harness.db.execute("CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL)")
        let process = try await harness.startConnector()
        let writer = try harness.server.client(database: "ops_sigterm")
        defer { writer.close() }

        // Commit batches until the stop, remembering where each ended.
        var committed: [(ids: ClosedRange<Int>, endLSN: String)] = []
        var next = 1
        // Writes go on before, during and after the signal; the loop itself sends it, so no other task must run.
        let signalAt = ContinuousClock.now + .milliseconds(800)
        var signalled = false
        while process.isRunning {
            if !signalled && ContinuousClock.now >= signalAt {
                process.sendTerminate()
                signalled = true
            }
            let ids = next...(next + 99)
            try writer.execute(
                "INSERT INTO events SELECT g, repeat('x', 200) FROM generate_series(\(ids.lowerBound), \(ids.upperBound)) g")
            let end = try writer.execute("SELECT pg_current_wal_lsn()::text").first?.first.flatMap { $0 } ?? ""
            committed.append((ids, end))
            next += 100
        }
        #expect(try await process.waitForExit(timeout: .seconds(60)) == 0)
        #expect(committed.count > 2)

        let stopped = try #require(
            process.log.split(separator: "\n").last { $0.contains("stopped") && $0.contains("confirmed=") })
        let confirmed = String(
            try #require(stopped.split(separator: " ").first { $0.hasPrefix("confirmed=") }).dropFirst("confirmed=".count))
        #expect(try harness.confirmedFlush() == confirmed, "the slot holds exactly the position the connector confirmed")

        let records = try await harness.records(["it.public.events"], atLeast: 1)
        let delivered = Set(records.compactMap { Event($0).after?["id"] as? Int })
        var checked = 0
        for batch in committed
        where try harness.db.execute("SELECT $1::pg_lsn <= $2::pg_lsn", [batch.endLSN, confirmed]).first?.first == "t" {
            #expect(batch.ids.allSatisfy { delivered.contains($0) }, "batch \(batch.ids) is confirmed but not in Kafka")
            checked += 1
        }
        #expect(checked > 0, "at least one batch was confirmed before the stop")
    }

    @Test func aSecondSignalExitsAtOnceInsteadOfWaitingForKafka() async throws {
        let harness = try Harness(database: "ops_second_signal")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        let process = try await harness.startConnector()
        harness.kafka.setAllBrokers(up: false)
        try harness.transaction(["INSERT INTO items SELECT generate_series(1, 100)"])
        let written = try harness.currentWAL()
        try await Task.sleep(for: .milliseconds(500))
        // The first signal starts a drain that cannot finish while Kafka is down (it would wait 30 s).
        process.sendTerminate()
        try await process.waitForLog("stopping: draining Kafka")
        let started = ContinuousClock.now
        process.sendTerminate()
        let status = try await process.waitForExit(timeout: .seconds(10))
        #expect(status != 0)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(process.log.contains("second signal: exiting at once"))
        #expect(try !harness.slotReached(written), "nothing unacknowledged was confirmed")
    }

    @Test func passwordsNeverAppearInLogsOrStatus() async throws {
        let harness = try Harness(database: "ops_secret")
        let secretURL = "postgresql://postgres:hunter2secret@127.0.0.1:\(harness.server.port)/ops_secret"
        let config = try Harness.writeConnectorFile(
            name: "ops-secret", url: secretURL, bootstrapServers: harness.kafka.bootstrapServers,
            postgresExtra: "password: ${env:OPS_SECRET_PASSWORD}")
        let port = try PostgresServer.freePort()
        let process = try TributaryProcess(
            ["run", config, "--health-port", "\(port)", "--log-level", "trace"],
            environment: ["OPS_SECRET_PASSWORD": "otherSecret42"])
        try await process.waitForLog("streaming")
        let status = try await httpGet("http://127.0.0.1:\(port)/status")
        #expect(try await process.terminate() == 0)
        for text in [process.log, status.body] {
            #expect(!text.contains("hunter2secret"))
            #expect(!text.contains("otherSecret42"))
        }
        #expect(process.log.contains("postgresql://postgres:****@127.0.0.1"))
    }

    @Test func jsonLogsAreOneObjectPerLine() async throws {
        let harness = try Harness(database: "ops_jsonlog")
        let process = try TributaryProcess(
            ["run", harness.configPath, "--log-format", "json", "--health-port", "\(try PostgresServer.freePort())"])
        try await process.waitForLog("streaming")
        #expect(try await process.terminate() == 0)
        let lines = process.log.split(separator: "\n")
        #expect(lines.count >= 4)
        for line in lines {
            let object = try? json(String(line))
            #expect(object?["message"] is String, "not a JSON log line: \(line)")
            #expect(object?["level"] is String)
        }
        #expect(
            lines.contains { $0.contains("\"connector\":\"ops-jsonlog\"") && $0.contains("\"slot\":\"tributary_ops_jsonlog\"") })
    }

    /// An invalid connector file is the same cause in every command that reads one, with the same exit status.
    @Test func anInvalidFileExits65InEveryCommand() throws {
        let path = try Harness.writeConnectorFile(
            name: "Bad Name", url: "postgresql://x/db", bootstrapServers: "embedded", extra: "events: {tombstones: maybe}")
        for command in [
            ["validate", path], ["check", path], ["run", path, "--health-port", "\(try PostgresServer.freePort())"],
        ] {
            let result = try runCommand(TributaryProcess.executablePath, command)
            #expect(result.status == 65, "\(command[0]): \(result.output)")
            #expect(result.output.contains("name 'Bad Name' must be 1–63 characters"), "\(command[0])")
        }
    }

    @Test func validateReportsEveryProblemWithItsPositionAndExits65() throws {
        let path = try Harness.writeConnectorFile(
            name: "Bad Name", url: "postgresql://x/db", bootstrapServers: "embedded", extra: "events: {tombstones: maybe}")
        let result = try runCommand(TributaryProcess.executablePath, ["validate", path])
        #expect(result.status == 65)
        #expect(
            result.output.split(separator: "\n").map(String.init) == [
                "\(path):1:7: error: name 'Bad Name' must be 1–63 characters of a-z, 0-9, _ and -",
                "\(path):14:22: error: events.tombstones must be true or false, not 'maybe'",
            ])
    }

    @Test func exampleConnectorFilesAreValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("connectors").path)
            .filter { $0.hasSuffix(".yaml") }.map { root.appendingPathComponent("connectors/\($0)").path }
        #expect(files.count >= 2)
        let environment = [
            "TRIBUTARY_DEMO_POSTGRES_URL": "postgresql://postgres@127.0.0.1/inventory", "TRIBUTARY_DEMO_KAFKA": "127.0.0.1:9092",
            "INVENTORY_PGPASSWORD": "x", "TRIBUTARY_DEMO_STATE": "/tmp/tributary-demo-state",
            "TRIBUTARY_DEMO_REGISTRY": "http://127.0.0.1:8081",
        ]
        let result = try runCommand(
            "/usr/bin/env", environment.map { "\($0.key)=\($0.value)" } + [TributaryProcess.executablePath, "validate"] + files)
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func checkNamesEachFailingPrerequisiteWithItsFix() async throws {
        let harness = try Harness(database: "ops_check", tables: "public.keyed, public.loose")
        try harness.db.execute("CREATE TABLE keyed (id int PRIMARY KEY)")
        try harness.db.execute("CREATE TABLE loose (a int)")
        var result = try runCommand(TributaryProcess.executablePath, ["check", harness.configPath])
        #expect(result.status == 1)
        #expect(result.output.contains("ok    wal_level is logical"))
        #expect(result.output.contains("ok    role postgres may replicate"))
        #expect(result.output.contains("ok    table public.keyed has a primary key"))
        #expect(result.output.contains("FAIL  table public.loose has no primary key and REPLICA IDENTITY DEFAULT"))
        #expect(result.output.contains("fix: add a primary key, or ALTER TABLE public.loose REPLICA IDENTITY FULL"))
        #expect(result.output.contains("ok    Kafka answers at \(harness.kafka.bootstrapServers)"))

        try harness.db.execute("ALTER TABLE loose REPLICA IDENTITY FULL")
        result = try runCommand(TributaryProcess.executablePath, ["check", harness.configPath])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("checks passed"))
    }

    /// A health port another process holds is a setting to change (exit 78, the port named), told by errno.
    @Test func aHealthPortInUseSaysToChooseAnother() async throws {
        let harness = try Harness(database: "ops_port")
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(holder, $0, length) == 0 && listen(holder, 1) == 0 && getsockname(holder, $0, &length) == 0
            }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let process = try TributaryProcess(["run", harness.configPath, "--health-port", "\(port)"])
        #expect(try await process.waitForExit(timeout: .seconds(60)) == 78)
        #expect(process.log.contains("cannot listen on 127.0.0.1:\(port)"), "\(process.log)")
        #expect(process.log.contains("choose another --health-port"))
    }

    @Test func tailPrintsEventsCompactly() async throws {
        let harness = try Harness(database: "ops_tail")
        try harness.db.execute("CREATE TABLE people (id int PRIMARY KEY, name text, city text)")
        try harness.db.execute("ALTER TABLE people REPLICA IDENTITY FULL")
        try harness.kafka.createTopic("it.public.people", partitions: 1)
        let process = try await harness.startConnector()
        try harness.transaction(["INSERT INTO people VALUES (1, 'Ada', 'London')"])
        try harness.transaction(["UPDATE people SET city = 'Paris' WHERE id = 1"])
        try harness.transaction(["DELETE FROM people WHERE id = 1"])
        _ = try await harness.records(["it.public.people"], atLeast: 4)
        #expect(try await process.terminate() == 0)

        let result = try runCommand(
            TributaryProcess.executablePath,
            ["tail", "it.public.people", "--bootstrap-servers", harness.kafka.bootstrapServers, "--max-events", "4"])
        #expect(result.status == 0)
        #expect(
            result.output.split(separator: "\n").map(String.init) == [
                "it.public.people c {\"id\":1} city=\"London\" id=1 name=\"Ada\"",
                "it.public.people u {\"id\":1} city: \"London\" → \"Paris\"",
                "it.public.people d {\"id\":1}",
                "it.public.people tombstone {\"id\":1}",
            ])
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}
