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

    public var description: String { "\(message) (librdkafka error \(code))" }
}
