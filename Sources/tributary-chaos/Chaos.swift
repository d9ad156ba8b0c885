import ArgumentParser
import Foundation
import KafkaSink
import PGOutput
import PostgresReplication
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `make chaos`: kills the connector at random moments while a writer commits numbered changes,
/// then reads every topic and checks that no committed change is missing or out of order per key.
@main
struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-chaos",
        abstract: "Kill and restart the connector at random moments; check Kafka holds every committed change, in order per key.",
        discussion: """
            Starts a throwaway PostgreSQL, an embedded Kafka in this process (it outlives every connector), and the
            `tributary` binary next to this one. Prints `kills=N written=W delivered=W lost=0 duplicates=0` and exits
            non-zero when a change is lost, arrives twice, or arrives out of order for its key.
            """)

    @Option(help: "How many times to kill the connector.")
    var kills = 20

    @Option(help: "Shortest time a connector runs before it is killed, in milliseconds.")
    var minRun = 300

    @Option(help: "Longest time a connector runs before it is killed, in milliseconds.")
    var maxRun = 3000

    @Option(help: "Rows in the table the initial snapshot reads (kills land during it too).")
    var bulkRows = 100_000

    @Option(help: "Keys the writer updates.")
    var keys = 200

    @Option(help: "Transactions per second the writer commits (5 changes each).")
    var rate = 200

    @Option(help: "Seed for the random choices; the default picks one and prints it.")
    var seed: UInt64?

    @Option(help: "Directory for the connector file, its state and every run's log (default: a new temporary one).")
    var workDirectory: String?

    mutating func run() async throws {
        guard kills >= 0, minRun > 0, maxRun >= minRun, keys > 0, rate > 0 else {
            throw ValidationError("--kills, --min-run, --max-run, --keys and --rate must be positive, with max-run ≥ min-run")
        }
        let seed = self.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var random = SplitMix(seed: seed)
        let work = try workDirectory ?? makeWorkDirectory()
        print("chaos: seed=\(seed) kills=\(kills) runs=\(minRun)–\(maxRun) ms, logs in \(work)")

        let server = try PostgresServer.start()
        let db = try server.createDatabase("chaos")
        try db.execute("CREATE TABLE counters (k int PRIMARY KEY, seq bigint NOT NULL)")
        try db.execute("CREATE TABLE bulk (id int PRIMARY KEY, payload text NOT NULL)")
        try db.execute("INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, \(bulkRows)) g")
        try db.execute("ANALYZE bulk")

        let kafka = try EmbeddedKafka(brokers: 1)
        // Many partitions: the mock cluster keeps at most 100,000 messages or 5 MB per partition.
        try kafka.createTopic("chaos.public.counters", partitions: 24)
        try kafka.createTopic("chaos.public.bulk", partitions: 64)

        // Two instances of the connector, as on two hosts: each with a state directory of its own. Restarts alternate
        // between them, and some kills land while the other already stands by (it takes over from the killed one).
        let config = "\(work)/chaos.yaml"
        let standbyConfig = "\(work)/chaos-standby.yaml"
        for (file, state) in [(config, "state"), (standbyConfig, "standby-state")] {
            try """
            name: chaos
            postgres:
              url: \(server.url(database: "chaos"))
              tables: [public.counters, public.bulk]
              status_interval: 1s
            kafka:
              bootstrap_servers: \(kafka.bootstrapServers)
              topic_prefix: chaos
              properties: {linger.ms: "20"}
            snapshot:
              state_directory: \(work)/\(state)
              max_threads: 2
              range_pages: 32
            errors:
              retry_backoff: 200ms
              retry_max_backoff: 2s
            """.write(toFile: file, atomically: true, encoding: .utf8)
        }

        let writer = Writer(url: server.url(database: "chaos"), keys: keys, rate: rate, seed: random.next())
        var runs = 0
        var writerStarted = false
        var killedInSnapshot = 0
        var killedInShutdown = 0
        var killed: [ChaosCheck.Kill] = []
        var takeovers = 0
        func snapshotCompleted() -> Bool {
            ["state", "standby-state"].contains { state in
                guard let data = FileManager.default.contents(atPath: "\(work)/\(state)/chaos.snapshot.json"),
                    let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                else { return false }
                return state["completed"] as? Bool == true
            }
        }
        // The instance a restart brings back (the one that ran last); the other one only ever starts as a standby.
        var current = config
        func startConnector(_ file: String) throws -> TributaryProcess {
            runs += 1
            return try TributaryProcess(
                ["run", file, "--log-format", "json", "--health-port", "\(try PostgresServer.freePort())"],
                keepLogAt: "\(work)/run-\(runs).log")
        }

        var standingBy: TributaryProcess?
        for kill in 1...max(kills, 1) where kills > 0 {
            let process = try standingBy ?? startConnector(current)
            standingBy = nil
            // The writer starts once the slot is consistent: every change it commits is then streamed.
            if !writerStarted {
                try await waitForSlot(db)
                writer.start()
                writerStarted = true
            }
            // The first two kills land in the initial snapshot and in the resumed one: a little after it starts.
            var lifetime = Int(random.next() % UInt64(maxRun - minRun + 1)) + minRun
            if kill <= 2 {
                let started = ContinuousClock.now
                // Once it logs that a snapshot started, or that it streams (no snapshot left to do).
                try await waitForLog(process, anyOf: ["snapshot starting", "\"streaming\""])
                try await Task.sleep(for: .milliseconds(Int(random.next() % 100)))
                lifetime = Int((ContinuousClock.now - started) / .milliseconds(1))
            } else {
                try await Task.sleep(for: .milliseconds(lifetime))
            }
            let duringSnapshot = !snapshotCompleted()
            if duringSnapshot { killedInSnapshot += 1 }
            // (Once the snapshot is done: a standby taking over mid-snapshot reads again the tables the other completed,
            // whose record of them it does not have; see docs/operations.md.)
            if kill > 2 && kill < kills && !duringSnapshot && random.next() % 3 == 0 {
                // The other instance starts now and stands by (or takes the slot, if the one running was between
                // sessions, and that one stands by); the kill hands the slot over.
                current = current == config ? standbyConfig : config
                let next = try startConnector(current)
                try await waitForLog(next, anyOf: ["standby", "\"streaming\""])
                standingBy = next
                takeovers += 1
            }
            if random.next() % 4 == 0 {
                // Killed during shutdown: SIGTERM, then SIGKILL while it drains.
                process.sendTerminate()
                try await Task.sleep(for: .milliseconds(Int(random.next() % 300)))
                killedInShutdown += 1
            }
            let walsender =
                try db.execute(
                    "SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = 'tributary_chaos'"
                ).first?.first ?? nil
            try await process.kill9()
            killed.append(
                try await slotAfterKill(
                    db, walsender: walsender, otherRunning: standingBy != nil, duringSnapshot: duringSnapshot))
            print("chaos: kill \(kill)/\(kills) after \(lifetime) ms (written so far \(writer.count))")
        }

        // Let the writer go on a little with a connector up, then stop it and let the last connector catch up.
        let final = try standingBy ?? startConnector(current)
        if !writerStarted {
            try await waitForSlot(db)
            writer.start()
        }
        try await Task.sleep(for: .seconds(2))
        let written = try writer.stop()
        let end = try db.execute("SELECT pg_current_wal_lsn()::text").first?.first.flatMap { $0 } ?? "0/0"
        let deadline = ContinuousClock.now + .seconds(300)
        while try db.execute(
            "SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = 'tributary_chaos'", [end]
        ).first?.first != "t" {
            guard ContinuousClock.now < deadline, final.isRunning else {
                throw TestSupportError("the last connector did not confirm \(end) within 300 s; see \(work)/run-\(runs).log")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        _ = try await final.terminate()

        let records = try await KafkaCollector.records(
            bootstrapServers: kafka.bootstrapServers, topics: ["chaos.public.counters", "chaos.public.bulk"],
            atLeast: written.count + bulkRows)
        let report = ChaosCheck.check(
            records: records, written: written, bulkRows: bulkRows, kills: killed, exactlyOnce: true)
        print(
            "chaos: \(killedInSnapshot) kills landed during the snapshot, \(killedInShutdown) while shutting down, "
                + "\(takeovers) handed the slot to the other instance standing by (two instances with state directories "
                + "of their own)")
        print(
            "kills=\(kills) written=\(report.written) delivered=\(report.delivered) lost=\(report.lost) duplicates=\(report.duplicates)"
        )
        for problem in report.problems.prefix(20) { print("chaos: \(problem)") }
        if !report.problems.isEmpty {
            print("chaos: FAILED; connector logs in \(work)")
            throw ExitCode(1)
        }
        if workDirectory == nil { try? FileManager.default.removeItem(atPath: work) }
    }

    func waitForLog(_ process: TributaryProcess, anyOf texts: [String]) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !texts.contains(where: process.log.contains) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw TestSupportError(
                    "the connector (\(process.isRunning ? "running" : "exited")) did not log \(texts) within 60 s:\n"
                        + process.log)
            }
            try await Task.sleep(for: .milliseconds(5))  // a kill meant for early in the snapshot must land there
        }
    }

    func waitForSlot(_ db: CatalogClient) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try db.execute(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'tributary_chaos' AND confirmed_flush_lsn IS NOT NULL"
        ).isEmpty {
            guard ContinuousClock.now < deadline else { throw TestSupportError("the connector made no slot within 60 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The position the slot holds once the killed connector's walsender has exited (it may still apply a status
    /// update the connector sent just before dying).
    /// (`walsender`: the slot's active process before the kill; an instance standing by may take the slot at once.)
    /// With `otherRunning`, the walsender may be the other instance's (the one killed stood by): given 5 s.
    func slotAfterKill(
        _ db: CatalogClient, walsender: String?, otherRunning: Bool, duringSnapshot: Bool
    ) async throws -> ChaosCheck.Kill {
        let at = ContinuousClock.now
        let deadline = at + .seconds(otherRunning ? 5 : 60)
        while true {
            let row = try db.execute(
                "SELECT active, confirmed_flush_lsn::text, active_pid::text FROM pg_replication_slots "
                    + "WHERE slot_name = 'tributary_chaos'"
            ).first
            guard let row, row.first == "t", walsender != nil, row[2] == walsender else {
                let confirmed = row.flatMap { $0.count > 1 ? $0[1] : nil }.flatMap { LSN($0) }
                return ChaosCheck.Kill(at: at, confirmed: confirmed ?? .zero, duringSnapshot: duringSnapshot)
            }
            guard ContinuousClock.now < deadline else {
                if otherRunning {
                    let confirmed = row.count > 1 ? row[1].flatMap { LSN($0) } : nil
                    return ChaosCheck.Kill(at: at, confirmed: confirmed ?? .zero, duringSnapshot: duringSnapshot)
                }
                throw TestSupportError("the killed connector's walsender still holds the slot after 60 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func makeWorkDirectory() throws -> String {
        var template = Array("/tmp/tributary-chaos-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestSupportError("mkdtemp failed: errno \(errno)") }
        return String(cString: made)
    }
}

/// Commits transactions of five numbered changes (`seq` counts up per key) until stopped; remembers what committed.
final class Writer: @unchecked Sendable {
    typealias Change = ChaosCheck.Change

    private let url: String
    private let keys: Int
    private let rate: Int
    private var random: SplitMix
    private let stopping = Atomic<Bool>(false)
    private let committed = Mutex<[Change]>([])
    private let failure = Mutex<(any Error)?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(url: String, keys: Int, rate: Int, seed: UInt64) {
        self.url = url
        self.keys = keys
        self.rate = rate
        self.random = SplitMix(seed: seed)
    }

    var count: Int { committed.withLock { $0.count } }

    func start() {
        let thread = Thread { [self] in
            do {
                try loop()
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops writing and returns every change that committed.
    func stop() throws -> [Change] {
        stopping.store(true, ordering: .relaxed)
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
        return committed.withLock { $0 }
    }

    private func loop() throws {
        let db = try CatalogClient(settings: ConnectionSettings(conninfo: url))
        defer { db.close() }
        let interval = Duration.seconds(1) / rate
        var next = ContinuousClock.now
        while !stopping.load(ordering: .relaxed) {
            var changes: [(key: Int, seq: Int64)] = []
            try db.execute("BEGIN")
            var chosen = Set<Int>()
            while chosen.count < min(5, keys) { chosen.insert(Int(random.next() % UInt64(keys)) + 1) }
            for key in chosen.sorted() {
                let seq = try db.execute(
                    "INSERT INTO counters VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET seq = counters.seq + 1 RETURNING seq",
                    ["\(key)"]
                ).first?.first.flatMap { $0 }.flatMap { Int64($0) }
                guard let seq else { throw TestSupportError("upsert returned no seq") }
                changes.append((key, seq))
            }
            let committing = ContinuousClock.now
            try db.execute("COMMIT")
            // The commit record is flushed when COMMIT returns, so the write position is at or past its end.
            let text = try db.execute("SELECT pg_current_wal_lsn()::text").first?.first.flatMap { $0 }
            guard let end = text.flatMap({ LSN($0) }) else { throw TestSupportError("no WAL position after COMMIT") }
            committed.withLock {
                $0.append(contentsOf: changes.map { Change(key: $0.key, seq: $0.seq, committing: committing, end: end) })
            }
            next += interval
            let wait = next - ContinuousClock.now
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18) }
        }
    }
}

/// A small seeded generator, so a failing run can be repeated with `--seed`.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
