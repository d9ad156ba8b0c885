/// One record read back from Kafka.
public struct KafkaRecord: Sendable, Equatable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    /// A header whose value is null maps to nil.
    public var headers: [String: [UInt8]?]
    /// The record's timestamp in milliseconds since the epoch, when it has one.
    public var timestamp: Int64?

    public init(
        topic: String, partition: Int, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [String: [UInt8]?],
        timestamp: Int64? = nil
    ) {
        self.timestamp = timestamp
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }

    public var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueText: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

/// Reads topics from the beginning, every partition, without a consumer group.
///
/// - Important: use from one thread at a time.
public final class KafkaTopicReader {
    private let client: RDKafkaClient

    public init(bootstrapServers: String, properties: [(String, String)] = []) throws(KafkaError) {
        client = try RDKafkaClient(
            .consumer,
            properties: [
                ("bootstrap.servers", bootstrapServers),
                ("group.id", "tributary-reader"),
                ("enable.auto.commit", "false"),
                ("enable.partition.eof", "false"),
                ("auto.offset.reset", "earliest"),
                ("client.id", "tributary-reader"),
                // Ask again soon when a fetch comes back short, instead of idling half a second.
                ("fetch.wait.max.ms", "10"),
            ] + properties)
    }

    /// Partition count of `topic`, or nil while the topic does not exist.
    public func partitionCount(_ topic: String, timeoutMilliseconds: Int = 5000) throws(KafkaError) -> Int? {
        try client.metadata(topic: topic, timeoutMilliseconds: timeoutMilliseconds).partitions
    }

    /// Assigns every partition of `topics` from the beginning (or the end); topics that do not exist yet are skipped.
    /// Returns the topics assigned.
    @discardableResult
    public func assign(_ topics: [String], fromEnd: Bool = false) throws(KafkaError) -> [String] {
        var assigned: [String] = []
        var partitions: [(topic: String, partition: Int, from: RDKafkaClient.StartOffset)] = []
        for topic in topics {
            guard let count = try partitionCount(topic) else { continue }
            partitions += (0..<count).map { (topic, $0, fromEnd ? .end : .beginning) }
            assigned.append(topic)
        }
        try client.assign(partitions)
        return assigned
    }

    /// Assigns one partition of `topic` from `offset` (nil: its beginning); false while the topic does not exist.
    public func assign(topic: String, partition: Int, from offset: Int64?) throws(KafkaError) -> Bool {
        guard let count = try partitionCount(topic), partition < count else { return false }
        try client.assign([(topic, partition, offset.map { .offset($0) } ?? .beginning)])
        return true
    }

    /// The next record, or nil if none arrives within the timeout.
    public func next(timeoutMilliseconds: Int) throws(KafkaError) -> KafkaRecord? {
        try client.consume(timeoutMilliseconds: timeoutMilliseconds)
    }
}
