import KafkaSink
import Testing

/// The start-up read-back finds a connector's last record in every partition: at the very end, behind other producers'
/// records (read from further back), in none, or in an empty partition; a topic that does not exist is left out.
@Suite struct KafkaTailReaderTests {
    @Test func findsTheLastRecordOfTheConnectorInEachPartition() throws {
        let kafka = try EmbeddedKafka(brokers: 1)
        defer { kafka.close() }
        try kafka.createTopic("tails", partitions: 5)
        let producer = try KafkaProducer(properties: [("bootstrap.servers", kafka.bootstrapServers)])
        defer { producer.close() }
        func send(_ partition: Int32, _ position: String?) throws {
            try producer.send(
                topic: "tails", key: nil, value: [1], partition: partition, token: 1,
                lastHeader: position.map { ("__tributary.position", Array($0.utf8)) })
        }
        // 0: empty. 1: ours last. 2: ours, then 100 of another producer's. 3: another connector's only.
        // 4: ours twice, then 5,000 without a header (past the second window).
        try send(1, "me:0/10:0")
        try send(1, "me:0/10:1")
        try send(2, "me:0/20:0")
        for _ in 0..<100 { try send(2, nil) }
        try send(3, "other:0/30:0")
        try send(4, "me:0/40:0")
        try send(4, "me:0/40:1")
        for _ in 0..<5_000 { try send(4, nil) }
        #expect(producer.flush(timeoutMilliseconds: 30_000) { _ in })

        let reader = try KafkaTailReader(bootstrapServers: kafka.bootstrapServers)
        defer { reader.close() }
        let found = try reader.lastHeaders(
            topics: ["tails", "tails"], header: "__tributary.position", accept: { $0.starts(with: Array("me:".utf8)) },
            timeoutMilliseconds: 30_000)
        let tails = try #require(found["tails"]).map { $0.map { String(decoding: $0, as: UTF8.self) } }
        #expect(tails == [nil, "me:0/10:1", "me:0/20:0", nil, "me:0/40:1"])
        #expect(found.count == 1, "a topic named twice is read once")
    }
}
