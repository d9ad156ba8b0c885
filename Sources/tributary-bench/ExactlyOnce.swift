import ArgumentParser
import ChangeEvents
import Foundation
import KafkaSink
import PGOutput
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// What exactly-once delivery costs: the start-up read of every partition's last record, and the position header on
/// each record sent.
struct ExactlyOnce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exactly-once",
        abstract: "Start-up read-back of many partitions, and the cost of the position header per record produced.")

    @Option(help: "Topics to read back.")
    var topics = 50

    @Option(help: "Partitions per topic.")
    var partitions = 10

    @Option(help: "Records per round of the header measurement.")
    var records = 100_000

    @Option(help: "Rounds of each kind (with and without the header), alternating.")
    var rounds = 5

    func run() async throws {
        let kafka = try EmbeddedKafka(brokers: 1)
        defer { kafka.close() }
        try readBack(kafka)
        // The broker in a process of its own, so that this process's CPU is the producer's alone.
        let broker = try TributaryProcess(["kafka-dev"])
        do {
            try headerCost(bootstrap: try await Stream.firstLine(of: broker))
        } catch {
            try await broker.kill9()
            throw error
        }
        try await broker.kill9()
    }

    /// One record of the connector's in every partition, and in a tenth of them 100 records of another producer after
    /// it (read from further back).
    private func readBack(_ kafka: EmbeddedKafka) throws {
        let producer = try KafkaProducer(properties: [("bootstrap.servers", kafka.bootstrapServers)])
        defer { producer.close() }
        var names: [String] = []
        for topic in 0..<topics {
            let name = "readback-\(topic)"
            names.append(name)
            try kafka.createTopic(name, partitions: partitions)
            for partition in 0..<partitions {
                let position = EventPosition(lsn: LSN(UInt64(0x1000 + topic * 100 + partition)), order: 0)
                try producer.send(
                    topic: name, key: nil, value: Array(repeating: 0x61, count: 300), partition: Int32(partition), token: 1,
                    lastHeader: (EventPosition.headerName, position.headerValue(connector: "bench")))
                if (topic * partitions + partition) % 10 == 0 {
                    for _ in 0..<100 {
                        try producer.send(topic: name, key: nil, value: [1], partition: Int32(partition), token: 1)
                    }
                }
            }
        }
        guard producer.flush(timeoutMilliseconds: 60_000, { _ in }) else { throw ValidationError("Kafka did not take it") }
        var times: [Double] = []
        for _ in 0..<5 {
            let started = ContinuousClock.now
            let reader = try KafkaTailReader(bootstrapServers: kafka.bootstrapServers)
            let found = try reader.lastHeaders(
                topics: names, header: EventPosition.headerName, accept: { $0.starts(with: Array("bench:".utf8)) },
                timeoutMilliseconds: 30_000)
            reader.close()
            times.append((ContinuousClock.now - started) / .milliseconds(1))
            let positions = found.values.reduce(0) { $0 + $1.compactMap { $0 }.count }
            guard positions == topics * partitions else {
                throw ValidationError("read back \(positions) positions of \(topics * partitions)")
            }
        }
        times.sort()
        print(
            "start-up read-back: \(topics * partitions) partitions over \(topics) topics (a tenth with 100 records of "
                + "another producer after the connector's) in \(String(format: "%.0f", times[times.count / 2])) ms "
                + "(median of 5; min \(String(format: "%.0f", times[0])), max \(String(format: "%.0f", times[times.count - 1])))")
    }

    /// CPU per record produced with Debezium's four context headers, with and without the position header.
    private func headerCost(bootstrap: String) throws {
        let producer = try KafkaProducer(properties: [("bootstrap.servers", bootstrap), ("linger.ms", "5")])
        defer { producer.close() }
        let context: [(String, [UInt8]?)] = [
            ("__debezium.context.connectorLogicalName", Array("bench".utf8)),
            ("__debezium.context.taskId", Array("0".utf8)),
            ("__debezium.context.connectorName", Array("postgresql".utf8)),
            ("__debezium.context.runId", Array("01a22c0c-aa85-7c36-a365-94a5b040c879".utf8)),
        ]
        let value = Array(repeating: UInt8(0x61), count: 400)
        let name = Array("bench".utf8)
        var buffer: [UInt8] = []
        var plain: [Double] = []
        var headed: [Double] = []
        for round in 0..<(rounds * 2) {
            let withHeader = round % 2 == 1
            let start = Self.cpuNanos()
            for index in 0..<records {
                var header: (name: String, value: [UInt8])?
                if withHeader {
                    EventPosition(lsn: LSN(UInt64(0x100_0000 + index / 5)), order: UInt32(index % 5))
                        .write(connector: name, into: &buffer)
                    header = (EventPosition.headerName, buffer)
                }
                try Self.send(producer, key: Array("{\"id\":\(index)}".utf8), value: value, headers: context, header)
                if index % 1000 == 0 { producer.poll(timeoutMilliseconds: 0) { _ in } }
            }
            guard producer.flush(timeoutMilliseconds: 60_000, { _ in }) else { throw ValidationError("Kafka did not take it") }
            let nanos = Double(Self.cpuNanos() - start) / Double(records)
            if withHeader { headed.append(nanos) } else { plain.append(nanos) }
        }
        plain.sort()
        headed.sort()
        let without = plain[plain.count / 2]
        let with = headed[headed.count / 2]
        print(
            "position header: \(String(format: "%.0f", with)) ns of CPU per record produced with it, "
                + "\(String(format: "%.0f", without)) ns without (the producing process's CPU, librdkafka's threads "
                + "included, the broker in another process; medians of "
                + "\(rounds) alternating rounds of \(records) records): \(String(format: "%+.0f", with - without)) ns per record")
    }

    /// Sends one record, waiting for room in librdkafka's queue.
    static func send(
        _ producer: KafkaProducer, key: [UInt8], value: [UInt8], headers: [(String, [UInt8]?)],
        _ header: (name: String, value: [UInt8])?
    ) throws {
        while true {
            do {
                try producer.send(
                    topic: "header-cost", key: key, value: value, headers: headers, token: 1, lastHeader: header)
                return
            } catch {
                guard error.isQueueFull else { throw error }
            }
            producer.poll(timeoutMilliseconds: 10) { _ in }
        }
    }

    /// CPU time of the whole process (librdkafka's threads too), in nanoseconds.
    static func cpuNanos() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
