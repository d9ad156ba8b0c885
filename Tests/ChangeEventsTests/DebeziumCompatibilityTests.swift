import ChangeEvents
import PGOutput
import Testing

/// Drives the builder with the changes of the Golden/ runs and expects Debezium's records, byte for byte.
@Suite struct DebeziumCompatibilityTests {
    static let customers = Relation(
        oid: 16385, namespace: "public", name: "customers", replicaIdentity: .default,
        columns: [
            .init(isKey: true, name: "id", typeOID: 23, typeModifier: -1),
            .init(isKey: false, name: "name", typeOID: 25, typeModifier: -1),
            .init(isKey: false, name: "email", typeOID: 1043, typeModifier: 104),
            .init(isKey: false, name: "balance", typeOID: 1700, typeModifier: (12 << 16 | 2) + 4),
            .init(isKey: false, name: "active", typeOID: 16, typeModifier: -1),
            .init(isKey: false, name: "created", typeOID: 1184, typeModifier: -1),
            .init(isKey: false, name: "born", typeOID: 1082, typeModifier: -1),
            .init(isKey: false, name: "seen", typeOID: 1114, typeModifier: -1),
            .init(isKey: false, name: "data", typeOID: 3802, typeModifier: -1),
            .init(isKey: false, name: "uid", typeOID: 2950, typeModifier: -1),
            .init(isKey: false, name: "pic", typeOID: 17, typeModifier: -1),
            .init(isKey: false, name: "score", typeOID: 701, typeModifier: -1),
            .init(isKey: false, name: "n2", typeOID: 21, typeModifier: -1),
            .init(isKey: false, name: "big", typeOID: 20, typeModifier: -1),
            .init(isKey: false, name: "v", typeOID: 1700, typeModifier: -1),
        ])
    static let customersMetadata = TableMetadata(primaryKey: ["id"], notNull: ["id", "name"])
    static let notes = Relation(
        oid: 16390, namespace: "public", name: "notes", replicaIdentity: .full,
        columns: [
            .init(isKey: true, name: "body", typeOID: 25, typeModifier: -1),
            .init(isKey: true, name: "n", typeOID: 23, typeModifier: -1),
        ])

    /// Text values as PostgreSQL sends them with Tributary's session settings (DateStyle ISO, TimeZone UTC).
    static let ann: [String?] = [
        "1", "Ann", "ann@x.io", "12.50", "t", "2024-03-01 10:00:00.123456+00", "1990-05-04", "2024-03-01 10:00:00.5",
        "{\"a\": [1, 2]}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\\x0102ff", "1.5", "7", "9000000000", "3.14159",
    ]

    static func row(_ values: [String?]) -> TupleData { TupleData(text: values) }

    static func keyOnly(_ id: String) -> TupleData {
        TupleData(text: [id] + Array(repeating: nil, count: 14))
    }

    struct Recorder {
        var builder: ChangeEventBuilder
        var events: [ChangeEvent] = []

        init(schemas: Bool, skipped: Set<ChangeOperation>) {
            builder = ChangeEventBuilder(
                settings: EventSettings(
                    topicPrefix: "dbz", databaseName: "postgres", schemas: schemas, skippedOperations: skipped,
                    version: "3.6.3.Final"))
            try! builder.register(DebeziumCompatibilityTests.customers, metadata: DebeziumCompatibilityTests.customersMetadata)
            try! builder.register(DebeziumCompatibilityTests.notes, metadata: TableMetadata(primaryKey: [], notNull: []))
        }

        mutating func transaction(xid: UInt32, commitMicros: Int64, end: UInt64, _ changes: [(LogicalMessage, UInt64)]) throws {
            builder.begin(Begin(finalLSN: LSN(end - 48), commitTimeMicros: commitMicros, xid: xid))
            for (message, lsn) in changes { try change(message, lsn) }
            builder.commit(Commit(flags: 0, commitLSN: LSN(end - 48), endLSN: LSN(end), commitTimeMicros: commitMicros))
        }

        mutating func change(_ message: LogicalMessage, _ lsn: UInt64) throws {
            try builder.events(for: message, at: LSN(lsn), nowNanos: 1_795_759_022_047_612_308) { events.append($0) }
        }

        var records: [GoldenRecord] {
            events.map {
                GoldenRecord(
                    topic: $0.topic, key: $0.key.map { String(decoding: $0, as: UTF8.self) },
                    value: DebeziumGolden.normalized($0.value.map { String(decoding: $0, as: UTF8.self) }))
            }
        }
    }

