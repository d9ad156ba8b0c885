import Foundation
import PGOutput
import PostgresReplication
import Testing

@testable import ChangeEvents
@testable import TestSupport

/// pgoutput's `binary` option: every value read back from its send format is the very text the server sends for it in
/// text mode (the same changes peeked from one slot both ways), and the JSON written straight from it is the JSON
/// written from that text under each handling mode, for every type family the connector writes, with edge values and a
/// few thousand random ones.
struct BinaryValuesTests {
    static let randomDDL = """
        CREATE TABLE b_random (id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric,
          n6 numeric(20,6), m money, d date, t time, tz timetz, ts timestamp, tstz timestamptz, iv interval, ip inet,
          net cidr, mac macaddr, bits varbit, u uuid, by bytea, tx text, ai int4[], at text[], af float8[], tv tsvector,
          rn numrange, rtz tstzrange, jb jsonb, ch "char", b bool, vc varchar(20), bp char(5))
        """

    /// Random values of every column, from a seeded generator: magnitudes, scales, dates BC and after 9999, zones,
    /// intervals of mixed signs, IPv4, IPv6 with and without runs of zeros and embedded IPv4, texts that arrays quote.
    static let randomRows = """
        INSERT INTO b_random SELECT g,
          (random() * 65535 - 32768)::int2,
          (random() * 4294967295 - 2147483648)::int8::int4,
          ((random() - 0.5) * 9.2e18)::int8,
          ((random() - 0.5) * 10 ^ (random() * 60 - 30))::float4,
          ((random() - 0.5) * 10 ^ (random() * 600 - 300))::float8,
          round(((random() - 0.5) * 10 ^ (random() * 30))::numeric, (random() * 20)::int),
          ((random() - 0.5) * 1e12)::numeric(20,6),
          ((random() - 0.5) * 1e10)::numeric::money,
          '2000-01-01'::date + ((random() - 0.5) * 4e6)::int,
          '00:00'::time + random() * interval '24 hours',
          (('00:00'::time + random() * interval '24 hours')::text
            || (ARRAY['+00', '-08', '+05:30', '+14', '-03:30', '+00:00:15'])[1 + g % 6])::timetz,
          '2000-01-01'::timestamp + (random() - 0.5) * interval '4000000 days',
          '2000-01-01'::timestamptz + (random() - 0.5) * interval '4000000 days',
          make_interval(years => (random() * 200 - 100)::int * (g % 2), months => (random() * 30 - 15)::int,
            days => (random() * 60 - 30)::int * (g % 3), secs => (random() - 0.5) * 1e6 * (g % 5)),
          CASE g % 4
            WHEN 0 THEN ((random() * 255)::int || '.' || (random() * 255)::int || '.' || (random() * 255)::int || '.'
              || (random() * 255)::int || '/' || (random() * 32)::int)::inet
            WHEN 1 THEN regexp_replace(regexp_replace(md5(g::text), '(.{4})(?!$)', '\\1:', 'g'), '^(.{5})(.{5})(.{5})',
              CASE WHEN g % 8 = 1 THEN '\\1\\2\\3' ELSE '\\10:0:' END)::inet
            WHEN 2 THEN ('::ffff:' || (g % 256) || '.1.2.3')::inet
            ELSE ('fe80::' || to_hex(g) || '/' || (g % 129))::inet
          END,
          network(set_masklen(('10.' || g % 256 || '.' || g % 7 || '.1')::inet, g % 33)),
          ('08:00:2b:' || lpad(to_hex(g % 256), 2, '0') || ':02:03')::macaddr,
          substring(('x' || md5(g::text))::bit(128)::text, 1, g % 70)::varbit,
          md5(g::text)::uuid,
          decode(substring(md5(g::text), 1, (g % 16) * 2), 'hex'),
          CASE g % 3 WHEN 0 THEN '' WHEN 1 THEN 'multi\nline "q" \\ ' || g ELSE 'ünï ☃ ' || g END,
          ARRAY[g, NULL, -g],
          ARRAY['', 'NULL', 'null', 'a b', 'x"y', 'back\\slash', '{', 'plain' || g, NULL],
          ARRAY[random() * 1e-5, 'NaN', '-Infinity', (random() - 0.5) * 1e20],
          setweight(to_tsvector('simple', 'the quick brown ' || g), 'A') || 'x:3B y:1,2C'::tsvector
            || $$'it''s' 'back\\\\slash'$$::tsvector,
          numrange(round((random() * 100)::numeric, g % 4), round((random() * 100 + 100)::numeric, g % 3),
            (ARRAY['[)', '(]', '[]', '()'])[1 + g % 4]),
          CASE g % 3 WHEN 0 THEN tstzrange('2024-01-01 10:00+00', NULL) WHEN 1 THEN 'empty'
            ELSE tstzrange('2024-01-01'::timestamptz + g * interval '1.5 s', NULL, '(]') END,
          jsonb_build_object('n', g, 'f', random(), 's', 'x"\\y', 'a', jsonb_build_array(1, 'two', NULL)),
          chr(33 + g % 90)::"char",
          g % 2 = 0,
          'v ' || g,
          'b' || (g % 100)
        FROM generate_series(1, 3000) g
        """

