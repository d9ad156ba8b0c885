/// Reads the end of every partition of some topics, to find the last record there that passes a test (the last record a
/// connector wrote, among records other producers may have added after it).
///
/// Each partition is read from a few records before its end; one whose window holds no such record is read again from
/// further back (64, 4,096, 262,144 records, then from its beginning). All partitions are read at once, so the time
/// grows with the records read rather than with round trips per partition.
///
/// - Important: use from one thread at a time.
public final class KafkaTailReader {
    private let client: RDKafkaClient

    public init(bootstrapServers: String, properties: [(String, String)] = []) throws(KafkaError) {
        // Producer settings a connector file carries are not a consumer's: librdkafka would warn about each.
        let producerOnly: Set<String> = [
            "acks", "enable.idempotence", "partitioner", "linger.ms", "queue.buffering.max.ms", "compression.type",
            "compression.codec", "batch.size", "batch.num.messages", "message.timeout.ms", "delivery.timeout.ms",
            "request.required.acks", "retries", "message.send.max.retries", "retry.backoff.ms", "max.in.flight",
            "max.in.flight.requests.per.connection", "queue.buffering.max.messages", "queue.buffering.max.kbytes",
            "enable.gapless.guarantee", "transactional.id", "request.timeout.ms", "sticky.partitioning.linger.ms",
        ]
        client = try RDKafkaClient(
            .consumer,
            properties: [("bootstrap.servers", bootstrapServers)]
                + properties.filter { !producerOnly.contains($0.0) && $0.0 != "client.id" }
                + [
                    ("group.id", "tributary-tail-reader"),
                    ("client.id", "tributary-tail-reader"),
                    ("enable.auto.commit", "false"),
                    ("enable.partition.eof", "true"),
                    ("auto.offset.reset", "earliest"),
                    ("fetch.wait.max.ms", "10"),
                ])
    }

    /// The windows read, records before each partition's end; nil is the whole partition.
    static let windows: [Int?] = [1, 64, 4096, 262_144, nil]

    /// For each topic that exists, one entry per partition: the value of header `header` on the last record whose value
    /// of that header `accept` takes, or nil when the partition holds none.
    public func lastHeaders(
        topics: [String], header: String, accept: ([UInt8]) -> Bool, timeoutMilliseconds: Int
    ) throws(KafkaError) -> [String: [[UInt8]?]] {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        var result: [String: [[UInt8]?]] = [:]
        var partitions: [PartitionKey] = []
        let counts = try client.partitionCounts(topics: topics, timeoutMilliseconds: timeoutMilliseconds)
        for topic in topics {
            guard let count = counts[topic], result[topic] == nil else { continue }
            result[topic] = Array(repeating: nil, count: count)
            partitions += (0..<count).map { PartitionKey(topic: topic, partition: $0) }
        }
        // Empty partitions are left out: a consumer learns that one is empty only after a fetch that waits.
        let marks = try client.watermarks(partitions.map { ($0.topic, $0.partition) }, timeoutMilliseconds: timeoutMilliseconds)
        var pending: [PartitionKey] = []
        var ranges: [PartitionKey: (low: Int64, high: Int64)] = [:]
        for (key, mark) in zip(partitions, marks) {
            // A partition whose offsets Kafka did not give is read the slow way, from its tail.
            guard let mark else {
                pending.append(key)
                continue
            }
            guard mark.high > mark.low else { continue }
            ranges[key] = mark
            pending.append(key)
        }
        for window in Self.windows where !pending.isEmpty {
            try client.assign(
                pending.map { key in
                    guard let window else { return (key.topic, key.partition, .beginning) }
                    guard let range = ranges[key] else { return (key.topic, key.partition, .tail(window)) }
                    return (key.topic, key.partition, .offset(max(range.low, range.high - Int64(window))))
                })
            var read: [PartitionKey: Int] = [:]
            var found: [PartitionKey: [UInt8]] = [:]
            var open = Set(pending)
            while !open.isEmpty {
                let left = deadline - ContinuousClock.now
                guard left > .zero else {
                    throw KafkaError(
                        code: KafkaError.Code.timedOut,
                        message: "reading back the end of \(open.count) partitions of \(topics.count) topics timed out")
                }
                guard let event = try client.consumeEvent(timeoutMilliseconds: min(100, Int(left / .milliseconds(1)) + 1))
                else { continue }
                switch event {
                case .record(let record):
                    let key = PartitionKey(topic: record.topic, partition: record.partition)
                    read[key, default: 0] += 1
                    if let value = record.headers[header] ?? nil, accept(value) { found[key] = value }
                case .endOfPartition(let topic, let partition):
                    open.remove(PartitionKey(topic: topic, partition: partition))
                }
            }
            pending = pending.filter { key in
                if let value = found[key] {
                    result[key.topic]?[key.partition] = value
                    return false
                }
                // Fewer records than the window: the partition was read from its beginning.
                guard let window else { return false }
                return read[key, default: 0] >= window
            }
        }
        try client.assign([])
        return result
    }

    private struct PartitionKey: Hashable {
        var topic: String
        var partition: Int
    }

    public func close() {
        client.close()
    }
}
