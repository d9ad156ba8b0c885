/// A librdkafka failure, with its error code kept as data.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// librdkafka's `rd_kafka_resp_err_t` value (negative codes are client-side).
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The producer queue is full: poll for delivery reports and try again.
    public var isQueueFull: Bool { code == -184 }

    /// Kafka refuses this message for good: sending it again gives the same answer (too large, not authorized, invalid).
    public var isPermanent: Bool {
        // MSG_SIZE_TOO_LARGE, INVALID_TOPIC_EXCEPTION, RECORD_LIST_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED, INVALID_RECORD
        [10, 17, 18, 29, 87].contains(code)
    }

    public var description: String { "\(message) (librdkafka error \(code))" }
}
