import ArgumentParser
import ChangeEvents
import Foundation
import Histogram
import KafkaSink
import PostgresReplication
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Commit-to-Kafka latency at a steady rate: each event's commit time (`source.ts_us`, the server's clock) against
/// the moment a consumer of the topic receives it (this machine's clock, the same one).
struct Latency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Commit → consumed latency (p50, p99, p99.9) at a steady rate, as an HDR histogram.")

    @Option(help: "Rows per second the writer commits.")
    var rate = 10_000

    @Option(help: "Rows per transaction.")
    var transactionRows = 10

    @Option(help: "Seconds to measure.")
    var seconds = 20

    @Option(help: "Rows of a second table an incremental snapshot reads (on a signal over HTTP) while the writer runs; 0: none.")
    var incrementalRows = 0

    func run() async throws {
        let server = try PostgresServer.dedicated()
        let db = try server.createDatabase("latency")
        defer { db.close() }
        try db.execute(BenchTables.narrowDDL)
        if incrementalRows > 0 {
            try db.execute("CREATE TABLE big (id int8 PRIMARY KEY, name text, qty int4)")
            try db.execute("INSERT INTO big SELECT g, 'name ' || g, g % 1000 FROM generate_series(1, \(incrementalRows)) g")
            try db.execute("VACUUM ANALYZE big")
        }
        let conninfo = "host=\(server.directory) port=\(server.port) dbname=latency user=postgres"
        let kafka = try TributaryProcess(["kafka-dev"])
        let bootstrap = try await Stream.firstLine(of: kafka)
        let work = NSTemporaryDirectory() + "tributary-latency-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let config = "\(work)/latency.yaml"
        try """
        name: latency
        postgres: {url: "\(conninfo)", tables: [public.narrow, public.big]}
        kafka: {bootstrap_servers: \(bootstrap), topic_prefix: latency}
        snapshot: {mode: no_data, state_directory: \(work)/state}
        signals: {http: true}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        if incrementalRows == 0 { try db.execute("CREATE TABLE big (id int8 PRIMARY KEY)") }
        let healthPort = try PostgresServer.freePort()
        let connector = try TributaryProcess(["run", config, "--health-port", "\(healthPort)"])
        try await connector.waitForLog("streaming")

        // Warm up: the topic exists and the consumer starts at its end.
        try db.execute(BenchTables.narrowInsert(1, 1))
        var reader: KafkaTopicReader! = try KafkaTopicReader(
            bootstrapServers: bootstrap, properties: [("fetch.wait.max.ms", "1"), ("fetch.error.backoff.ms", "1")])
        while try reader.partitionCount("latency.public.narrow", timeoutMilliseconds: 1000) == nil {
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try reader.assign(["latency.public.narrow"], fromEnd: true)
        try await Task.sleep(for: .seconds(1))

        let total = rate * seconds
        let writer = Thread {
            do {
                let client = try server.client(database: "latency")
                defer { client.close() }
                let interval = Duration.seconds(1) * Double(transactionRows) / Double(rate)
                var next = ContinuousClock.now
                var id = 2
                while id < total + 2 {
                    try client.execute(BenchTables.narrowInsert(id, id + transactionRows - 1))
                    id += transactionRows
                    next += interval
                    let wait = next - .now
                    if wait > .zero { Thread.sleep(forTimeInterval: Stream.seconds(wait)) }
                }
            } catch {
                print("latency: writer failed: \(error)")
            }
        }
        writer.start()
        // The signal is sent a second in, while the loop below goes on reading (a wait here would count as latency).
        let signalling = Task {
            guard incrementalRows > 0 else { return }
            try await Task.sleep(for: .seconds(1))
            let signal = try TributaryProcess(
                ["signal", "latency", "execute-snapshot", "--tables", "public.big", "--port", "\(healthPort)"])
            _ = try await signal.waitForExit(timeout: .seconds(10))
        }

        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var received = 0
        let deadline = ContinuousClock.now + .seconds(seconds + 60)
        while received < total && ContinuousClock.now < deadline {
            guard let record = try reader.next(timeoutMilliseconds: 100) else { continue }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let nowMicros = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
            guard let committed = ChangeEvent.sourceNumber("ts_us", in: record.value).map({ Int64($0) }) else { continue }
            _ = histogram.record(UInt64(max(0, nowMicros - committed)))
            received += 1
        }
        try await signalling.value
        reader = nil  // before the cluster goes away, so it does not log the disconnection
        let incrementalDone = connector.log.contains("incremental snapshot of public.big complete")
        _ = try await connector.terminate()
        _ = try await kafka.terminate()
        func ms(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        print(
            String(
                format:
                    "latency at %d rows/s (%d-row transactions), %d events: commit → consumed p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (target p99 < %d)",
                rate, transactionRows, received, ms(50), ms(99), ms(99.9), Double(histogram.max) / 1000,
                incrementalRows > 0 ? 200 : 20)
                + (incrementalRows > 0
                    ? ", while an incremental snapshot read \(incrementalRows) rows of another table"
                        + (incrementalDone ? " (to its end)" : " (not finished within the run)") : ""))
        if received < total { throw ValidationError("only \(received) of \(total) events arrived") }
    }
}