    @Test func streamingEventsMatchDebeziumWithoutSchemas() throws {
        var run = Recorder(schemas: false, skipped: [.truncate])
        let c = Self.customers.oid
        let n = Self.notes.oid
        var bob: [String?] = Array(repeating: nil, count: 15)
        bob[0] = "2"
        bob[1] = "Bob"
        bob[3] = "-0.01"
        var annB = Self.ann
        annB[1] = "Ann B"
        var bob3 = bob
        bob3[0] = "3"
        var z: [String?] = Array(repeating: nil, count: 15)
        z[0] = "10"
        z[1] = "Z"
        z[5] = "2024-01-01 00:00:00+00"

        try run.transaction(
            xid: 729, commitMicros: 1_795_759_021_894_067, end: 22_207_136,
            [(.insert(Insert(relationOID: c, new: Self.row(Self.ann))), 22_206_712)])
        try run.transaction(
            xid: 730, commitMicros: 1_795_759_021_896_036, end: 22_207_328,
            [(.insert(Insert(relationOID: c, new: Self.row(bob))), 22_207_136)])
        try run.transaction(
            xid: 731, commitMicros: 1_795_759_021_897_676, end: 22_207_784,
            [
                (.update(Update(relationOID: c, old: nil, new: Self.row(annB))), 22_207_328),
                (.update(Update(relationOID: c, old: .key(Self.keyOnly("2")), new: Self.row(bob3))), 22_207_560),
            ])
        try run.transaction(
            xid: 732, commitMicros: 1_795_759_021_898_354, end: 22_207_904,
            [(.delete(Delete(relationOID: c, old: .key(Self.keyOnly("1")))), 22_207_784)])
        try run.transaction(
            xid: 733, commitMicros: 1_795_759_021_899_025, end: 22_208_024,
            [(.insert(Insert(relationOID: n, new: Self.row(["hello", "1"]))), 22_207_904)])
        try run.transaction(
            xid: 734, commitMicros: 1_795_759_021_899_507, end: 22_208_168,
            [
                (
                    .update(Update(relationOID: n, old: .full(Self.row(["hello", "1"])), new: Self.row(["hello", "2"]))),
                    22_208_024
                )
            ])
        try run.transaction(
            xid: 735, commitMicros: 1_795_759_021_899_997, end: 22_208_288,
            [(.delete(Delete(relationOID: n, old: .full(Self.row(["hello", "2"])))), 22_208_168)])
        try run.transaction(
            xid: 736, commitMicros: 1_795_759_021_900_649, end: 22_208_464,
            [
                (
                    .message(
                        DecodingMessage(
                            isTransactional: true, lsn: LSN(22_208_352), prefix: "audit", content: Array("hi there".utf8))),
                    22_208_352
                )
            ])
        try run.change(
            .message(DecodingMessage(isTransactional: false, lsn: LSN(22_208_464), prefix: "ntx", content: Array("plain".utf8))),
            22_208_464)
        try run.transaction(
            xid: 737, commitMicros: 1_795_759_021_901_000, end: 22_210_904,
            [(.truncate(Truncate(cascade: false, restartIdentity: false, relationOIDs: [n])), 22_210_800)])
        try run.transaction(
            xid: 738, commitMicros: 1_795_759_021_905_595, end: 22_211_000,
            [(.insert(Insert(relationOID: c, new: Self.row(z))), 22_210_904)])

        expectGolden(run.records, "debezium-streaming-noschemas.txt", count: 15)
    }

    @Test func streamingEventsMatchDebeziumWithSchemas() throws {
        var run = Recorder(schemas: true, skipped: [])
        try run.transaction(
            xid: 756, commitMicros: 1_795_759_168_243_768, end: 22_491_300,
            [(.insert(Insert(relationOID: Self.customers.oid, new: Self.row(["21"] + Self.ann.dropFirst()))), 22_491_192)])
        // In Debezium's run a failed transaction (a duplicate key) committed in between.
        run.builder.commit(Commit(flags: 0, commitLSN: LSN(22_491_472), endLSN: LSN(22_491_520), commitTimeMicros: 0))
        try run.transaction(
            xid: 758, commitMicros: 1_795_759_168_245_269, end: 22_491_920,
            [(.insert(Insert(relationOID: Self.notes.oid, new: Self.row(["x", "1"]))), 22_491_808)])
        let message = DecodingMessage(
            isTransactional: true, lsn: LSN(22_491_984), prefix: "audit", content: Array("hi there".utf8))
        try run.transaction(xid: 759, commitMicros: 1_795_759_168_245_741, end: 22_492_032, [(.message(message), 22_491_984)])
        try run.transaction(
            xid: 760, commitMicros: 1_795_759_168_291_539, end: 22_494_200,
            [(.truncate(Truncate(cascade: false, restartIdentity: false, relationOIDs: [Self.notes.oid])), 22_494_112)])

        expectGolden(run.records, "debezium-streaming-schemas.txt", count: 4)
    }

    /// Every record equals the golden one, in order, after blanking the envelope's processing time.
    func expectGolden(_ records: [GoldenRecord], _ file: String, count: Int) {
        let expected = DebeziumGolden.records(file).map {
            GoldenRecord(topic: $0.topic, key: $0.key, value: DebeziumGolden.normalized($0.value))
        }
        #expect(expected.count == count)
        #expect(records.count == expected.count)
        for (actual, wanted) in zip(records, expected) {
            #expect(actual == wanted)
        }
    }
}
