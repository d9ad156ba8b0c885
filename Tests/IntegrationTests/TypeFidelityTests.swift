import Foundation
import KafkaSink
import PostgresReplication
import TestSupport
import Testing

/// Every type family through a real PostgreSQL and the connector, compared with what Debezium produced
/// for the same statements (Golden/, made by tools/debezium-reference/run.sh).
@Suite(.serialized) struct TypeFidelityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let tables = ["t_numbers", "t_text", "t_time", "t_net", "t_ranges", "t_arrays"]

    typealias GoldenRecord = (key: String?, value: String?, headers: [String: String])

    /// Records by topic, in order, from a golden file.
    static func golden(_ name: String) throws -> [String: [GoldenRecord]] {
        let text = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)"),
            encoding: .utf8)
        var records: [String: [GoldenRecord]] = [:]
        var topic = ""
        var key: String?
        var headers: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if line.hasPrefix("TOPIC ") { topic = String(line.dropFirst(6)) }
            if line.hasPrefix("HEADERS ") { headers = goldenHeaders(line.dropFirst(8)) }
            if line.hasPrefix("KEY ") { key = line.dropFirst(4) == "null" ? nil : String(line.dropFirst(4)) }
            if line.hasPrefix("VALUE ") {
                // `null` is a tombstone; `json:null` a value written as the JSON text null.
                let text = line.dropFirst(6)
                records[topic, default: []].append(
                    (key, text == "null" ? nil : text == "json:null" ? "null" : String(text), headers))
            }
        }
        return records
    }

    /// The reference tool writes each header as `name=<JsonConverter JSON>;` (with the schema envelope when schemas
    /// are on); Kafka Connect's SimpleHeaderConverter, which Tributary follows, writes a string bare and a struct as
    /// its JSON. The run id differs from run to run.
    static func goldenHeaders(_ text: Substring) -> [String: String] {
        var headers: [String: String] = [:]
        for entry in text.split(separator: ";") {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            var value = String(entry[entry.index(after: equals)...])
            if value.hasPrefix("{\"schema\":"), let payload = value.range(of: ",\"payload\":") {
                value = String(value[payload.upperBound...].dropLast())
            }
            if value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            headers[String(entry[..<equals])] = value
        }
        if headers["__debezium.context.runId"] != nil { headers["__debezium.context.runId"] = "-" }
        return blankingRunFacts(headers)
    }

    /// Headers a transform added from the source block that differ between runs (positions, times, the database).
    static func blankingRunFacts(_ headers: [String: String]) -> [String: String] {
        var headers = headers
        for name in headers.keys where !name.hasPrefix("__debezium") {
            if name.hasSuffix("lsn") || name.contains("ts_") || name.hasSuffix("db") { headers[name] = "-" }
        }
        return headers
    }

    /// A record's headers as text, its run id blanked once it is checked to be a version 7 UUID.
    static func headers(_ record: KafkaRecord) -> [String: String] {
        // The reference tool's JsonConverter writes a null header as the text null.
        var headers = record.headers.mapValues { $0.map { String(decoding: $0, as: UTF8.self) } ?? "null" }
        // Tributary's own: where the record stands in the connector's output (exactly once), not Debezium's.
        #expect(headers.removeValue(forKey: "__tributary.position")?.contains(":") == true, "a position header")
        if let runID = headers["__debezium.context.runId"] {
            let uuidV7 = /[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/
            #expect(runID.wholeMatch(of: uuidV7) != nil, "\(runID)")
            headers["__debezium.context.runId"] = "-"
        }
        return blankingRunFacts(headers)
    }

    /// The payload alone of a value with schemas, normalized.
    static func payload(_ value: String?) -> String? {
        guard let value = normalized(value), let range = value.range(of: ",\"payload\":") else { return normalized(value) }
        return String(value[range.upperBound...])
    }

    /// Blanks what differs between any two runs: times, positions, transaction ids, database and version.
    static func normalized(_ value: String?) -> String? {
        guard var value else { return nil }
        value = value.replacing(/"version":"[^"]*"/) { _ in "\"version\":\"-\"" }
        // Also as transforms add them, under a prefixed name (`__lsn`, `__source_ts_ms`, `__db`).
        value = value.replacing(/"([A-Za-z_]*?)(ts_ms|ts_us|ts_ns|txId|lsn)":-?\d+/) {
            "\"\($0.output.1)\($0.output.2)\":0"
        }
        value = value.replacing(/"([A-Za-z_]*?)db":"[^"]*"/) { "\"\($0.output.1)db\":\"-\"" }
        value = value.replacing(/"sequence":"(?:[^"\\]|\\.)*"/) { _ in "\"sequence\":\"-\"" }
        // CloudEvents: the id and time attributes, and the extension attributes of run facts (as strings).
        value = value.replacing(/"id":"name:([^;]*);lsn:[^;]*;txId:[^;]*;sequence:(?:[^"\\]|\\.)*"/) {
            "\"id\":\"name:\($0.output.1);-\""
        }
        value = value.replacing(/"time":"[^"]*"/) { _ in "\"time\":\"-\"" }
        value = value.replacing(/"iodebezium(version|tsms|tsus|tsns|txId|lsn|db|sequence)":"(?:[^"\\]|\\.)*"/) {
            "\"iodebezium\($0.output.1)\":\"-\""
        }
        return value
    }

    /// Runs `ddl`, starts the connector, runs `dml`, and compares every topic with the golden file.
    func run(
        _ name: String, ddl: String = "types.sql", dml: String = "types-dml.sql", tables: [String] = Self.tables,
        schemas: Bool, events: String = "", expectedCount: Int, timingDependentSchemas: Set<String> = [],
        topics explicitTopics: [String]? = nil, transforms: String? = nil, captured: String? = nil,
        dataBeforeStart: Bool = false, postgresExtra: String = "", server: PostgresServer? = nil, binary: Bool = false
    ) async throws {
        let topics = explicitTopics ?? tables.map { "dbz.public.\($0)" }
        // In binary mode (pgoutput's `binary` option) the events must be the same: the same golden files.
        let postgresExtra =
            binary ? (postgresExtra.isEmpty ? "" : postgresExtra + "\n  ") + "pgoutput_binary: true" : postgresExtra
        let harness = try Harness(
            database: "\(name.replacingOccurrences(of: "-", with: "_"))_schemas_\(schemas)\(binary ? "_binary" : "")",
            tables: captured,
            extra: "events: {schemas: \(schemas), skipped_operations: []\(events.isEmpty ? "" : ", " + events)}"
                + (transforms.map { "\ntransforms: \($0)" } ?? ""),
            topicPrefix: "dbz", postgresExtra: postgresExtra, server: server)
        let reference = Self.root.appendingPathComponent("tools/debezium-reference")
        let withoutXML = try Self.lacksXML(harness.db)
        let withoutContrib = try Self.lacksContrib(harness.db)
        var setup = try String(contentsOf: reference.appendingPathComponent(ddl), encoding: .utf8)
        if withoutContrib {
            setup = setup.replacingOccurrences(of: "CREATE EXTENSION IF NOT EXISTS hstore;", with: Self.hstoreStandIn)
                .replacingOccurrences(of: "CREATE EXTENSION IF NOT EXISTS citext;", with: "CREATE DOMAIN citext AS text;")
        }
        for statement in setup.split(separator: "\n") where !statement.hasPrefix("--") && !statement.isEmpty {
            try harness.db.execute(String(statement))
        }
        for topic in topics { try harness.kafka.createTopic(topic, partitions: 1) }
        var changes = try String(contentsOf: reference.appendingPathComponent(dml), encoding: .utf8)
        if withoutXML { changes = changes.replacingOccurrences(of: Self.xmlLiteral, with: "NULL") }
        if withoutContrib { changes = changes.replacingOccurrences(of: "'a=>1, b=>NULL'", with: #"'"a"=>"1", "b"=>NULL'"#) }
        // With `dataBeforeStart` the rows are there before the connector starts: its snapshot reads them.
        if dataBeforeStart {
            for statement in changes.split(separator: "\n") where !statement.isEmpty {
                try harness.db.execute(String(statement))
            }
        }
        let connector = try await harness.startConnector()
        if !dataBeforeStart {
            for statement in changes.split(separator: "\n") where !statement.isEmpty {
                try harness.db.execute(String(statement))
            }
        }
        var expected = try Self.golden("\(name)-schemas-\(schemas).txt")
        if withoutXML {
            expected = expected.mapValues { records in
                records.map { ($0.key, $0.value?.replacingOccurrences(of: Self.xmlGolden, with: "\"x\":null"), $0.headers) }
            }
        }
        let count = expected.values.map(\.count).reduce(0, +)
        #expect(count == expectedCount)
        let records = try await harness.records(topics, atLeast: count)
        #expect(try await connector.terminate() == 0)
        for topic in topics {
            let table = String(topic.split(separator: ".").last ?? "")
            let actual = records.filter { $0.topic == topic }
            let wanted = expected[topic] ?? []
            #expect(actual.count == wanted.count, "\(topic)")
            for (record, golden) in zip(actual, wanted) {
                #expect(record.keyText == golden.key, "\(topic) key")
                var headers = Self.headers(record)
                // Debezium's embedded engine leaves out a header whose value converts to null (SimpleHeaderConverter).
                for (name, value) in headers where value == "null" && golden.headers[name] == nil { headers[name] = nil }
                #expect(headers == golden.headers, "\(topic) headers")
                if timingDependentSchemas.contains(table) {
                    // Nullability and defaults of columns added mid-stream come from the live catalog, read when
                    // the Relation message arrives; for Debezium as for Tributary they depend on that moment.
                    #expect(Self.payload(record.valueText) == Self.payload(golden.value), "\(topic) value")
                } else {
                    #expect(Self.normalized(record.valueText) == Self.normalized(golden.value), "\(topic) value")
                }
            }
        }
    }

    /// The xml value of the type workload, and as the golden files hold it.
    static let xmlLiteral = #"'<a b="1">x</a>'"#
    static let xmlGolden = #""x":"<a b=\"1\">x</a>""#

    /// Whether the server was built without XML support (`--with-libxml`), as the PostgreSQL 16 and 18 wheels
    /// `make setup` installs are: it cannot take an xml value, so the workload's one xml value becomes null (and null
    /// in the golden records). Only those servers may lack it: Debian's PostgreSQL 15 runs the xml value itself.
    static func lacksXML(_ db: CatalogClient) throws -> Bool {
        do {
            _ = try db.execute("SELECT '<a/>'::xml")
            return false
        } catch {
            guard "\(error)".contains("unsupported XML feature") else { throw error }
            #expect(try [16, 18].contains(Self.major(db)), "only the PyPI wheels are built without libxml")
            return true
        }
    }

    /// Whether the server was built without the contrib extensions (hstore, citext), as the PostgreSQL 16 wheel
    /// `make setup` installs is. Their stand-ins give the connector what the extensions would: a base type named
    /// `hstore` whose values are the text hstore writes (its input and output are text's, and the workload's value is
    /// written in hstore's output form), and `citext` as a domain over text (a string either way). Only that server
    /// may lack them.
    static func lacksContrib(_ db: CatalogClient) throws -> Bool {
        let available =
            try db.execute("SELECT count(*) FROM pg_available_extensions WHERE name IN ('hstore', 'citext')").first?.first
            .flatMap { $0.flatMap(Int.init) } ?? 0
        guard available < 2 else { return false }
        #expect(try Self.major(db) == 16, "only the PostgreSQL 16 wheel is built without contrib")
        return true
    }

    /// The major version of the server `db` is connected to.
    static func major(_ db: CatalogClient) throws -> Int {
        (try db.execute("SHOW server_version_num").first?.first.flatMap { $0.flatMap(Int.init) } ?? 0) / 10000
    }

    static let hstoreStandIn = """
        CREATE TYPE hstore; \
        CREATE FUNCTION hstore_in(cstring) RETURNS hstore AS 'textin' LANGUAGE internal IMMUTABLE STRICT; \
        CREATE FUNCTION hstore_out(hstore) RETURNS cstring AS 'textout' LANGUAGE internal IMMUTABLE STRICT; \
        CREATE TYPE hstore (INPUT = hstore_in, OUTPUT = hstore_out, INTERNALLENGTH = VARIABLE, STORAGE = extended);
        """

    @Test func everyTypeMatchesDebeziumWithoutSchemas() async throws {
        try await run("types", schemas: false, expectedCount: 17)
    }

    @Test func everyTypeMatchesDebeziumWithSchemas() async throws {
        try await run("types", schemas: true, expectedCount: 17)
    }

    /// pgoutput's binary option: the same events for every type family, with schemas and without, streamed (the
    /// snapshot reads text either way).
    @Test(arguments: [false, true])
    func everyTypeMatchesDebeziumInBinaryMode(schemas: Bool) async throws {
        try await run("types", schemas: schemas, expectedCount: 17, binary: true)
    }

    static let identityTables = ["r_default", "r_full", "r_index", "r_nothing", "r_composite", "r_evolve", "r_defaults"]

    @Test(arguments: [false, true])
    func replicaIdentitiesToastCompositeKeysAndSchemaChangesMatchDebezium(schemas: Bool) async throws {
        try await run(
            "identity", ddl: "identity.sql", dml: "identity-dml.sql", tables: Self.identityTables, schemas: schemas,
            expectedCount: 34, timingDependentSchemas: ["r_evolve"])
    }

    /// Replica identities, unchanged TOASTed values, composite keys and columns added mid-stream, in binary mode.
    @Test func replicaIdentitiesToastCompositeKeysAndSchemaChangesMatchDebeziumInBinaryMode() async throws {
        try await run(
            "identity", ddl: "identity.sql", dml: "identity-dml.sql", tables: Self.identityTables, schemas: true,
            expectedCount: 34, timingDependentSchemas: ["r_evolve"], binary: true)
    }

    /// Quotes, spaces, dots, upper case and non-ASCII characters in schema, table and column names: topics and
    /// schema names replace what Kafka does not allow with `_`, as Debezium does; field names stay as they are.
    @Test(arguments: [false, true])
    func unusualIdentifiersMatchDebezium(schemas: Bool) async throws {
        try await run(
            "identifiers", ddl: "identifiers.sql", dml: "identifiers-dml.sql", schemas: schemas, expectedCount: 5,
            topics: ["dbz.Sales_Dept.Order.Items_v2", "dbz.public._n_c_d_"])
    }

    /// Debezium's `message.key.columns`: another column than the primary key, a table without one, a pattern picking
    /// two columns (in table order); keys, key schemas, partitions and what a delete's key holds when the column is not
    /// in the replica identity, as Debezium writes them.
    /// Also with pgoutput's binary mode (`binary`), where keys are written from the columns' send format.
    @Test(arguments: [(false, false), (true, false), (true, true)])
    func messageKeyColumnsMatchDebezium(schemas: Bool, binary: Bool) async throws {
        try await run(
            "keys", ddl: "keys.sql", dml: "keys-dml.sql", tables: ["k_orders", "k_nopk", "k_multi"], schemas: schemas,
            expectedCount: 21,
            postgresExtra: "message_key_columns: ['public.k_orders:customer_id', 'public.k_nopk:a', '(.*).k_multi:c_.*']",
            binary: binary)
    }

    /// Debezium's `column.exclude.list`: a column of a table with a primary key (left out of the publication, so it
    /// never leaves the database) and columns of a `REPLICA IDENTITY FULL` table (left out by the connector: a column
    /// list there would make PostgreSQL refuse the table's updates), as Debezium writes the events.
    @Test(arguments: [false, true])
    func columnFiltersMatchDebezium(schemas: Bool) async throws {
        try await run(
            "columns", ddl: "columns.sql", dml: "columns-dml.sql", tables: ["c_users", "c_cards"], schemas: schemas,
            expectedCount: 10,
            postgresExtra:
                "tables: [public.c_users, public.c_cards]\n  column_exclude_list: ['public.c_users.password', 'public.c_cards.card_.*']"
        )
    }

    /// Defaults the server computes (functions, sequences, `CURRENT_*`): Debezium's schemas, key schemas included,
    /// carry a placeholder per type (0, false, "", the epoch, the nil UUID; none for a variable numeric or an
    /// expression), which JsonConverter also writes for a null value.
    @Test(arguments: [false, true])
    func computedDefaultsMatchDebezium(schemas: Bool) async throws {
        try await run(
            "defaults", ddl: "defaults.sql", dml: "defaults-dml.sql", tables: ["defaults"], schemas: schemas,
            expectedCount: 3)
    }

    /// Generated columns a publication does not send (before PostgreSQL 18, or `publish_generated_columns = none`):
    /// left out of streamed events, read by snapshots, as Debezium does; on the server the tests run.
    @Test(arguments: [false, true])
    func unpublishedGeneratedColumnsMatchDebezium(schemas: Bool) async throws {
        for (golden, before) in [("generated-unpublished", false), ("generated-unpublished-snapshot", true)] {
            try await run(
                golden, ddl: "generated-unpublished.sql", dml: "generated-dml.sql", tables: ["lines"], schemas: schemas,
                expectedCount: before ? 1 : 6, dataBeforeStart: before,
                postgresExtra: "publication: dbzpub\n  publication_mode: existing")
        }
    }

    /// PostgreSQL 18 publishes stored generated columns (`publish_generated_columns = stored`, on an existing
    /// publication or with `postgres.publish_generated_columns` on one the connector makes): they are in streamed
    /// events and snapshots, with the schema default Debezium makes of the generation expression where it reads one
    /// (`upper(label)` becomes a default `""`, which JsonConverter writes for a null value). On PostgreSQL 18 whatever
    /// server the run tests.
    @Test(arguments: [false, true])
    func publishedGeneratedColumnsMatchDebeziumOnPostgreSQL18(schemas: Bool) async throws {
        let server = try PostgresServer.dedicated(major: 18)
        for (golden, before) in [("generated", false), ("generated-snapshot", true)] {
            try await run(
                golden, ddl: "generated.sql", dml: "generated-dml.sql", tables: ["lines"], schemas: schemas,
                expectedCount: before ? 1 : 6, dataBeforeStart: before,
                postgresExtra: "publication: dbzpub\n  publication_mode: existing", server: server)
        }
        // A publication the connector makes sends them when the file says so.
        try await run(
            "generated", ddl: "generated.sql", dml: "generated-dml.sql", tables: ["lines"], schemas: schemas,
            expectedCount: 6,
            postgresExtra: "tables: [public.lines]\n  publication: managed\n  publish_generated_columns: true",
            server: server)
    }

    /// Debezium's handling options, each golden file made with the same settings (its header names them).
    static let options: [(golden: String, events: String)] = [
        (
            "options-a",
            "decimal_handling: double, time_precision: connect, binary_handling: base64, interval_handling: string, hstore_handling: map"
        ),
        (
            "options-b",
            "decimal_handling: string, time_precision: adaptive_time_microseconds, binary_handling: hex, unavailable_value_placeholder: N/A"
        ),
        ("options-c", "binary_handling: base64-url-safe"),
    ]

    @Test(arguments: [0, 1, 2], [false, true])
    func handlingOptionsMatchDebezium(option: Int, schemas: Bool) async throws {
        let (golden, events) = Self.options[option]
        try await run(golden, schemas: schemas, events: events, expectedCount: 17)
    }

    /// The handling options on values read from binary (money, numerics, times, intervals, bytes as their modes say).
    @Test(arguments: [0, 1, 2])
    func handlingOptionsMatchDebeziumInBinaryMode(option: Int) async throws {
        let (golden, events) = Self.options[option]
        try await run(golden, schemas: false, events: events, expectedCount: 17, binary: true)
    }
}
