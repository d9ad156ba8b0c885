import ChangeEvents
import PGOutput
import Testing

/// Value handling options on cases the Debezium golden files do not reach.
@Suite struct ValueHandlingTests {
    static let relation = Relation(
        oid: 1, namespace: "public", name: "blobs", replicaIdentity: .default,
        columns: [
            .init(isKey: true, name: "id", typeOID: 23, typeModifier: -1),
            .init(isKey: false, name: "data", typeOID: 17, typeModifier: -1),
            .init(isKey: false, name: "body", typeOID: 25, typeModifier: -1),
            .init(isKey: false, name: "h", typeOID: 90_001, typeModifier: -1),
            .init(isKey: false, name: "iv", typeOID: 1186, typeModifier: -1),
        ])

    func after(_ values: ValueHandling, _ tuple: TupleData) throws -> String {
        var builder = ChangeEventBuilder(
            settings: EventSettings(topicPrefix: "p", databaseName: "db", version: "test", values: values))
        try builder.register(
            Self.relation,
            metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"], types: ["h": ColumnTypeFacts(name: "hstore", kind: "b")])
        )
        builder.begin(Begin(finalLSN: LSN(1), commitTimeMicros: 0, xid: 1))
        var value = ""
        try builder.events(for: .update(Update(relationOID: 1, old: nil, new: tuple)), at: LSN(1), nowNanos: 0) {
            value = String(decoding: $0.value ?? [], as: UTF8.self)
        }
        let start = try #require(value.range(of: "\"after\":"))
        let end = try #require(value.range(of: ",\"source\""))
        return String(value[start.upperBound..<end.lowerBound])
    }

    static let row = TupleData(text: ["1", "\\xfbffbf", "text", "\"b\"=>\"2\", \"a\"=>NULL", "-1 days -00:00:00.5"])

    @Test func binaryHandlingModes() throws {
        #expect(try after(ValueHandling(binary: .bytes), Self.row).contains("\"data\":\"+/+/\""))
        #expect(try after(ValueHandling(binary: .base64), Self.row).contains("\"data\":\"+/+/\""))
        #expect(try after(ValueHandling(binary: .base64URLSafe), Self.row).contains("\"data\":\"-_-_\""))
        #expect(try after(ValueHandling(binary: .hex), Self.row).contains("\"data\":\"fbffbf\""))
    }

    @Test func hstoreKeysFollowJavaHashMapOrder() throws {
        #expect(try after(ValueHandling(), Self.row).contains("\"h\":\"{\\\"a\\\":null,\\\"b\\\":\\\"2\\\"}\""))
        #expect(try after(ValueHandling(hstore: .map), Self.row).contains("\"h\":{\"a\":null,\"b\":\"2\"}"))
    }

    @Test func intervalsAsMicrosecondsOrISO() throws {
        #expect(try after(ValueHandling(), Self.row).contains("\"iv\":-86400500000"))
        #expect(try after(ValueHandling(interval: .string), Self.row).contains("\"iv\":\"P0Y0M-1DT0H0M-0.5S\""))
    }

    @Test func unchangedToastGetsTheConfiguredPlaceholder() throws {
        let tuple = TupleData(
            storage: Array("1".utf8),
            columns: [
                .init(kind: .text, range: 0..<1), .init(kind: .unchanged, range: 0..<0), .init(kind: .unchanged, range: 0..<0),
                .init(kind: .null, range: 0..<0), .init(kind: .null, range: 0..<0),
            ])
        let defaults = try after(ValueHandling(), tuple)
        #expect(defaults.contains("\"body\":\"__debezium_unavailable_value\""))
        #expect(defaults.contains("\"data\":\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\""))
        let custom = try after(ValueHandling(unavailablePlaceholder: "N/A"), tuple)
        #expect(custom.contains("\"body\":\"N/A\""))
        #expect(custom.contains("\"data\":\"Ti9B\""))
    }

    /// Floats as Java writes them: PostgreSQL's shortest digits, except a subnormal whose shortest form has one digit,
    /// which Java writes with the two digits nearest the exact value (found by reading Tributary's Avro records back
    /// with Confluent's converter: tools/avro-deserializer-check).
    @Test func floatsAsJavaWritesThem() throws {
        let relation = Relation(
            oid: 2, namespace: "public", name: "floats", replicaIdentity: .default,
            columns: [
                .init(isKey: true, name: "id", typeOID: 23, typeModifier: -1),
                .init(isKey: false, name: "f4", typeOID: 700, typeModifier: -1),
                .init(isKey: false, name: "f8", typeOID: 701, typeModifier: -1),
            ])
        var builder = ChangeEventBuilder(settings: EventSettings(topicPrefix: "p", databaseName: "db", version: "test"))
        try builder.register(relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        builder.begin(Begin(finalLSN: LSN(1), commitTimeMicros: 0, xid: 1))
        func after(_ f4: String, _ f8: String) throws -> String {
            var value = ""
            try builder.events(
                for: .insert(Insert(relationOID: 2, new: TupleData(text: ["1", f4, f8]))), at: LSN(1), nowNanos: 0
            ) { value = String(decoding: $0.value ?? [], as: UTF8.self) }
            let start = try #require(value.range(of: "\"after\":"))
            let end = try #require(value.range(of: ",\"source\""))
            return String(value[start.upperBound..<end.lowerBound])
        }
        #expect(try after("1e-45", "5e-324") == #"{"id":1,"f4":1.4E-45,"f8":4.9E-324}"#)
        // (Java 19 and later, whose toString the JDK specifies; Java 17 writes 1.0E-323 for the second.)
        #expect(try after("-3e-45", "1e-323") == #"{"id":1,"f4":-2.8E-45,"f8":9.9E-324}"#)
        #expect(try after("1", "1e+30") == #"{"id":1,"f4":1.0,"f8":1.0E30}"#)
        #expect(try after("1e-38", "2e-308") == #"{"id":1,"f4":1.0E-38,"f8":2.0E-308}"#)
    }
}
