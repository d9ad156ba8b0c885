import ChangeEvents
import Foundation
import PGOutput
import Testing

/// The records of an incremental snapshot, as Debezium 3.6.3 wrote them (Golden/debezium-incremental.txt: signals on
/// a signal table, chunks of 3): `op: r`, `source.snapshot: incremental`, the clock's time in `source` to the
/// nanosecond, `lsn` and `txId` null and `sequence` naming the closing watermark twice. Rebuilt here from the same
/// rows at the same watermark and time, they must equal Debezium's byte for byte.
@Suite struct IncrementalReadTests {
    static let relations = [
        "items": Relation(
            oid: 1, namespace: "public", name: "items", replicaIdentity: .default,
            columns: [
                .init(isKey: true, name: "id", typeOID: 23, typeModifier: -1),
                .init(isKey: false, name: "label", typeOID: 25, typeModifier: -1),
                .init(isKey: false, name: "qty", typeOID: 23, typeModifier: -1),
            ]),
        "tags": Relation(
            oid: 2, namespace: "public", name: "tags", replicaIdentity: .default,
            columns: [
                .init(isKey: true, name: "a", typeOID: 25, typeModifier: -1),
                .init(isKey: true, name: "b", typeOID: 23, typeModifier: -1),
                .init(isKey: false, name: "note", typeOID: 25, typeModifier: -1),
            ]),
    ]

    @Test func incrementalReadsMatchDebezium() throws {
        var builder = ChangeEventBuilder(
            settings: EventSettings(topicPrefix: "dbz", databaseName: "ref_false", version: "3.6.3.Final"))
        try builder.register(Self.relations["items"]!, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        try builder.register(Self.relations["tags"]!, metadata: TableMetadata(primaryKey: ["a", "b"], notNull: ["a", "b"]))
        // Streaming state the reads must not show (a transaction seen before).
        builder.begin(Begin(finalLSN: LSN(100), commitTimeMicros: 5, xid: 77))
        builder.commit(Commit(flags: 0, commitLSN: LSN(100), endLSN: LSN(148), commitTimeMicros: 5))
        let golden = DebeziumGolden.records("debezium-incremental.txt").filter {
            $0.value?.contains(#""snapshot":"incremental""#) == true
        }
        #expect(golden.count == 10)
        for record in golden {
            let value = try #require(record.value)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
            let source = try #require(object["source"] as? [String: Any])
            let after = try #require(object["after"] as? [String: Any])
            let table = try #require(source["table"] as? String)
            let relation = try #require(Self.relations[table])
            let sequence = try #require(source["sequence"] as? String)
            let watermark = try #require(UInt64(sequence.split(separator: "\"")[1]))
            let nanos = try #require((source["ts_ns"] as? NSNumber)?.int64Value)
            let row = TupleData(text: relation.columns.map { after[$0.name].map { "\($0)" } })
            let event = try builder.incrementalSnapshotRead(
                row, relationOID: relation.oid, at: LSN(watermark), nowNanos: nanos)
            #expect(event.key.map { String(decoding: $0, as: UTF8.self) } == record.key)
            #expect(
                DebeziumGolden.normalized(event.value.map { String(decoding: $0, as: UTF8.self) })
                    == DebeziumGolden.normalized(value))
        }
        // Back to streaming: the next change carries the stream's own source again.
        builder.begin(Begin(finalLSN: LSN(200), commitTimeMicros: 6, xid: 78))
        var streamed: [ChangeEvent] = []
        try builder.events(
            for: .insert(Insert(relationOID: 1, new: TupleData(text: ["9", "x", "1"]))), at: LSN(200), nowNanos: 0
        ) { streamed.append($0) }
        let text = streamed.first?.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(text.contains(#""snapshot":"false""#) && text.contains(#""txId":78,"lsn":200"#))
    }
}
