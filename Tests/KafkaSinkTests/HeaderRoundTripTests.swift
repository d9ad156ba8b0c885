import KafkaSink
import Testing

/// Headers reach the broker as sent: a null header value stays null, not an empty or "null" text.
@Suite struct HeaderRoundTripTests {
    @Test func aNullHeaderValueStaysNull() throws {
        let kafka = try EmbeddedKafka(brokers: 1)
        defer { kafka.close() }
        try kafka.createTopic("headers", partitions: 1)
        let producer = try KafkaProducer(properties: [("bootstrap.servers", kafka.bootstrapServers)])
        defer { producer.close() }
        try producer.send(
            topic: "headers", key: nil, value: Array("v".utf8),
            headers: [("present", Array("x".utf8)), ("empty", []), ("absent", nil)], token: 1)
        #expect(producer.flush(timeoutMilliseconds: 10_000) { _ in })
        let reader = try KafkaTopicReader(bootstrapServers: kafka.bootstrapServers)
        _ = try reader.assign(["headers"])
        var record: KafkaRecord?
        for _ in 0..<50 where record == nil { record = try reader.next(timeoutMilliseconds: 200) }
        let headers = try #require(record).headers
        #expect(headers["present"] == .some(Array("x".utf8)))
        #expect(headers["empty"] == .some([]))
        #expect(headers.keys.contains("absent") && headers["absent"] == .some(nil))
    }
}
