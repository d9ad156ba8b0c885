import Foundation
public import KafkaSink

/// Reads what the connector wrote, from the beginning of each topic.
public enum KafkaCollector {
    /// Waits for the topics to exist, then reads until `count` records arrived or the time is up.
    ///
    /// The reading blocks (librdkafka polls), so it runs on a thread of its own: the test runner has
    /// only a couple of shared threads, and a test holding one for seconds delays every other test's
    /// waits and timings.
    public static func records(
        bootstrapServers: String, topics: [String], atLeast count: Int, timeout: Duration = .seconds(180)
    ) async throws -> [KafkaRecord] {
        try await onOwnThread {
            try collect(bootstrapServers: bootstrapServers, topics: topics, atLeast: count, timeout: timeout)
        }
    }

    static func collect(
        bootstrapServers: String, topics: [String], atLeast count: Int, timeout: Duration
    ) throws -> [KafkaRecord] {
        let reader = try KafkaTopicReader(bootstrapServers: bootstrapServers)
        let deadline = ContinuousClock.now + timeout
        var pending = topics
        while !pending.isEmpty {
            pending = try pending.filter { try reader.partitionCount($0, timeoutMilliseconds: 2000) == nil }
            if pending.isEmpty { break }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError("topics \(pending) did not appear in Kafka within \(timeout)")
            }
            Thread.sleep(forTimeInterval: 0.1)
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

/// Runs blocking work on a new thread and waits for it without holding one of the shared ones.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            do {
                continuation.resume(returning: try body())
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
}
