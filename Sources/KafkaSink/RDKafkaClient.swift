internal import CRdKafka

/// The one type that calls librdkafka: a client handle, producer or consumer, and everything done with it
/// (configuration, produce, delivery and client events, metadata, consume, headers, the mock cluster). The public
/// types of this module hold one and speak the domain; no pointer leaves this file.
///
/// - Important: use from one thread at a time.
final class RDKafkaClient {
    enum Role {
        /// Delivery reports, errors and log lines arrive as events on the main queue, read by `pollEvents`.
        case producer
        /// Reads assigned partitions; the main queue is routed to the consumer queue so one poll serves both.
        case consumer
        /// A producer that sends nothing and reads no events: the owner of a mock cluster.
        case idle
    }

    /// A message as reported back by librdkafka.
    struct Report {
        var token: UInt64
        var bytes: Int
        var error: KafkaError?
        /// The message itself, copied only for a failed one.
        var message: KafkaProducer.RefusedMessage?
    }

    private let role: Role
    private var handle: OpaquePointer?
    /// The producer's main queue.
    private var queue: OpaquePointer?
    private var topics: [String: OpaquePointer] = [:]
    /// The topic of the previous message: consecutive messages mostly go to the same one, and hashing its name for
    /// every message shows in profiles.
    private var lastTopic: (name: String, handle: OpaquePointer)?
    /// Where delivery reports are read, kept from poll to poll (a new one per report event was an 8 kB allocation for
    /// every few records).
    private var reportBuffer: [UnsafePointer<rd_kafka_message_t>?] = []

