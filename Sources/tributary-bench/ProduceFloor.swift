import ArgumentParser
import ChangeEvents
import Foundation
import KafkaSink

/// The producing floor under a snapshot: how fast librdkafka alone takes records as a snapshot writes them (the same
/// key and value sizes, the same headers, the same producer settings) into the same broker. A snapshot on this machine
/// cannot be faster than this, whatever the connector does before `produce`.
struct ProduceFloor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce-floor",
        abstract: "Rows/s of producing records shaped like a topic's first one (key, value, headers), first send to last "
            + "acknowledgement: the floor under a snapshot into that broker.")

    @Option(help: "The broker (a kafka-dev process).")
    var bootstrap: String

    @Option(help: "The topic whose first record gives the shape (written by the snapshot just measured).")
    var like: String

    @Option(help: "Records to produce.")
    var records = 1_000_000

    @Option(help: "librdkafka properties as the connector file sets them, name=value, repeated.")
    var property: [String] = []

    func run() async throws {
        guard let sample = try Self.firstRecord(of: like, bootstrap: bootstrap) else {
            throw ValidationError("no record in \(like) to take the shape from")
        }
        var properties = [("bootstrap.servers", bootstrap)]
        for entry in property {
            guard let equals = entry.firstIndex(of: "=") else { throw ValidationError("--property \(entry): name=value") }
            properties.append((String(entry[..<equals]), String(entry[entry.index(after: equals)...])))
        }
        let producer = try KafkaProducer(properties: properties)
        defer { producer.close() }
        // The position header is the record's own; the others are the same on every record, as the connector's are.
        let headers = sample.headers.filter { $0.key != EventPosition.headerName }.map { ($0.key, $0.value) }
        let position = sample.headers[EventPosition.headerName].flatMap { $0 }
        let value = sample.value
        // Keys differ as the rows' do (so that records spread over partitions as they would): the sample's key with
        // its last eight bytes replaced by the record's number.
        let keyPrefix = Array((sample.key ?? []).dropLast(8))
        let topic = "\(like).floor"
        var failed = 0
        let cpuStart = ExactlyOnce.cpuNanos()
        let start = ContinuousClock.now
        for index in 0..<records {
            var key = keyPrefix
            var digits = index
            for _ in 0..<8 {
                key.append(UInt8(ascii: "0") + UInt8(digits % 10))
                digits /= 10
            }
            while true {
                do {
                    try producer.send(
                        topic: topic, key: key, value: value, headers: headers, token: 1,
                        lastHeader: position.map { (EventPosition.headerName, $0) })
                    break
                } catch {
                    guard error.isQueueFull else { throw error }
                }
                _ = producer.poll(timeoutMilliseconds: 10) { if $0.error != nil { failed += 1 } }
            }
            if index % 1000 == 0 { _ = producer.poll(timeoutMilliseconds: 0) { if $0.error != nil { failed += 1 } } }
        }
        guard producer.flush(timeoutMilliseconds: 120_000, { if $0.error != nil { failed += 1 } }), failed == 0 else {
            throw ValidationError("Kafka did not take every record (\(failed) failed)")
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        let cpu = Double(ExactlyOnce.cpuNanos() - cpuStart) / 1e9
        let bytes = (sample.key?.count ?? 0) + (value?.count ?? 0)
        print(
            String(
                format: "kafka produce floor %12.0f rows/s  (%.2f s, %d records of %d bytes and %d headers like %@'s, "
                    + "CPU %.2f s)", Double(records) / seconds, seconds, records, bytes, sample.headers.count, like, cpu))
    }

    /// The topic's first record; its reader is gone before the producing starts.
    private static func firstRecord(of topic: String, bootstrap: String) throws -> KafkaRecord? {
        let reader = try KafkaTopicReader(bootstrapServers: bootstrap)
        _ = try reader.assign([topic])
        return try reader.next(timeoutMilliseconds: 30_000)
    }
}
