internal import CRdKafka

/// A librdkafka producer whose delivery reports are read by polling, each carrying the token given at send.
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
        public var headers: [(String, [UInt8])]
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
        // The Java client's partitioner: the same key lands on the same partition.
        ("partitioner", "murmur2_random"),
        ("linger.ms", "5"),
        ("client.id", "tributary"),
    ]

    private var handle: OpaquePointer?
    private let queue: OpaquePointer
    private var topics: [String: OpaquePointer] = [:]
    private var errorMessages: [String] = []

    /// Creates a producer with `defaultProperties` overridden by `properties`.
    public init(properties: [(String, String)]) throws(KafkaError) {
        var merged = Self.defaultProperties.filter { key, _ in !properties.contains { $0.0 == key } }
        merged.append(contentsOf: properties)
        let conf = try RDKafkaConfig.make(merged + [("log.queue", "true")])
        // Delivery reports, errors and log lines arrive as events on the main queue, read by `poll`.
        rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_LOG))
        let handle = try RDKafkaConfig.client(RD_KAFKA_PRODUCER, conf: conf)
        self.handle = handle
        queue = rd_kafka_queue_get_main(handle)
        // NULL routes log lines to the main queue.
        rd_kafka_set_log_queue(handle, nil)
    }

    deinit {
        close()
    }

    /// The error that made the producer unusable (an idempotent producer that lost its sequence), if one did.
    /// A producer in this state refuses every message: close it and make a new one.
    /// Checked before every send, so the common answer (none) costs no buffer.
    public var fatalError: KafkaError? {
        guard let handle, rd_kafka_fatal_error(handle, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        return KafkaError(
            code: code.rawValue,
            message: "fatal: " + String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Messages produced and not yet reported.
    public var outstanding: Int {
        handle.map { Int(rd_kafka_outq_len($0)) } ?? 0
    }

    /// The topic of the previous message: consecutive messages mostly go to the same one, and hashing its name for
    /// every message shows in profiles.
    private var lastTopic: (name: String, handle: OpaquePointer)?

    private func topic(_ name: String) throws(KafkaError) -> OpaquePointer {
        if let lastTopic, lastTopic.name == name { return lastTopic.handle }
        if let existing = topics[name] {
            lastTopic = (name, existing)
            return existing
        }
        guard let handle, let topic = rd_kafka_topic_new(handle, name, nil) else {
            throw KafkaError(code: KafkaError.Code.unknown, message: "cannot create topic handle for \(name)")
        }
        topics[name] = topic
        lastTopic = (name, topic)
        return topic
    }

    /// Queues one message; the payloads are copied. Throws `isQueueFull` when librdkafka's queue is full.
    public func send(
        topic name: String, key: [UInt8]?, value: [UInt8]?, headers: [(String, [UInt8])] = [], token: UInt64
    ) throws(KafkaError) {
        guard let handle else { throw KafkaError(code: KafkaError.Code.unknown, message: "producer is closed") }
        let topic = try topic(name)
        var nativeHeaders: OpaquePointer? = nil
        if !headers.isEmpty {
            nativeHeaders = rd_kafka_headers_new(headers.count)
            for (headerName, headerValue) in headers {
                headerValue.withUnsafeBytes { _ = rd_kafka_header_add(nativeHeaders, headerName, -1, $0.baseAddress, $0.count) }
            }
        }
        let opaque = UnsafeMutableRawPointer(bitPattern: UInt(token))
        let result = withOptionalBytes(key) { keyPointer, keyCount in
            withOptionalBytes(value) { valuePointer, valueCount in
                tributary_produce(handle, topic, keyPointer, keyCount, valuePointer, valueCount, nativeHeaders, opaque)
            }
        }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            // On failure the headers are still ours.
            if let nativeHeaders { rd_kafka_headers_destroy(nativeHeaders) }
            throw KafkaError(code: result.rawValue, message: "produce to \(name) failed: \(RDKafkaConfig.errorText(result))")
        }
    }

    private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let bytes else { return body(nil, 0) }
        return bytes.withUnsafeBytes { body($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), $0.count) }
    }

    /// Waits up to `timeoutMilliseconds` for events and hands every delivery report to `onDelivery`.
    /// Returns the errors and log lines librdkafka reported meanwhile (broker down, …), for logging.
    @discardableResult
    public func poll(timeoutMilliseconds: Int, _ onDelivery: (DeliveryReport) -> Void) -> [ClientEvent] {
        var clientEvents: [ClientEvent] = []
        var timeout = Int32(clamping: timeoutMilliseconds)
        while let event = rd_kafka_queue_poll(queue, timeout) {
            defer { rd_kafka_event_destroy(event) }
            timeout = 0
            switch rd_kafka_event_type(event) {
            case Int32(RD_KAFKA_EVENT_DR):
                var messages = [UnsafePointer<rd_kafka_message_t>?](repeating: nil, count: 1024)
                while true {
                    let count = rd_kafka_event_message_array(event, &messages, messages.count)
                    if count == 0 { break }
                    for message in messages[0..<count] {
                        guard let message else { continue }
                        let token = UInt64(UInt(bitPattern: message.pointee._private))
                        let error = message.pointee.err
                        let bytes = message.pointee.len + message.pointee.key_len
                        guard error != RD_KAFKA_RESP_ERR_NO_ERROR else {
                            onDelivery(DeliveryReport(token: token, bytes: bytes, error: nil, refused: nil))
                            continue
                        }
                        onDelivery(
                            DeliveryReport(
                                token: token, bytes: bytes,
                                error: KafkaError(code: error.rawValue, message: RDKafkaConfig.errorText(error)),
                                refused: Self.copy(message)))
                    }
                }
            case Int32(RD_KAFKA_EVENT_ERROR):
                let code = rd_kafka_event_error(event)
                let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? RDKafkaConfig.errorText(code)
                let fatal = rd_kafka_event_error_is_fatal(event) != 0
                clientEvents.append(.error(KafkaError(code: code.rawValue, message: fatal ? "fatal: \(text)" : text)))
            case Int32(RD_KAFKA_EVENT_LOG):
                var facility: UnsafePointer<CChar>? = nil
                var text: UnsafePointer<CChar>? = nil
                var level: Int32 = 0
                if rd_kafka_event_log(event, &facility, &text, &level) == 0 {
                    clientEvents.append(
                        .log(
                            level: Int(level), facility: facility.map { String(cString: $0) } ?? "",
                            message: text.map { String(cString: $0) } ?? ""))
                }
            default:
                break
            }
        }
        return clientEvents
    }

    /// Copies a reported message out of librdkafka's memory.
    private static func copy(_ message: UnsafePointer<rd_kafka_message_t>) -> RefusedMessage {
        let topic = message.pointee.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) } ?? ""
        func bytes(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8]? {
            guard let pointer else { return nil }
            return Array(UnsafeRawBufferPointer(start: pointer, count: count))
        }
        var headers: [(String, [UInt8])] = []
        var list: OpaquePointer? = nil
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>? = nil
            var value: UnsafeRawPointer? = nil
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers.append(
                        (String(cString: name), value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
                }
                index += 1
            }
        }
        return RefusedMessage(
            topic: topic, key: bytes(message.pointee.key, message.pointee.key_len),
            value: bytes(message.pointee.payload, message.pointee.len), headers: headers)
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
        guard let handle else { throw KafkaError(code: KafkaError.Code.unknown, message: "producer is closed") }
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        let result = rd_kafka_metadata(handle, 0, nil, &metadata, Int32(clamping: timeoutMilliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code: result.rawValue, message: "Kafka did not answer: \(RDKafkaConfig.errorText(result))")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        return Int(metadata.pointee.broker_cnt)
    }

    public func close() {
        for topic in topics.values { rd_kafka_topic_destroy(topic) }
        topics.removeAll()
        lastTopic = nil
        if let handle {
            // Nothing may still hold the client when it is destroyed: messages not yet sent are dropped (the
            // session that sent them did not confirm them), and events left on the queue are freed first.
            _ = rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            while let event = rd_kafka_queue_poll(queue, 0) { rd_kafka_event_destroy(event) }
            rd_kafka_queue_destroy(queue)
            rd_kafka_destroy(handle)
            self.handle = nil
        }
    }
}
