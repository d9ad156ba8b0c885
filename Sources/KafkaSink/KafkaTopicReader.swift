internal import CRdKafka

/// One record read back from Kafka.
public struct KafkaRecord: Sendable, Equatable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [String: [UInt8]]

    public init(topic: String, partition: Int, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [String: [UInt8]]) {
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
    private var handle: OpaquePointer?

    public init(bootstrapServers: String, properties: [(String, String)] = []) throws(KafkaError) {
        let conf = try RDKafkaConfig.make(
            [
                ("bootstrap.servers", bootstrapServers),
                ("group.id", "tributary-reader"),
                ("enable.auto.commit", "false"),
                ("enable.partition.eof", "false"),
                ("auto.offset.reset", "earliest"),
                ("client.id", "tributary-reader"),
                // Ask again soon when a fetch comes back short, instead of idling half a second.
                ("fetch.wait.max.ms", "10"),
            ] + properties)
        handle = try RDKafkaConfig.client(RD_KAFKA_CONSUMER, conf: conf)
        // Route the main queue to the consumer queue so one poll serves both.
        rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        if let handle {
            rd_kafka_consumer_close(handle)
            rd_kafka_destroy(handle)
        }
    }

    /// Partition count of `topic`, or nil while the topic does not exist.
    public func partitionCount(_ topic: String, timeoutMilliseconds: Int = 5000) throws(KafkaError) -> Int? {
        guard let handle else { throw KafkaError(code: KafkaError.Code.unknown, message: "reader is closed") }
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else { return nil }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        let result = rd_kafka_metadata(handle, 0, topicHandle, &metadata, Int32(clamping: timeoutMilliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code: result.rawValue, message: "metadata for \(topic): \(RDKafkaConfig.errorText(result))")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { return nil }
        let topicMetadata = metadata.pointee.topics[0]
        guard topicMetadata.err == RD_KAFKA_RESP_ERR_NO_ERROR, topicMetadata.partition_cnt > 0 else { return nil }
        return Int(topicMetadata.partition_cnt)
    }

    /// Assigns every partition of `topics` from the beginning (or the end); topics that do not exist yet are skipped.
    /// Returns the topics assigned.
    @discardableResult
    public func assign(_ topics: [String], fromEnd: Bool = false) throws(KafkaError) -> [String] {
        guard let handle else { throw KafkaError(code: KafkaError.Code.unknown, message: "reader is closed") }
        var assigned: [String] = []
        let list = rd_kafka_topic_partition_list_new(16)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            guard let count = try partitionCount(topic) else { continue }
            for partition in 0..<count {
                let entry = rd_kafka_topic_partition_list_add(list, topic, Int32(partition))
                entry?.pointee.offset = Int64(fromEnd ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING)
            }
            assigned.append(topic)
        }
        let result = rd_kafka_assign(handle, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: result.rawValue, message: "assign failed: \(RDKafkaConfig.errorText(result))")
        }
        return assigned
    }

    /// The next record, or nil if none arrives within the timeout.
    public func next(timeoutMilliseconds: Int) throws(KafkaError) -> KafkaRecord? {
        guard let handle else { throw KafkaError(code: KafkaError.Code.unknown, message: "reader is closed") }
        guard let message = rd_kafka_consumer_poll(handle, Int32(clamping: timeoutMilliseconds)) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let error = message.pointee.err
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            if error == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            throw KafkaError(code: error.rawValue, message: "consume failed: \(RDKafkaConfig.errorText(error))")
        }
        let topic = String(cString: rd_kafka_topic_name(message.pointee.rkt))
        let key = message.pointee.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len)) }
        let value = message.pointee.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.pointee.len)) }
        var headers: [String: [UInt8]] = [:]
        var native: OpaquePointer? = nil
        if rd_kafka_message_headers(message, &native) == RD_KAFKA_RESP_ERR_NO_ERROR, let native {
            var index = 0
            var name: UnsafePointer<CChar>? = nil
            var headerValue: UnsafeRawPointer? = nil
            var size = 0
            while rd_kafka_header_get_all(native, index, &name, &headerValue, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers[String(cString: name)] =
                        headerValue.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                }
                index += 1
            }
        }
        return KafkaRecord(
            topic: topic, partition: Int(message.pointee.partition), offset: message.pointee.offset,
            key: key, value: value, headers: headers)
    }
}
