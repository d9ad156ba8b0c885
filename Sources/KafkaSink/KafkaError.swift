internal import CRdKafka

/// A librdkafka failure, with its error code kept as data.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// librdkafka's `rd_kafka_resp_err_t` value (negative codes are client-side); see `Code` for those acted on.
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The librdkafka error codes Tributary acts on, by their names in `rdkafka.h`.
    public enum Code {
        /// `RD_KAFKA_RESP_ERR_UNKNOWN`: a failure without a code of its own (a client that cannot be made, say).
        public static let unknown = RD_KAFKA_RESP_ERR_UNKNOWN.rawValue
        /// A local operation did not finish in time.
        public static let timedOut = RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue
        /// `RD_KAFKA_RESP_ERR__QUEUE_FULL`: the producer's queue is full.
        public static let queueFull = RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue
        /// `RD_KAFKA_RESP_ERR__INVALID_ARG`: a property librdkafka does not accept.
        public static let invalidArgument = RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue
        /// `RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE`
        public static let messageSizeTooLarge = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
        /// `RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION`: an invalid topic name.
        public static let invalidTopic = RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION.rawValue
        /// `RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE`
        public static let recordListTooLarge = RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE.rawValue
        /// `RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED`
        public static let topicAuthorizationFailed = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue
        /// `RD_KAFKA_RESP_ERR_INVALID_RECORD`
        public static let invalidRecord = RD_KAFKA_RESP_ERR_INVALID_RECORD.rawValue
        /// `RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION`: a record sent to a partition the topic does not have (only a
        /// record whose partition a transform chose; the partitioner picks existing ones).
        public static let unknownPartition = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION.rawValue

        /// Kafka's answer to these does not change however often the message is sent.
        public static let permanent: Set<Int32> = [
            messageSizeTooLarge, invalidTopic, recordListTooLarge, topicAuthorizationFailed, invalidRecord, unknownPartition,
        ]
    }

    /// The producer queue is full: poll for delivery reports and try again.
    public var isQueueFull: Bool { code == Code.queueFull }

    /// Kafka refuses this message for good: sending it again gives the same answer (too large, not authorized, invalid).
    public var isPermanent: Bool { Code.permanent.contains(code) }

    public var description: String { "\(message) (librdkafka error \(code))" }
}
