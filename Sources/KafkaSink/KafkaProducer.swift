/// A Kafka producer whose delivery reports are read by polling, each carrying the token given at send.
///
/// - Important: use from one thread at a time. `close()` flushes nothing: call `flush` first.
public final class KafkaProducer {
    /// The outcome of one message.
    public struct DeliveryReport: Sendable {
        public var token: UInt64
        /// Key and value bytes of the message.
        public var bytes: Int
        /// nil when the broker acknowledged the message.
        public var error: KafkaError?
        /// The refused message itself, filled only when `error` is set (for a dead-letter copy).
        public var refused: RefusedMessage?
    }

    /// A message Kafka did not take, as it was sent.
    public struct RefusedMessage: Sendable {
        public var topic: String
        public var key: [UInt8]?
        public var value: [UInt8]?
        public var headers: [(String, [UInt8]?)]
    }

    /// Something librdkafka reported besides deliveries: an error or a log line.
    public enum ClientEvent: Sendable {
        case error(KafkaError)
        /// A log line; `level` is syslog's (3 error, 4 warning, 6 info, 7 debug).
        case log(level: Int, facility: String, message: String)
    }

    /// Defaults that make the producer safe and Java-compatible; `kafka.properties` override them.
    public static let defaultProperties: [(String, String)] = [
        ("acks", "all"),
        ("enable.idempotence", "true"),
        // The Java client's partitioner: the same key lands on the same partition. Keyless records (truncates, tables
        // without a primary key) all go to one partition, so that a session replaying from the slot knows where each
        // one went (murmur2_random would scatter them at random).
        ("partitioner", "murmur2"),
        ("linger.ms", "5"),
        ("client.id", "tributary"),
    ]

    private let client: RDKafkaClient

    /// Creates a producer with `defaultProperties` overridden by `properties`.
    public init(properties: [(String, String)]) throws(KafkaError) {
        var merged = Self.defaultProperties.filter { key, _ in !properties.contains { $0.0 == key } }
        merged.append(contentsOf: properties)
        client = try RDKafkaClient(.producer, properties: merged)
    }

    /// The error that made the producer unusable (an idempotent producer that lost its sequence), if one did.
    /// A producer in this state refuses every message: close it and make a new one.
    public var fatalError: KafkaError? { client.fatalError }

    /// Messages produced and not yet reported.
    public var outstanding: Int { client.outstanding }

    /// Queues one message; the payloads are copied. Throws `isQueueFull` when librdkafka's queue is full.
    ///
    /// - Parameters:
    ///   - partition: nil lets the partitioner choose by key.
    ///   - timestamp: the record's timestamp in milliseconds since the epoch; nil for now.
    public func send(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [(String, [UInt8]?)] = [], partition: Int32? = nil,
        timestamp: Int64? = nil, token: UInt64, lastHeader: (name: String, value: [UInt8])? = nil
    ) throws(KafkaError) {
        try client.produce(
            topic: topic, key: key, value: value, headers: headers, partition: partition, timestamp: timestamp, token: token,
            lastHeader: lastHeader)
    }

    /// Drops every message not yet acknowledged (queued, or in flight: the broker may still write those); each is
    /// reported as failed on the next poll.
    public func purge() {
        client.purge()
    }

    /// Waits up to `timeoutMilliseconds` for events and hands every delivery report to `onDelivery`.
    /// Returns the errors and log lines librdkafka reported meanwhile (broker down, …), for logging.
    @discardableResult
    public func poll(timeoutMilliseconds: Int, _ onDelivery: (DeliveryReport) -> Void) -> [ClientEvent] {
        client.pollEvents(timeoutMilliseconds: timeoutMilliseconds) { report in
            onDelivery(DeliveryReport(token: report.token, bytes: report.bytes, error: report.error, refused: report.message))
        }
    }

    /// Waits until every queued message is reported or the time is up; reports go to `onDelivery`.
    /// Returns whether nothing is left outstanding.
    public func flush(timeoutMilliseconds: Int, _ onDelivery: (DeliveryReport) -> Void) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while outstanding > 0 {
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            poll(timeoutMilliseconds: min(100, Int((left / .milliseconds(1)).rounded(.up))), onDelivery)
        }
        return outstanding == 0
    }

    /// Asks the cluster for metadata, to check it answers; returns the broker count.
    public func brokerCount(timeoutMilliseconds: Int) throws(KafkaError) -> Int {
        try client.metadata(topic: nil, timeoutMilliseconds: timeoutMilliseconds).brokers
    }

    public func close() {
        client.close()
    }
}
