import ChangeEvents
import PGOutput
import Testing

/// Values in pgoutput's binary mode read back as text (`ChangeEventBuilder.textual`); every type family against a real
/// server is `BinaryValuesTests` (IntegrationTests). Here: what happens around the values.
@Suite struct BinaryTextTests {
    /// int4 key, text, a composite (a type events leave out), float8.
    static let relation = Relation(
        oid: 9, namespace: "public", name: "mixed", replicaIdentity: .default,
        columns: [
            .init(isKey: true, name: "id", typeOID: 23, typeModifier: -1),
            .init(isKey: false, name: "note", typeOID: 25, typeModifier: -1),
            .init(isKey: false, name: "pair", typeOID: 16_630, typeModifier: -1),
            .init(isKey: false, name: "ratio", typeOID: 701, typeModifier: -1),
        ])

    static func builder() throws -> ChangeEventBuilder {
        var builder = ChangeEventBuilder(settings: EventSettings(topicPrefix: "b", databaseName: "db", version: "0"))
        try builder.register(
            relation,
            metadata: TableMetadata(
                primaryKey: ["id"], notNull: ["id"], types: ["pair": ColumnTypeFacts(name: "pair", kind: "c")]))
        return builder
    }

    /// A tuple of (kind, bytes) columns.
    static func tuple(_ columns: [(TupleData.Kind, [UInt8])]) -> TupleData {
        var storage: [UInt8] = []
        var result: [TupleData.Column] = []
        for (kind, bytes) in columns {
            let start = storage.count
            storage += bytes
            result.append(TupleData.Column(kind: kind, range: start..<storage.count))
        }
        return TupleData(storage: storage, columns: result)
    }

    @Test func binaryValuesBecomeTextTextStaysAndALeftOutTypeBecomesNull() throws {
        let builder = try Self.builder()
        let row = Self.tuple([
            (.binary, [0, 0, 0, 42]), (.text, Array("as sent".utf8)), (.binary, [0, 0, 0, 1, 0, 0, 0, 23]),
            (.binary, [0x3F, 0xF8, 0, 0, 0, 0, 0, 0]),
        ])
        guard case .insert(let insert) = try builder.textual(.insert(Insert(relationOID: 9, new: row))) else {
            Issue.record("not an insert")
            return
        }
        #expect(insert.new.text(0) == "42")
        #expect(insert.new.text(1) == "as sent")
        #expect(insert.new.columns[2].kind == .null)
        #expect(insert.new.text(3) == "1.5")
    }

    @Test func aChangeWithoutBinaryValuesIsReturnedAsItIs() throws {
        let message = LogicalMessage.insert(Insert(relationOID: 9, new: TupleData(text: ["1", "a", nil, "2"])))
        #expect(try Self.builder().textual(message) == message)
    }

    @Test func bytesThatAreNotAValueOfTheTypeStopWithTheColumnAndWhatToChange() throws {
        let row = Self.tuple([(.binary, [0, 0, 42]), (.text, []), (.null, []), (.null, [])])
        #expect {
            try Self.builder().textual(.insert(Insert(relationOID: 9, new: row)))
        } throws: { error in
            let text = "\(error)"
            return text.contains("public.mixed.id") && text.contains("postgres.pgoutput_binary: false")
        }
    }

    /// PostgreSQL's float text: the fewest digits strictly inside the rounding interval (a decimal exactly halfway to a
    /// neighbour is not taken), its exponent thresholds and spellings.
    @Test(
        arguments: [
            (0x4348_F5C3, "200.96"), (0x4C4E_025A, "5.4004072e+07"), (0x3F80_0000, "1"), (0x0000_0001, "1e-45"),
            (0x7F7F_FFFF, "3.4028235e+38"), (0x3727_C5AC, "1e-05"), (0x4974_2400, "1e+06"), (0x4974_23F0, "999999"),
        ] as [(UInt32, String)])
    func float4Text(bits: UInt32, text: String) {
        var out: [UInt8] = []
        withUnsafeBytes(of: bits.bigEndian) { #expect(BinaryFormat.float4.appendText($0, to: &out)) }
        #expect(String(decoding: out, as: UTF8.self) == text)
    }

    @Test(
        arguments: [
            (0x43CE_653E_0A7F_663C, "4.3804500171872317e+18"), (0x4005_BF0A_8B14_5769, "2.718281828459045"),
            (0x3DDB_7CDF_D9D7_BDBB, "1e-10"), (0x430C_6BF5_2634_0000, "1e+15"), (0x430C_6BF5_2633_FFFF, "999999999999999.9"),
            (0x0000_0000_0000_0001, "5e-324"), (0x8000_0000_0000_0000, "-0"), (0x7FF8_0000_0000_0000, "NaN"),
            (0xFFF0_0000_0000_0000, "-Infinity"),
        ] as [(UInt64, String)])
    func float8Text(bits: UInt64, text: String) {
        var out: [UInt8] = []
        withUnsafeBytes(of: bits.bigEndian) { #expect(BinaryFormat.float8.appendText($0, to: &out)) }
        #expect(String(decoding: out, as: UTF8.self) == text)
    }
}