    init(_ role: Role, properties: [(String, String)]) throws(KafkaError) {
        self.role = role
        let conf = try Self.configuration(role == .producer ? properties + [("log.queue", "true")] : properties)
        if role == .producer {
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_LOG))
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let type = role == .consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER
        guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            // rd_kafka_new takes the configuration over only when it succeeds.
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: KafkaError.Code.unknown, message: "cannot create Kafka client: \(Self.text(errorBuffer))")
        }
        self.handle = handle
        switch role {
        case .producer:
            queue = rd_kafka_queue_get_main(handle)
            // NULL routes log lines to the main queue.
            rd_kafka_set_log_queue(handle, nil)
        case .consumer:
            rd_kafka_poll_set_consumer(handle)
        case .idle:
            break
        }
    }

    deinit {
        close()
    }

    /// Builds an `rd_kafka_conf_t`; a property librdkafka refuses is named, with a secret value never repeated.
    private static func configuration(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: KafkaError.Code.unknown, message: "rd_kafka_conf_new failed")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            guard rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count) != RD_KAFKA_CONF_OK else { continue }
            rd_kafka_conf_destroy(conf)
            var reason = text(errorBuffer)
            if isSecret(key), !value.isEmpty { reason = reason.replacing(value, with: "****") }
            throw KafkaError(code: KafkaError.Code.invalidArgument, message: "Kafka property \(key): \(reason)")
        }
        return conf
    }

    /// Properties whose values must never appear in a message (passwords, keys, JAAS configs).
    static func isSecret(_ key: String) -> Bool {
        ["password", "secret", "jaas", "ssl.key.pem", "private.key", "token"].contains { key.contains($0) }
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(rawValue: code)))
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func error(_ code: rd_kafka_resp_err_t, _ context: String) -> KafkaError {
        KafkaError(code: code.rawValue, message: "\(context): \(errorText(code.rawValue))")
    }

    private func open() throws(KafkaError) -> OpaquePointer {
        guard let handle else { throw KafkaError(code: KafkaError.Code.unknown, message: "the Kafka client is closed") }
        return handle
    }

    // MARK: Producer

    /// The error that made the producer unusable, if one did. Checked before every send, so the common answer (none)
    /// costs no buffer.
    var fatalError: KafkaError? {
        guard let handle, rd_kafka_fatal_error(handle, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        return KafkaError(code: code.rawValue, message: "fatal: " + Self.text(buffer))
    }

    /// Messages produced and not yet reported.
    var outstanding: Int {
        handle.map { Int(rd_kafka_outq_len($0)) } ?? 0
    }

    private func topic(_ name: String) throws(KafkaError) -> OpaquePointer {
        if let lastTopic, lastTopic.name == name { return lastTopic.handle }
        if let existing = topics[name] {
            lastTopic = (name, existing)
            return existing
        }
        guard let topic = rd_kafka_topic_new(try open(), name, nil) else {
            throw KafkaError(code: KafkaError.Code.unknown, message: "cannot create topic handle for \(name)")
        }
        topics[name] = topic
        lastTopic = (name, topic)
        return topic
    }

    /// Queues one message; the payloads and headers are copied.
    func produce(
        topic name: String, key: [UInt8]?, value: [UInt8]?, headers: [(String, [UInt8]?)], partition: Int32?,
        timestamp: Int64?, token: UInt64, lastHeader: (name: String, value: [UInt8])? = nil
    ) throws(KafkaError) {
        let handle = try open()
        let topic = try topic(name)
        var nativeHeaders: OpaquePointer? = nil
        if !headers.isEmpty || lastHeader != nil {
            nativeHeaders = rd_kafka_headers_new(headers.count + 1)
            // Names through withCString: passed as a String argument, each was copied into a new array per record.
            for (headerName, headerValue) in headers {
                headerName.withCString { name in
                    if let headerValue {
                        headerValue.withUnsafeBytes {
                            _ = rd_kafka_header_add(nativeHeaders, name, -1, $0.baseAddress, $0.count)
                        }
                    } else {
                        _ = rd_kafka_header_add(nativeHeaders, name, -1, nil, 0)
                    }
                }
            }
            if let lastHeader {
                lastHeader.name.withCString { name in
                    lastHeader.value.withUnsafeBytes {
                        _ = rd_kafka_header_add(nativeHeaders, name, -1, $0.baseAddress, $0.count)
                    }
                }
            }
        }
        let opaque = UnsafeMutableRawPointer(bitPattern: UInt(token))
        let result = withOptionalBytes(key) { keyPointer, keyCount in
            withOptionalBytes(value) { valuePointer, valueCount in
                tributary_produce(
                    handle, topic, partition ?? RD_KAFKA_PARTITION_UA, timestamp ?? 0, keyPointer, keyCount, valuePointer,
                    valueCount, nativeHeaders, opaque)
            }
        }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            // On failure the headers are still ours.
            if let nativeHeaders { rd_kafka_headers_destroy(nativeHeaders) }
            throw Self.error(result, "produce to \(name) failed")
        }
    }

    private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let bytes else { return body(nil, 0) }
        return bytes.withUnsafeBytes { body($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), $0.count) }
    }

    /// Waits up to `timeoutMilliseconds` for the producer's events; hands every delivery report to `onReport` and
    /// returns the errors and log lines librdkafka reported meanwhile.
    func pollEvents(timeoutMilliseconds: Int, _ onReport: (Report) -> Void) -> [KafkaProducer.ClientEvent] {
        guard let queue else { return [] }
        var clientEvents: [KafkaProducer.ClientEvent] = []
        var timeout = Int32(clamping: timeoutMilliseconds)
        while let event = rd_kafka_queue_poll(queue, timeout) {
            defer { rd_kafka_event_destroy(event) }
            timeout = 0
            switch rd_kafka_event_type(event) {
            case Int32(RD_KAFKA_EVENT_DR):
                // Taken out while in use: a report handler that polls again gets a buffer of its own.
                var messages = reportBuffer.isEmpty ? .init(repeating: nil, count: 1024) : reportBuffer
                reportBuffer = []
                defer { reportBuffer = messages }
                while true {
                    let count = rd_kafka_event_message_array(event, &messages, messages.count)
                    if count == 0 { break }
                    for message in messages[0..<count] {
                        guard let message else { continue }
                        let token = UInt64(UInt(bitPattern: message.pointee._private))
                        let error = message.pointee.err
                        let bytes = message.pointee.len + message.pointee.key_len
                        guard error != RD_KAFKA_RESP_ERR_NO_ERROR else {
                            onReport(Report(token: token, bytes: bytes, error: nil, message: nil))
                            continue
                        }
                        onReport(
                            Report(
                                token: token, bytes: bytes,
                                error: KafkaError(code: error.rawValue, message: Self.errorText(error.rawValue)),
                                message: Self.copy(message)))
                    }
                }
            case Int32(RD_KAFKA_EVENT_ERROR):
                let code = rd_kafka_event_error(event)
                let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? Self.errorText(code.rawValue)
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
    private static func copy(_ message: UnsafePointer<rd_kafka_message_t>) -> KafkaProducer.RefusedMessage {
        let topic = message.pointee.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) } ?? ""
        return KafkaProducer.RefusedMessage(
            topic: topic, key: bytes(message.pointee.key, message.pointee.key_len),
            value: bytes(message.pointee.payload, message.pointee.len), headers: headers(message))
    }

    private static func bytes(_ pointer: UnsafeRawPointer?, _ count: Int) -> [UInt8]? {
        guard let pointer else { return nil }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A message's headers, in order.
    private static func headers(_ message: UnsafePointer<rd_kafka_message_t>) -> [(String, [UInt8]?)] {
        var headers: [(String, [UInt8]?)] = []
        var list: OpaquePointer? = nil
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var index = 0
        var name: UnsafePointer<CChar>? = nil
        var value: UnsafeRawPointer? = nil
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            if let name { headers.append((String(cString: name), bytes(value, size))) }
            index += 1
        }
        return headers
    }

    // MARK: Metadata

    /// The cluster's broker count, and the partition count of `topic` when one is named (nil while it does not exist).
    func metadata(topic: String?, timeoutMilliseconds: Int) throws(KafkaError) -> (brokers: Int, partitions: Int?) {
        let handle = try open()
        let topicHandle = topic.flatMap { rd_kafka_topic_new(handle, $0, nil) }
        defer { topicHandle.map { rd_kafka_topic_destroy($0) } }
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        let result = rd_kafka_metadata(handle, 0, topicHandle, &metadata, Int32(clamping: timeoutMilliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw Self.error(result, topic.map { "metadata for \($0)" } ?? "Kafka did not answer")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let brokers = Int(metadata.pointee.broker_cnt)
        guard topic != nil, metadata.pointee.topic_cnt > 0 else { return (brokers, nil) }
        let topicMetadata = metadata.pointee.topics[0]
        guard topicMetadata.err == RD_KAFKA_RESP_ERR_NO_ERROR, topicMetadata.partition_cnt > 0 else { return (brokers, nil) }
        return (brokers, Int(topicMetadata.partition_cnt))
    }

    /// The partition count of each of `topics` that exists, asked in one request: the client's own topic handles are
    /// the topics librdkafka asks about when given none.
    func partitionCounts(topics: [String], timeoutMilliseconds: Int) throws(KafkaError) -> [String: Int] {
        guard !topics.isEmpty else { return [:] }
        for topic in topics { _ = try self.topic(topic) }
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        let result = rd_kafka_metadata(try open(), 0, nil, &metadata, Int32(clamping: timeoutMilliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw Self.error(result, "metadata for \(topics.count) topics")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let wanted = Set(topics)
        var counts: [String: Int] = [:]
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            let name = String(cString: entry.topic)
            guard wanted.contains(name), entry.err == RD_KAFKA_RESP_ERR_NO_ERROR, entry.partition_cnt > 0 else { continue }
            counts[name] = Int(entry.partition_cnt)
        }
        return counts
    }

    // MARK: Consumer

    /// Where an assigned partition starts.
    enum StartOffset: Equatable {
        case beginning, end
        /// This many records before the end (the whole partition when it holds fewer).
        case tail(Int)
        /// This offset.
        case offset(Int64)
    }

    /// The first and next offsets (low and high watermarks) of each partition, in two requests whatever their number;
    /// nil for a partition Kafka reported an error for.
    func watermarks(
        _ partitions: [(topic: String, partition: Int)], timeoutMilliseconds: Int
    ) throws(KafkaError)
        -> [(low: Int64, high: Int64)?]
    {
        guard !partitions.isEmpty else { return [] }
        let handle = try open()
        // A ListOffsets "timestamp" of -2 asks for the earliest offset, -1 for the latest.
        func ask(_ timestamp: Int64) throws(KafkaError) -> [Int64?] {
            guard let list = rd_kafka_topic_partition_list_new(Int32(clamping: partitions.count)) else {
                throw KafkaError(code: KafkaError.Code.unknown, message: "cannot make a partition list")
            }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (topic, partition) in partitions {
                rd_kafka_topic_partition_list_add(list, topic, Int32(partition))?.pointee.offset = timestamp
            }
            let result = rd_kafka_offsets_for_times(handle, list, Int32(clamping: timeoutMilliseconds))
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw Self.error(result, "the offsets of \(partitions.count) partitions")
            }
            return (0..<Int(list.pointee.cnt)).map { index in
                let entry = list.pointee.elems[index]
                return entry.err == RD_KAFKA_RESP_ERR_NO_ERROR && entry.offset >= 0 ? entry.offset : nil
            }
        }
        let lows = try ask(-2)
        let highs = try ask(-1)
        return zip(lows, highs).map { low, high in
            guard let low, let high else { return nil }
            return (low, high)
        }
    }

    /// Assigns these partitions (replacing any earlier assignment).
    func assign(_ partitions: [(topic: String, partition: Int, from: StartOffset)]) throws(KafkaError) {
        let handle = try open()
        let list = rd_kafka_topic_partition_list_new(Int32(clamping: max(partitions.count, 1)))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (topic, partition, from) in partitions {
            let entry = rd_kafka_topic_partition_list_add(list, topic, Int32(partition))
            switch from {
            case .beginning: entry?.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            case .end: entry?.pointee.offset = Int64(RD_KAFKA_OFFSET_END)
            // RD_KAFKA_OFFSET_TAIL(n), a C macro Swift does not import.
            case .tail(let count): entry?.pointee.offset = Int64(RD_KAFKA_OFFSET_TAIL_BASE) - Int64(max(count, 1))
            case .offset(let offset): entry?.pointee.offset = offset
            }
        }
        let result = rd_kafka_assign(handle, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw Self.error(result, "assign failed") }
    }

    /// What one poll of a consumer found.
    enum Consumed {
        case record(KafkaRecord)
        /// The consumer read to the end of this partition (with `enable.partition.eof`).
        case endOfPartition(topic: String, partition: Int)
    }

    /// The next record of the assigned partitions, or nil if none arrives within the timeout.
    func consume(timeoutMilliseconds: Int) throws(KafkaError) -> KafkaRecord? {
        guard case .record(let record) = try consumeEvent(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
        return record
    }

    /// The next record or end of a partition, or nil if neither arrives within the timeout.
    func consumeEvent(timeoutMilliseconds: Int) throws(KafkaError) -> Consumed? {
        let handle = try open()
        guard let message = rd_kafka_consumer_poll(handle, Int32(clamping: timeoutMilliseconds)) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let error = message.pointee.err
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            if error == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                let topic = message.pointee.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) } ?? ""
                return .endOfPartition(topic: topic, partition: Int(message.pointee.partition))
            }
            throw Self.error(error, "consume failed")
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return .record(
            KafkaRecord(
                topic: String(cString: rd_kafka_topic_name(message.pointee.rkt)), partition: Int(message.pointee.partition),
                offset: message.pointee.offset, key: Self.bytes(message.pointee.key, message.pointee.key_len),
                value: Self.bytes(message.pointee.payload, message.pointee.len),
                headers: Dictionary(Self.headers(message), uniquingKeysWith: { _, last in last }),
                timestamp: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp))
    }

    /// Drops the messages a producer has not had acknowledged: queued ones, and those in flight (whose requests the
    /// broker may still carry out). Each is reported as failed.
    func purge() {
        guard let handle, role == .producer else { return }
        _ = rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
    }

    // MARK: Closing

    /// Releases the client. A producer drops what it has not sent (the session that sent it did not confirm it), and
    /// events left on its queue are freed first: nothing may still hold the client when it is destroyed.
    func close() {
        for topic in topics.values { rd_kafka_topic_destroy(topic) }
        topics.removeAll()
        lastTopic = nil
        guard let handle else { return }
        switch role {
        case .producer:
            _ = rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            if let queue {
                while let event = rd_kafka_queue_poll(queue, 0) { rd_kafka_event_destroy(event) }
                rd_kafka_queue_destroy(queue)
            }
            queue = nil
        case .consumer:
            rd_kafka_consumer_close(handle)
        case .idle:
            break
        }
        rd_kafka_destroy(handle)
        self.handle = nil
    }

    // MARK: Mock cluster

    /// librdkafka's mock cluster, owned by this client (an idle producer serves).
    final class MockCluster {
        private var owner: RDKafkaClient?
        private var cluster: OpaquePointer?
        let bootstrapServers: String

        init(brokers: Int) throws(KafkaError) {
            let owner = try RDKafkaClient(.idle, properties: [("client.id", "tributary-embedded-kafka"), ("log_level", "3")])
            guard let handle = owner.handle, let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
                throw KafkaError(code: KafkaError.Code.unknown, message: "cannot start the embedded Kafka cluster")
            }
            self.owner = owner
            self.cluster = cluster
            bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        }

        deinit {
            close()
        }

        func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws(KafkaError) {
            guard let cluster else { throw KafkaError(code: KafkaError.Code.unknown, message: "embedded Kafka is closed") }
            let result = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaClient.error(result, "cannot create topic \(name)") }
        }

        func setBroker(_ id: Int, up: Bool) {
            guard let cluster else { return }
            _ = up ? rd_kafka_mock_broker_set_up(cluster, Int32(id)) : rd_kafka_mock_broker_set_down(cluster, Int32(id))
        }

        func setRoundTripTime(milliseconds: Int, broker id: Int) {
            if let cluster { _ = rd_kafka_mock_broker_set_rtt(cluster, Int32(id), Int32(milliseconds)) }
        }

        func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
            guard let cluster else { return }
            var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, &codes)
        }

        func close() {
            if let cluster {
                rd_kafka_mock_cluster_destroy(cluster)
                self.cluster = nil
            }
            owner?.close()
            owner = nil
        }
    }
}
