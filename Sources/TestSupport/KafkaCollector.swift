public import KafkaSink

/// Reads what the connector wrote, from the beginning of each topic.
public enum KafkaCollector {
    /// Waits for the topics to exist, then reads until `count` records arrived or the time is up.
    public static func records(
        bootstrapServers: String, topics: [String], atLeast count: Int, timeout: Duration = .seconds(180)
    ) async throws -> [KafkaRecord] {
        let reader = try KafkaTopicReader(bootstrapServers: bootstrapServers)
        let deadline = ContinuousClock.now + timeout
        var pending = topics
        while !pending.isEmpty {
            pending = try pending.filter { try reader.partitionCount($0, timeoutMilliseconds: 2000) == nil }
            if pending.isEmpty { break }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError("topics \(pending) did not appear in Kafka within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try reader.assign(topics)
        var records: [KafkaRecord] = []
        while records.count < count && ContinuousClock.now < deadline {
            if let record = try reader.next(timeoutMilliseconds: 200) { records.append(record) }
        }
        // Anything more that is there (duplicates, unexpected events, the tail of a busy topic) is read too,
        // until the topics stay quiet for two seconds: a loaded machine can pause a fetch for a while.
        while let record = try reader.next(timeoutMilliseconds: 2000) { records.append(record) }
        return records
    }
}