    /// Values at the types' edges.
    static let edgeRows = [
        """
        INSERT INTO b_random (id, i2, i4, i8, f4, f8, n, n6, m, d, ts, tstz, iv, ip, ai, ch) VALUES (100001, -32768,
          -2147483648, -9223372036854775808, '-0', '-0', '-0.000', 0, '-92233720368547758.08', '4713-11-24 BC',
          '4713-11-24 00:00:00 BC', '294276-12-31 23:59:59.999999+00', '-178000000 years', '::', '[0:2]={1,2,3}', '')
        """,
        """
        INSERT INTO b_random (id, i2, i4, i8, f4, f8, n, m, d, t, ts, tstz, iv, ip, net, ai, ch) VALUES (100002, 32767,
          2147483647, 9223372036854775807, 'Infinity', 'NaN', 'NaN', '92233720368547758.07', '5874897-12-31',
          '24:00:00', '294276-12-31 23:59:59.999999', '4713-11-24 00:00:00+00 BC', '1 mon -1 days +00:00:00.000001',
          '::1', '::/0', '{{1,2},{3,4}}', '\\351'::"char")
        """,
        """
        INSERT INTO b_random (id, f4, f8, n, d, ts, tstz, iv, ip, net, at) VALUES (100003, '1e-45', '5e-324',
          '0.00000000000000000001', 'infinity', '-infinity', 'infinity', '-1 years -2 mons +3 days -04:05:06.5',
          '::2', '2001:db8::/32', '{}')
        """,
        """
        INSERT INTO b_random (id, f4, f8, n, d, ts, tstz, iv, ip, at) VALUES (100004, '3.4028235e38', '1.7976931348623157e308',
          '-Infinity', '-infinity', 'infinity', '-infinity', '0', '1:0:0:0:0:0:0:8', '{{a,b},{"c d",NULL}}')
        """,
        """
        INSERT INTO b_random (id, n, iv, ip, tx) VALUES (100005, 123456789012345678901234567890.123456789012345678901,
          '-00:00:00.000001', '::ffff:0:0', repeat('long ', 5000))
        """,
    ]

