import ChangeEvents
import Foundation
import PGOutput
import Testing

/// The builder's own Avro (`EventSettings.avro`) against the JSON path converted by `AvroConversion` (which
/// `AvroGoldenTests` holds equal to Confluent's AvroConverter): the same bytes for every type, handling mode, null,
/// default, unchanged value, operation and envelope variant.
@Suite struct AvroRowsTests {
    enum Cell {
        case text(String)
        case null
        case unchanged
    }

    static func tuple(_ cells: [Cell]) -> TupleData {
        var storage: [UInt8] = []
        var columns: [TupleData.Column] = []
        for cell in cells {
            switch cell {
            case .text(let text):
                let start = storage.count
                storage += Array(text.utf8)
                columns.append(.init(kind: .text, range: start..<storage.count))
            case .null: columns.append(.init(kind: .null, range: 0..<0))
            case .unchanged: columns.append(.init(kind: .unchanged, range: 0..<0))
            }
        }
        return TupleData(storage: storage, columns: columns)
    }

    /// Every type family, with the column that varies in each row.
    static let columns: [(name: String, oid: UInt32, modifier: Int32, values: [String])] = [
        ("b", 16, -1, ["t", "f"]),
        ("i2", 21, -1, ["-32768", "7", "0"]),
        ("i8", 20, -1, ["9223372036854775807", "-9223372036854775808", "-1"]),
        ("f4", 700, -1, ["1.5", "0.1", "-3.4028235e+38", "1e-45", "NaN", "Infinity", "-Infinity", "-0"]),
        ("f8", 701, -1, ["0.1", "1e+300", "-2.2250738585072014e-308", "NaN", "-Infinity", "3.141592653589793", "5e-324"]),
        ("n", 1700, (12 << 16 | 2) + 4, ["12.50", "-0.01", "0", "9999999999.99", "NaN", "-123456.7"]),
        ("nbig", 1700, (38 << 16 | 10) + 4, ["1234567890123456789012345678.0123456789", "-1.5", "0.0000000001"]),
        ("nv", 1700, -1, ["3.14159", "-100", "0", "12345678901234567890.123456789", "NaN", "0.00001"]),
        ("m", 790, -1, ["$1,234.56", "-$0.01", "$0.00"]),
        ("s", 25, -1, ["plain", "", "quote \" back \\ tab\t", "ünï 😀", String(repeating: "long ", count: 40)]),
        ("vc", 1043, 68, ["varchar"]),
        ("bp", 1042, 12, ["char    "]),
        ("j", 114, -1, ["{\"a\": [1, 2]}"]),
        ("jb", 3802, -1, ["{\"k\": \"v\", \"n\": null}"]),
        ("x", 142, -1, ["<a>1</a>"]),
        ("u", 2950, -1, ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]),
        ("by", 17, -1, ["\\x0102ff", "\\x", "\\x" + String(repeating: "ab", count: 100)]),
        ("bit1", 1560, 1, ["1", "0"]),
        ("bits", 1560, 8, ["10100001"]),
        ("vb", 1562, -1, ["101", "1111000011110000111"]),
        ("d", 1082, -1, ["2024-03-01", "1969-12-31", "infinity", "-infinity", "0044-03-15 BC"]),
        ("t", 1083, -1, ["10:00:00.123456", "00:00:00", "24:00:00"]),
        ("t3", 1083, 3, ["10:00:00.123", "23:59:59.999"]),
        ("tz", 1266, -1, ["12:34:56+02", "00:00:00.5-05:30"]),
        ("ts", 1114, -1, ["2024-03-01 10:00:00.5", "1900-01-01 00:00:00", "infinity", "-infinity"]),
        ("ts3", 1114, 3, ["2024-03-01 10:00:00.123", "1969-12-31 23:59:59.999"]),
        ("tstz", 1184, -1, ["2024-03-01 10:00:00.123456+00", "2024-03-01 10:00:00+00", "infinity", "1999-12-31 23:00:00-05"]),
        ("tstz0", 1184, 0, ["2024-03-01 10:00:00+00"]),
        ("iv", 1186, -1, ["1 year 2 mons 3 days 04:05:06.789", "-3 days -00:00:01", "00:00:00"]),
        ("pt", 600, -1, ["(1.5,-2)", "(0,0)"]),
        ("ai", 1007, -1, ["{1,NULL,3}", "{}", "{{1,2},{3,4}}"]),
        ("at", 1009, -1, ["{a,\"b c\",NULL}", "{\"\"}"]),
        ("an", 1231, -1, ["{1.5,NaN,-2}"]),
        ("ats", 1185, -1, ["{\"2024-03-01 10:00:00+00\",NULL}"]),
        ("ad", 1182, -1, ["{2024-03-01,infinity}"]),
        ("ab", 1000, -1, ["{t,f}"]),
        ("ip", 869, -1, ["10.1.2.3"]),
        ("tr", 3908, -1, ["[\"2026-01-01 00:00:00\",\"2026-01-02 00:00:00\")"]),
        ("nm", 19, -1, ["name"]),
        ("tv", 3614, -1, ["'a' 'b'"]),
        ("h", 90_001, -1, ["\"b\"=>\"2\", \"a\"=>NULL", ""]),
        ("e", 90_002, -1, ["happy"]),
        ("ae", 90_003, -1, ["{sad,happy}"]),
        ("dflt", 23, -1, ["5"]),
        ("req", 25, -1, ["required"]),
    ]

    static let relation = Relation(
        oid: 7001, namespace: "public", name: "every_type", replicaIdentity: .full,
        columns: [.init(isKey: true, name: "id", typeOID: 23, typeModifier: -1)]
            + columns.map { .init(isKey: false, name: $0.name, typeOID: $0.oid, typeModifier: $0.modifier) })
    static let metadata = TableMetadata(
        primaryKey: ["id"], notNull: ["id", "req", "f8"],
        types: [
            "h": ColumnTypeFacts(name: "hstore", kind: "b"),
            "e": ColumnTypeFacts(name: "mood", kind: "e", enumLabels: ["sad", "ok", "happy"]),
            "ae": ColumnTypeFacts(
                name: "_mood", kind: "b", enumLabels: ["sad", "ok", "happy"], elementOID: 90_002, elementName: "mood",
                elementKind: "e"),
            "dflt": ColumnTypeFacts(name: "int4", kind: "b", defaultExpression: "5"),
            "req": ColumnTypeFacts(name: "text", kind: "b", defaultExpression: "'x'::text"),
        ])
    /// A keyless table: no key schema, no key.
    static let keyless = Relation(
        oid: 7002, namespace: "public", name: "log", replicaIdentity: .default,
        columns: [.init(isKey: false, name: "line", typeOID: 25, typeModifier: -1)])

    /// Rows: each column's values in turn (the row's other columns at their first value), then all null, then
    /// unchanged TOASTed values.
    static var rows: [TupleData] {
        var rows: [TupleData] = []
        let firsts = columns.map { Cell.text($0.values[0]) }
        var id = 1
        for (index, column) in columns.enumerated() {
            for value in column.values {
                var cells = firsts
                cells[index] = .text(value)
                rows.append(tuple([.text(String(id))] + cells))
                id += 1
            }
        }
        rows.append(tuple([.text(String(id))] + columns.map { _ in .null }))
        rows.append(tuple([.text(String(id + 1))] + columns.map { $0.name == "req" ? .unchanged : .null }))
        // An unchanged double NOT NULL has no Avro form (`unchangedNotNullWithoutPlaceholder`); an int is never TOASTed.
        rows.append(
            tuple(
                [.text(String(id + 2))]
                    + columns.map { $0.name == "f8" ? .text("1.0") : $0.name == "dflt" ? .text("6") : .unchanged }))
        return rows
    }

    /// The same changes through both paths: the events must be equal, byte for byte, once both have their ids.
    func compare(_ values: ValueHandling, transactionMetadata: Bool = false) throws {
        var registry: [String: Int32] = [:]
        let resolve: AvroConversion.Resolve = { subject, schema in
            let key = subject + "\u{0}" + schema.text
            if let id = registry[key] { return id }
            let id = Int32(registry.count + 1)
            registry[key] = id
            return id
        }
        let ids = AvroSchemaIDs()
        func settings(_ avro: AvroSchemaIDs?) -> EventSettings {
            EventSettings(
                topicPrefix: "dbz", databaseName: "postgres", schemas: true, version: "3.6.3.Final", values: values,
                transactionTopic: transactionMetadata ? "dbz.transaction" : nil, avro: avro)
        }
        var direct = ChangeEventBuilder(settings: settings(ids))
        var json = ChangeEventBuilder(settings: settings(nil))
        var directConversion = AvroConversion()
        var jsonConversion = AvroConversion()
        var compared = 0
        var directlyWritten = 0

        func both(_ body: (inout ChangeEventBuilder, (ChangeEvent) -> Void) throws -> Void) throws {
            var directEvents: [ChangeEvent] = []
            var jsonEvents: [ChangeEvent] = []
            try body(&direct) { directEvents.append($0) }
            try body(&json) { jsonEvents.append($0) }
            try #require(directEvents.count == jsonEvents.count)
            for (var written, expected) in zip(directEvents, jsonEvents) {
                // Every data event and tombstone is the builder's own Avro; only transaction records are converted.
                #expect((written.avroSchemas != nil) == (expected.table != nil))
                if written.avroSchemas != nil {
                    directlyWritten += 1
                    try directConversion.complete(&written, ids: ids, resolve: resolve)
                } else {
                    // Not a data event (transaction metadata): converted as before.
                    written.key = try directConversion.convert(written.key, topic: written.topic, isKey: true, resolve: resolve)
                    written.value = try directConversion.convert(
                        written.value, topic: written.topic, isKey: false, resolve: resolve)
                }
                if let dump = Self.dump, let schemas = written.avroSchemas {
                    // tools/avro-deserializer-check reads these with Confluent's deserializer.
                    dump.record(
                        topic: written.topic, key: (schemas.key?.text, written.key, expected.key),
                        value: (schemas.value.text, written.value, expected.value))
                }
                let key = try jsonConversion.convert(expected.key, topic: expected.topic, isKey: true, resolve: resolve)
                let value = try jsonConversion.convert(expected.value, topic: expected.topic, isKey: false, resolve: resolve)
                #expect(written.topic == expected.topic)
                #expect(written.headers == expected.headers)
                #expect(written.key == key, "key of \(expected.operation.map { "\($0)" } ?? "tombstone") at \(compared)")
                #expect(written.value == value, "value of \(expected.operation.map { "\($0)" } ?? "tombstone") at \(compared)")
                compared += 1
            }
        }

        try both { builder, _ in
            try builder.register(Self.relation, metadata: Self.metadata)
            try builder.register(Self.keyless, metadata: TableMetadata(primaryKey: [], notNull: []))
        }
        let rows = Self.rows
        var lsn: UInt64 = 0x1000
        for (number, row) in rows.enumerated() {
            lsn += 0x100
            let at = LSN(lsn)
            let xid = UInt32(700 + number)
            try both { builder, emit in
                builder.begin(Begin(finalLSN: at, commitTimeMicros: 1_709_287_200_123_456 + Int64(number), xid: xid), at: at)
                if number % 7 == 3 { builder.setOrigin(Origin(commitLSN: LSN(0xABC), name: "upstream")) }
                try builder.events(for: .insert(Insert(relationOID: 7001, new: row)), at: at, nowNanos: 1_795_759_022_047_612_308)
                {
                    emit($0)
                }
                let changed = number == 0 ? row : rows[(number + 1) % rows.count]
                try builder.events(
                    for: .update(Update(relationOID: 7001, old: .full(row), new: changed)), at: LSN(lsn + 8),
                    nowNanos: 1_795_759_022_047_612_309
                ) { emit($0) }
                try builder.events(
                    for: .delete(Delete(relationOID: 7001, old: .key(row))), at: LSN(lsn + 16),
                    nowNanos: 1_795_759_022_047_612_310
                ) { emit($0) }
                try builder.events(
                    for: .insert(Insert(relationOID: 7002, new: Self.tuple([.text("line \(number)")]))), at: LSN(lsn + 24),
                    nowNanos: 1
                ) { emit($0) }
                if let end = builder.commit(
                    Commit(flags: 0, commitLSN: at, endLSN: LSN(lsn + 64), commitTimeMicros: 1_709_287_200_123_456), at: at)
                {
                    emit(end)
                }
            }
        }
        // Snapshot reads, and a truncate.
        try both { builder, emit in
            builder.beginSnapshot(xid: 900, timeMicros: 1_709_287_300_000_000)
            for (number, row) in rows.prefix(5).enumerated() {
                emit(
                    try builder.snapshotRead(
                        row, relationOID: 7001, marker: number == 0 ? .first : .middle, at: LSN(0x9000), nowNanos: 5_000_000))
            }
            builder.endSnapshot(lastCommitLSN: LSN(0x9000))
            // An incremental snapshot's reads while streaming.
            for row in rows.prefix(3) {
                emit(
                    try builder.incrementalSnapshotRead(
                        row, relationOID: 7001, at: LSN(0xA000), nowNanos: 1_796_062_050_321_938_387))
            }
        }
        #expect(compared > rows.count * 4)
        #expect(directlyWritten > rows.count * 4)
    }

    /// With `AVRO_DUMP=<file>`, the records compared are also written there for tools/avro-deserializer-check (a
    /// development check with Confluent's own deserializer): topic, then per side the Avro schema, the record in hex
    /// and the JSON form with its schema.
    static let dump: Dump? = ProcessInfo.processInfo.environment["AVRO_DUMP"].map { Dump(path: $0) }

    final class Dump: Sendable {
        let path: String
        private let lock = NSLock()

        init(path: String) {
            self.path = path
            FileManager.default.createFile(atPath: path, contents: nil)
        }

        func record(
            topic: String, key: (schema: String?, avro: [UInt8]?, json: [UInt8]?),
            value: (schema: String?, avro: [UInt8]?, json: [UInt8]?)
        ) {
            func hex(_ bytes: [UInt8]?) -> String { bytes.map { $0.map { String(format: "%02x", $0) }.joined() } ?? "-" }
            func text(_ bytes: [UInt8]?) -> String { bytes.map { String(decoding: $0, as: UTF8.self) } ?? "-" }
            let block =
                [
                    "TOPIC \(topic)", "KEYSCHEMA \(key.schema ?? "-")", "KEYHEX \(hex(key.avro))", "KEYJSON \(text(key.json))",
                    "VALUESCHEMA \(value.schema ?? "-")", "VALUEHEX \(hex(value.avro))", "VALUEJSON \(text(value.json))",
                ].joined(separator: "\n") + "\n"
            lock.lock()
            defer { lock.unlock() }
            guard let handle = FileHandle(forWritingAtPath: path) else { return }
            handle.seekToEndOfFile()
            handle.write(Data(block.utf8))
            handle.closeFile()
        }
    }

    @Test func defaultHandling() throws { try compare(ValueHandling()) }

    @Test func withTransactionMetadata() throws { try compare(ValueHandling(), transactionMetadata: true) }

    @Test(arguments: ValueHandling.Decimal.allCases)
    func decimalModes(_ mode: ValueHandling.Decimal) throws { try compare(ValueHandling(decimal: mode)) }

    @Test(arguments: ValueHandling.TimePrecision.allCases)
    func timeModes(_ mode: ValueHandling.TimePrecision) throws { try compare(ValueHandling(time: mode)) }

    @Test(arguments: ValueHandling.Binary.allCases)
    func binaryModes(_ mode: ValueHandling.Binary) throws { try compare(ValueHandling(binary: mode)) }

    @Test func intervalAndHstoreModes() throws {
        try compare(ValueHandling(interval: .string, hstore: .map))
    }

    /// A value with no Avro form is refused by both paths: the builder names the table and column.
    @Test func unchangedNotNullWithoutPlaceholder() throws {
        let row = Self.tuple([.text("1")] + Self.columns.map { $0.name == "f8" ? .unchanged : .text($0.values[0]) })
        var direct = ChangeEventBuilder(
            settings: EventSettings(
                topicPrefix: "dbz", databaseName: "postgres", schemas: true, version: "t", avro: AvroSchemaIDs()))
        try direct.register(Self.relation, metadata: Self.metadata)
        direct.begin(Begin(finalLSN: LSN(1), commitTimeMicros: 0, xid: 1))
        #expect(throws: EventEncodingError.self) {
            try direct.events(for: .insert(Insert(relationOID: 7001, new: row)), at: LSN(2), nowNanos: 0) { _ in }
        }
        do {
            try direct.events(for: .insert(Insert(relationOID: 7001, new: row)), at: LSN(2), nowNanos: 0) { _ in }
        } catch {
            #expect("\(error)".contains("public.every_type.f8: cannot be written in Avro"))
        }
        var json = ChangeEventBuilder(
            settings: EventSettings(topicPrefix: "dbz", databaseName: "postgres", schemas: true, version: "t"))
        try json.register(Self.relation, metadata: Self.metadata)
        json.begin(Begin(finalLSN: LSN(1), commitTimeMicros: 0, xid: 1))
        var events: [ChangeEvent] = []
        try json.events(for: .insert(Insert(relationOID: 7001, new: row)), at: LSN(2), nowNanos: 0) { events.append($0) }
        var conversion = AvroConversion()
        #expect(throws: (any Error).self) {
            _ = try conversion.convert(events.first?.value, topic: "t", isKey: false) { _, _ in 1 }
        }
    }

    /// A primary-key change writes the delete, its tombstone and the create, with the JSON key in the headers.
    @Test func primaryKeyChange() throws {
        let ids = AvroSchemaIDs()
        var builder = ChangeEventBuilder(
            settings: EventSettings(topicPrefix: "dbz", databaseName: "postgres", schemas: true, version: "t", avro: ids))
        try builder.register(Self.keyless, metadata: TableMetadata(primaryKey: ["line"], notNull: ["line"]))
        builder.begin(Begin(finalLSN: LSN(1), commitTimeMicros: 0, xid: 1))
        var events: [ChangeEvent] = []
        try builder.events(
            for: .update(Update(relationOID: 7002, old: .key(Self.tuple([.text("a")])), new: Self.tuple([.text("b")]))),
            at: LSN(2), nowNanos: 0
        ) { events.append($0) }
        #expect(events.map(\.operation) == [.delete, nil, .create])
        #expect(events[0].headers.first { $0.name == "__debezium.newkey" }?.value == Array(#"{"line":"b"}"#.utf8))
        #expect(events[2].headers.first { $0.name == "__debezium.oldkey" }?.value == Array(#"{"line":"a"}"#.utf8))
        #expect(events.allSatisfy { $0.avroIDsPending && $0.key?.prefix(5) == [0, 0, 0, 0, 0] })
        #expect(events.count == 3)
        // Once the ids are known, the builder writes them itself.
        var conversion = AvroConversion()
        var first = events[0]
        try conversion.complete(&first, ids: ids) { subject, _ in subject.hasSuffix("-key") ? 41 : 42 }
        #expect(first.key?.prefix(5) == [0, 0, 0, 0, 41])
        #expect(first.value?.prefix(5) == [0, 0, 0, 0, 42])
        var later: [ChangeEvent] = []
        try builder.events(for: .insert(Insert(relationOID: 7002, new: Self.tuple([.text("c")]))), at: LSN(3), nowNanos: 0) {
            later.append($0)
        }
        #expect(later.count == 1)
        #expect(later.first?.avroIDsPending == false)
        #expect(later.first?.key?.prefix(5) == [0, 0, 0, 0, 41])
        #expect(later.first?.value?.prefix(5) == [0, 0, 0, 0, 42])
    }
}
