import ArgumentParser
import Foundation
import PGOutput
import PostgresReplication
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Streaming throughput next to `pg_recvlogical` draining the same changes, in the same run.
struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rows/s of pg_recvlogical (the ceiling) and of Tributary into Kafka, peak RSS, CPU, start-up time.")

    @Option(help: "Rows in the workload (1,000-row transactions).")
    var rows = 1_000_000

    @Option(help: "narrow (6 columns) or wide (issue 19's 30 common types).")
    var table = "narrow"

    @Option(help: "unix (the server's socket) or tcp (127.0.0.1, as a sidecar across a pod network reads it).")
    var transport = "unix"

    @Flag(help: "Also run Tributary with postgres.pgoutput_binary on its own slot, next to the binary ceiling.")
    var binary = false

    @Option(help: "Runs; medians are reported.")
    var runs = 3

    @Option(
        name: .customLong("kafka-property"), help: "A librdkafka property for Tributary's producer, as key=value (repeatable).")
    var kafkaProperties: [String] = []

    func run() async throws {
        let server = try PostgresServer.dedicated(settings: ["max_wal_size": "4GB", "checkpoint_timeout": "30min"])
        let db = try server.createDatabase("bench")
        defer { db.close() }
        guard ["narrow", "wide"].contains(table), ["unix", "tcp"].contains(transport) else {
            throw ValidationError("--table is narrow or wide, --transport unix or tcp")
        }
        let wide = table == "wide"
        try db.execute(BenchTables.narrowDDL)
        try db.execute(BenchTables.wideDDL)
        try db.execute("CREATE PUBLICATION bench FOR TABLE \(table)")
        // The same transport for every reader.
        let host = transport == "unix" ? server.directory : "127.0.0.1"
        let conninfo = "host=\(host) port=\(server.port) dbname=bench user=postgres"

        let kafka = try TributaryProcess(["kafka-dev"])
        let bootstrap = try await Self.firstLine(of: kafka)
        let work = NSTemporaryDirectory() + "tributary-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }

        var ceiling: [Double] = []
        var drainText: [Double] = []
        var drainBinary: [Double] = []
        var tributary: [Double] = []
        var peaks: [Double] = []
        var cpu: [Double] = []
        var startups: [Double] = []
        // The same workload without the position header and the read-back (kafka.exactly_once: false).
        var plainRate: [Double] = []
        var plainCPU: [Double] = []
        // With --binary: Tributary reading pgoutput's binary mode.
        var binaryRate: [Double] = []
        var binaryCPU: [Double] = []
        var next = 1
        for run in 1...runs {
            // Every slot exists before the workload; each drains exactly its changes.
            let slots =
                ["recv_\(run)", "drain_\(run)", "drainbin_\(run)", "tributary_bench_\(run)", "tributary_plain_\(run)"]
                + (binary ? ["tributary_binary_\(run)"] : [])
            for slot in slots {
                try db.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
            }
            var written = 0
            while written < rows {
                let count = min(1000, rows - written)
                try db.execute(
                    wide ? BenchTables.wideInsert(next, next + count - 1) : BenchTables.narrowInsert(next, next + count - 1))
                next += count
                written += count
            }
            let end = try db.execute("SELECT pg_current_wal_lsn()::text").first?.first.flatMap { $0 } ?? "0/0"

            let recvStart = ContinuousClock.now
            let recv = try runCommand(
                "\(server.binDirectory)/pg_recvlogical",
                [
                    "-d", conninfo, "--slot", "recv_\(run)", "--start", "--no-loop", "--endpos", end, "-o", "proto_version=1",
                    "-o", "publication_names=bench", "-f", "/dev/null",
                ])
            let recvSeconds = Self.seconds(ContinuousClock.now - recvStart)
            guard recv.status == 0 else { throw ValidationError("pg_recvlogical failed: \(recv.output)") }
            ceiling.append(Double(rows) / recvSeconds)
            // A minimal libpq client that discards what it reads, in text and in binary mode.
            guard let endLSN = LSN(end) else { throw ValidationError("'\(end)' is not an LSN") }
            for binary in [false, true] {
                let started = ContinuousClock.now
                _ = try ReplicationDrain.run(
                    conninfo: conninfo, slot: binary ? "drainbin_\(run)" : "drain_\(run)", publication: "bench",
                    binary: binary, until: endLSN)
                let rate = Double(rows) / Self.seconds(ContinuousClock.now - started)
                if binary { drainBinary.append(rate) } else { drainText.append(rate) }
            }

            // Alternating which goes first, so that neither always meets a warmer server.
            var measured: [Bool: (rate: Double, seconds: Double, total: Double, cpu: Double, peak: Double)] = [:]
            for exactlyOnce in run % 2 == 1 ? [true, false] : [false, true] {
                measured[exactlyOnce] = try await drain(
                    run: run, exactlyOnce: exactlyOnce, conninfo: conninfo, bootstrap: bootstrap, work: work, end: end,
                    db: db)
            }
            if binary {
                let read = try await drain(
                    run: run, exactlyOnce: true, binary: true, conninfo: conninfo, bootstrap: bootstrap, work: work,
                    end: end, db: db)
                binaryRate.append(read.rate)
                binaryCPU.append(read.cpu)
                print(
                    String(
                        format: "run %d: tributary, pgoutput binary %.0f rows/s, %.2f CPU s per million", run, read.rate, read.cpu
                    ))
            }
            let headed = measured[true]!
            let plain = measured[false]!
            tributary.append(headed.rate)
            cpu.append(headed.cpu)
            peaks.append(headed.peak)
            plainRate.append(plain.rate)
            plainCPU.append(plain.cpu)
            print(
                String(
                    format:
                        "run %d: pg_recvlogical %.0f rows/s (%.2f s), libpq drain %.0f (binary %.0f); tributary %.0f rows/s (%.2f s first to last ack, %.2f s from start), peak RSS %.1f MB, %.2f CPU s per million; without the position header %.0f rows/s, %.2f CPU s per million",
                    run, ceiling.last!, recvSeconds, drainText.last!, drainBinary.last!, headed.rate, headed.seconds,
                    headed.total, headed.peak, headed.cpu,
                    plain.rate, plain.cpu))
            for slot in slots {
                try db.execute("SELECT pg_drop_replication_slot($1)", [slot])
            }
            if !wide {
                startups.append(try await startup(db: db, conninfo: conninfo, bootstrap: bootstrap, work: work, run: run))
            }
        }
        _ = try await kafka.terminate()

        let ratio = Self.median(tributary) / Self.median(drainText)
        print("rows=\(rows) runs=\(runs) table=\(table) (\(wide ? 30 : 6) columns) transport=\(transport) (medians)")
        print(String(format: "pg_recvlogical                 %10.0f rows/s", Self.median(ceiling)))
        print(String(format: "libpq drain, text (ceiling)    %10.0f rows/s", Self.median(drainText)))
        print(String(format: "libpq drain, binary            %10.0f rows/s", Self.median(drainBinary)))
        print(String(format: "tributary → Kafka              %10.0f rows/s", Self.median(tributary)))
        print(String(format: "ratio to the text ceiling      %10.2f   (target ≥ %.2f)", ratio, wide ? 0.95 : 1.0))
        if binary {
            print(String(format: "tributary → Kafka, binary mode %10.0f rows/s", Self.median(binaryRate)))
            print(
                String(
                    format: "binary mode to binary ceiling  %10.2f   (target ≥ 1.00); %.2f × text mode, %.2f CPU s per million",
                    Self.median(binaryRate) / Self.median(drainBinary), Self.median(binaryRate) / Self.median(tributary),
                    Self.median(binaryCPU)))
        }
        print(String(format: "peak RSS                       %10.1f MB (target < 64)", Self.median(peaks)))
        print(String(format: "CPU per million events         %10.2f s", Self.median(cpu)))
        if !startups.isEmpty {
            print(String(format: "start-up to first event acked  %10.0f ms (target < 200)", Self.median(startups)))
        }
        print(
            String(
                format: "exactly_once: false            %10.0f rows/s, %.2f CPU s per million events", Self.median(plainRate),
                Self.median(plainCPU)))
        print(
            String(
                format: "position header's cost         %+9.1f %% of throughput, %+.1f %% of CPU (target ≤ 3 %%)",
                (1 - Self.median(tributary) / Self.median(plainRate)) * 100,
                (Self.median(cpu) / Self.median(plainCPU) - 1) * 100))
    }

    /// Tributary drains the run's slot into Kafka: rows/s from the first to the last acknowledgement, that time and the
    /// time from process start, CPU seconds per million events, peak RSS in MB.
    func drain(
        run: Int, exactlyOnce: Bool, binary: Bool = false, conninfo: String, bootstrap: String, work: String, end: String,
        db: CatalogClient
    ) async throws -> (rate: Double, seconds: Double, total: Double, cpu: Double, peak: Double) {
        let name = binary ? "binary" : exactlyOnce ? "bench" : "plain"
        let slot = "tributary_\(name)_\(run)"
        let config = "\(work)/\(name)-\(run).yaml"
        let properties = kafkaProperties.map { $0.replacingOccurrences(of: "=", with: ": ") }.joined(separator: ", ")
        try """
        name: \(name)-\(run)
        postgres:
          url: "\(conninfo)"
          slot: \(slot)
          publication: bench
          publication_mode: existing
          pgoutput_binary: \(binary)
        kafka:
          bootstrap_servers: \(bootstrap)
          topic_prefix: \(name)\(run)
          exactly_once: \(exactlyOnce)
          properties: {\(properties)}
        snapshot: {mode: no_data, state_directory: \(work)/state}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        let process = try TributaryProcess(["run", config, "--health-port", "\(try PostgresServer.freePort())"])
        var firstAck: ContinuousClock.Instant?
        let slotQuery =
            "SELECT confirmed_flush_lsn::text, confirmed_flush_lsn >= $2::pg_lsn, confirmed_flush_lsn > restart_lsn "
            + "FROM pg_replication_slots WHERE slot_name = $1"
        var startLSN: String?
        while true {
            let row = try db.execute(slotQuery, [slot, end]).first
            let confirmed = row?[0] ?? nil
            if startLSN == nil { startLSN = confirmed }
            if firstAck == nil, confirmed != startLSN { firstAck = .now }
            if row?[1] == "t" { break }
            guard process.isRunning else { throw ValidationError("tributary exited:\n\(process.log)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let finished = ContinuousClock.now
        let memory = process.memory
        let cpu = Self.cpuSeconds(pid: process.pid) / Double(rows) * 1_000_000
        _ = try await process.terminate()
        let measured = Self.seconds(finished - (firstAck ?? started))
        return (
            Double(rows) / measured, measured, Self.seconds(finished - started), cpu, Double(memory?.peak ?? 0) / 1_048_576
        )
    }

    /// Process start to the first event acknowledged: one committed row waits in a fresh slot.
    func startup(db: CatalogClient, conninfo: String, bootstrap: String, work: String, run: Int) async throws -> Double {
        let slot = "tributary_start_\(run)"
        try db.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
        defer { _ = try? db.execute("SELECT pg_drop_replication_slot($1)", [slot]) }
        try db.execute("INSERT INTO narrow VALUES (-\(run), 'start', 1, 1.00, now(), true)")
        let end = try db.execute("SELECT pg_current_wal_lsn()::text").first?.first.flatMap { $0 } ?? "0/0"
        let config = "\(work)/start-\(run).yaml"
        try """
        name: start-\(run)
        postgres: {url: "\(conninfo)", slot: \(slot), publication: bench, publication_mode: existing}
        kafka: {bootstrap_servers: \(bootstrap), topic_prefix: start\(run)}
        snapshot: {mode: no_data, state_directory: \(work)/state}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        let process = try TributaryProcess(["run", config, "--health-port", "\(try PostgresServer.freePort())"])
        while try db.execute(
            "SELECT confirmed_flush_lsn >= $2::pg_lsn FROM pg_replication_slots WHERE slot_name = $1", [slot, end]
        ).first?.first != "t" {
            guard process.isRunning, ContinuousClock.now - started < .seconds(30) else {
                throw ValidationError("start-up run did not confirm:\n\(process.log)")
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        let elapsed = Self.seconds(ContinuousClock.now - started) * 1000
        _ = try await process.terminate()
        return elapsed
    }

    static func firstLine(of process: TributaryProcess) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let line = process.log.split(separator: "\n").first, line.contains(":") { return String(line) }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ValidationError("kafka-dev printed no bootstrap servers:\n\(process.log)")
    }

    /// User and system CPU seconds of a running process.
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
