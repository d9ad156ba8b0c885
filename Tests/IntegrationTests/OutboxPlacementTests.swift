import Foundation
import Testing

/// The outbox router's Kafka-side choices, which the reference tool's output does not show: the partition column
/// (`column:partition`) and the record timestamp (`table_field_event_timestamp`, else the envelope's `ts_ms`).
@Suite(.serialized) struct OutboxPlacementTests {
    @Test func thePartitionColumnAndTheEventTimestampReachKafka() async throws {
        let harness = try Harness(
            database: "outbox_placement",
            extra: "transforms: [{type: outbox, table_fields_additional_placement: ['part:partition'], "
                + "table_field_event_timestamp: created}]",
            snapshotMode: "no_data")
        try harness.db.execute(
            "CREATE TABLE outboxevent (id uuid PRIMARY KEY, aggregatetype text NOT NULL, aggregateid text NOT NULL, "
                + "type text NOT NULL, payload jsonb, part int, created timestamp(3))")
        try harness.kafka.createTopic("outbox.event.Order", partitions: 3)
        let connector = try await harness.startConnector()
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        try harness.db.execute(
            "INSERT INTO outboxevent VALUES ('11111111-1111-1111-1111-111111111111', 'Order', '1', 'Placed', '{}', 2, "
                + "'2024-03-01 10:00:00.123')")
        try harness.db.execute(
            "INSERT INTO outboxevent VALUES ('22222222-2222-2222-2222-222222222222', 'Order', '2', 'Placed', '{}', 1, NULL)")
        let records = try await harness.records(["outbox.event.Order"], atLeast: 2)
        #expect(try await connector.terminate() == 0)
        let first = try #require(records.first { $0.keyText == #""1""# })
        let second = try #require(records.first { $0.keyText == #""2""# })
        #expect(first.partition == 2 && second.partition == 1)
        #expect(first.timestamp == 1_709_287_200_123, "the column's time, in milliseconds")
        let envelopeTime = try #require(second.timestamp)
        #expect(envelopeTime >= before - 1000 && envelopeTime < before + 60_000, "without a value: the envelope's ts_ms")
    }
}