    @Test func everyValueReadsBackAsTheTextTheServerSends() throws {
        let server = try PostgresServer.start()
        let db = try server.createDatabase("binary_values")
        defer { db.close() }
        let reference = TypeFidelityTests.root.appendingPathComponent("tools/debezium-reference")
        var setup = try String(contentsOf: reference.appendingPathComponent("types.sql"), encoding: .utf8)
        var changes = try String(contentsOf: reference.appendingPathComponent("types-dml.sql"), encoding: .utf8)
        if try TypeFidelityTests.lacksContrib(db) {
            setup = setup.replacingOccurrences(
                of: "CREATE EXTENSION IF NOT EXISTS hstore;", with: TypeFidelityTests.hstoreStandIn
            )
            .replacingOccurrences(of: "CREATE EXTENSION IF NOT EXISTS citext;", with: "CREATE DOMAIN citext AS text;")
            changes = changes.replacingOccurrences(of: "'a=>1, b=>NULL'", with: #"'"a"=>"1", "b"=>NULL'"#)
        }
        if try TypeFidelityTests.lacksXML(db) {
            changes = changes.replacingOccurrences(of: TypeFidelityTests.xmlLiteral, with: "NULL")
        }
        for statement in setup.split(separator: "\n") where !statement.hasPrefix("--") && !statement.isEmpty {
            try db.execute(String(statement))
        }
        try db.execute(Self.randomDDL)
        try db.execute("CREATE PUBLICATION binary_values FOR ALL TABLES")
        try db.execute("SELECT pg_create_logical_replication_slot('binary_values', 'pgoutput')")
        for statement in changes.split(separator: "\n") where !statement.isEmpty { try db.execute(String(statement)) }
        try db.execute("SELECT setseed(0.19)")
        try db.execute(Self.randomRows)
        for row in Self.edgeRows { try db.execute(row) }
        // Updates and deletes carry old rows (REPLICA IDENTITY FULL) in binary too.
        try db.execute("ALTER TABLE b_random REPLICA IDENTITY FULL")
        try db.execute("UPDATE b_random SET i4 = -i4 WHERE id % 500 = 0")
        try db.execute("DELETE FROM b_random WHERE id % 700 = 0")

        func peek(binary: Bool) throws -> [LogicalMessage] {
            try db.execute(
                "SELECT data FROM pg_logical_slot_peek_binary_changes('binary_values', NULL, NULL, 'proto_version', '1', "
                    + "'publication_names', 'binary_values', 'binary', $1)", [binary ? "true" : "false"]
            ).map { row in try LogicalMessage.decode(PGOutputBytes.bytes(byteaHex: row[0] ?? "")) }
        }
        let text = try peek(binary: false)
        let binary = try peek(binary: true)
        #expect(text.count == binary.count)
        var builder = ChangeEventBuilder(settings: EventSettings(topicPrefix: "b", databaseName: "binary_values", version: "0"))
        var compared = 0
        var binaryColumns = 0
        var jsonCompared = 0
        // Every handling mode's encodings, each column's JSON written from its text and from its binary form.
        let handlings = [
            ValueHandling(),
            ValueHandling(decimal: .double, time: .connect, binary: .base64, interval: .string, hstore: .map),
            ValueHandling(decimal: .string, time: .adaptiveTimeMicroseconds, binary: .hex),
        ]
        var encodings: [UInt32: [[ColumnEncoding]]] = [:]
        var formats: [UInt32: [BinaryFormat?]] = [:]
        for (textMessage, binaryMessage) in zip(text, binary) {
            if case .relation(let relation) = binaryMessage {
                let facts = try db.tableMetadata(relationOID: relation.oid)
                try builder.register(
                    relation, metadata: TableMetadata(primaryKey: facts.primaryKey, notNull: facts.notNull, types: facts.types))
                encodings[relation.oid] = handlings.map { handling in
                    relation.columns.map {
                        ColumnEncoding(
                            typeOID: $0.typeOID, typeModifier: $0.typeModifier, facts: facts.types[$0.name], handling: handling)
                    }
                }
                formats[relation.oid] = relation.columns.map { BinaryFormat(typeOID: $0.typeOID, facts: facts.types[$0.name]) }
                continue
            }
            let oid: UInt32
            switch binaryMessage {
            case .insert(let change): oid = change.relationOID
            case .update(let change): oid = change.relationOID
            case .delete(let change): oid = change.relationOID
            default: continue
            }
            let converted = try builder.textual(binaryMessage)
            let pairs: [(TupleData, TupleData, TupleData)]
            switch (textMessage, converted, binaryMessage) {
            case (.insert(let expected), .insert(let actual), .insert(let raw)): pairs = [(expected.new, actual.new, raw.new)]
            case (.update(let expected), .update(let actual), .update(let raw)):
                pairs = [
                    (expected.new, actual.new, raw.new), (Self.tuple(expected.old), Self.tuple(actual.old), Self.tuple(raw.old)),
                ]
            case (.delete(let expected), .delete(let actual), .delete(let raw)):
                pairs = [(Self.tuple(expected.old), Self.tuple(actual.old), Self.tuple(raw.old))]
            default:
                continue
            }
            for (expected, actual, raw) in pairs {
                #expect(expected.count == actual.count)
                for index in 0..<min(expected.count, actual.count) {
                    if raw.columns[index].kind == .binary { binaryColumns += 1 }
                    guard expected.columns[index].kind != .text || actual.columns[index].kind == .text else {
                        // Only a type the connector leaves out of events may lose its value.
                        #expect(actual.columns[index].kind == .null, "column \(index) became \(actual.columns[index].kind)")
                        continue
                    }
                    if raw.columns[index].kind == .binary, expected.columns[index].kind == .text {
                        for columnEncodings in encodings[oid] ?? [] where columnEncodings[index] != .omitted {
                            var fromText = JSONBuffer(capacity: 64)
                            var fromBinary = JSONBuffer(capacity: 64)
                            let textWritten = expected.withValue(index) {
                                ValueWriter.write($0, as: columnEncodings[index], into: &fromText)
                            }
                            let binaryWritten = raw.withValue(index) {
                                ValueWriter.writeBinary(
                                    $0, format: formats[oid]?[index] ?? nil, as: columnEncodings[index], into: &fromBinary)
                            }
                            #expect(textWritten == binaryWritten)
                            #expect(
                                String(decoding: fromBinary.bytes, as: UTF8.self)
                                    == String(decoding: fromText.bytes, as: UTF8.self),
                                "\(columnEncodings[index]) from \(expected.text(index) ?? "")")
                            jsonCompared += 1
                        }
                    }
                    #expect(
                        actual.text(index) == expected.text(index),
                        "column \(index): binary \(raw.storage[raw.columns[index].range].map { String(format: "%02x", $0) }.joined())"
                    )
                    compared += 1
                }
            }
        }
        // 3,000 random rows of 33 columns and the type workload (about 99,000 values): the comparison is not vacuous.
        #expect(compared > 90_000)
        #expect(binaryColumns > 90_000)
        #expect(jsonCompared > 250_000)
    }

    static func tuple(_ old: Update.OldTuple?) -> TupleData {
        switch old {
        case .key(let tuple), .full(let tuple): tuple
        case nil: TupleData(text: [])
        }
    }

}
