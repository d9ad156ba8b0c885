import Foundation
import KafkaSink
import Testing

@testable import TestSupport

/// Avro end to end: the real binary, PostgreSQL, embedded Kafka and the test registry (a fixture speaking Confluent's
/// REST API). Records are in Confluent's wire format under the ids the registry gave; a column added mid-stream
/// registers a new version before the first event that carries it; an incompatible change stops the connector without
/// passing the change; a registry that is down holds the stream back and loses nothing.
@Suite(.serialized) struct AvroStreamingTests {
    static func schemaID(_ bytes: [UInt8]?) -> Int? {
        guard let bytes, bytes.count >= 5, bytes[0] == 0 else { return nil }
        return bytes[1..<5].reduce(0) { $0 << 8 | Int($1) }
    }

    /// Also with pgoutput's binary mode, whose rows the Avro writer reads as text.
    @Test(arguments: [false, true])
    func evolutionRegistersANewVersionAndAnIncompatibleChangeStops(binary: Bool) async throws {
        let registry = try await TestSchemaRegistry.start()
        defer { registry.stop() }
        let database = binary ? "avro_evolution_binary" : "avro_evolution"
        let harness = try Harness(
            database: database, tables: "public.items",
            extra: "events: {key_format: avro, value_format: avro}\nschema_registry: {url: \"\(registry.url)\"}",
            snapshotMode: "no_data", postgresExtra: binary ? "pgoutput_binary: true" : "")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        let port = try PostgresServer.freePort()
        let connector = try await harness.startConnector(healthPort: port)
        try harness.db.execute("INSERT INTO items VALUES (1, 'one')")
        try harness.db.execute("ALTER TABLE items ADD COLUMN qty int")
        try harness.db.execute("INSERT INTO items VALUES (2, 'two', 5)")
        let records = try await harness.records(["it.public.items"], atLeast: 2)
        #expect(records.count == 2)
        let subjects = registry.versions.map { "\($0.subject) v\($0.version)" }
        #expect(subjects == ["it.public.items-key v1", "it.public.items-value v1", "it.public.items-value v2"])
        let valueIDs = registry.versions.filter { $0.subject == "it.public.items-value" }.map(\.id)
        #expect(records.map { Self.schemaID($0.value) } == valueIDs)
        #expect(Set(records.map { Self.schemaID($0.key) }) == [registry.versions.first?.id])
        #expect(registry.versions.last?.schema.contains(#"{"name":"qty","type":["null","int"],"default":null}"#) == true)
        // Read back with the schemas registered: the rows, each under its own version.
        let schemas = Dictionary(registry.versions.map { (Int32($0.id), $0.schema) }, uniquingKeysWith: { first, _ in first })
        let values = try records.map { record in
            let id = try #require(Self.schemaID(record.value))
            return try AvroReader.read(try #require(record.value), schema: try #require(schemas[Int32(id)])).json
        }
        let keys = try records.map { record in
            let id = try #require(Self.schemaID(record.key))
            return try AvroReader.read(try #require(record.key), schema: try #require(schemas[Int32(id)])).json
        }
        #expect(keys == [#"{"id":1}"#, #"{"id":2}"#])
        #expect(values.first?.hasPrefix(#"{"before":null,"after":{"id":1,"label":"one"},"source":{"version":"#) == true)
        #expect(values.last?.hasPrefix(#"{"before":null,"after":{"id":2,"label":"two","qty":5},"source":{"version":"#) == true)
        #expect(values.allSatisfy { $0.contains(#""connector":"postgresql","name":"it","#) && $0.contains(#""op":"c""#) })
        #expect(values.count == 2)
        let metrics = try await httpGet("http://127.0.0.1:\(port)/metrics").body
        #expect(
            metrics.contains(
                #"tributary_schema_registry_requests_total{connector="\#(database.replacingOccurrences(of: "_", with: "-"))",outcome="ok"} 3"#
            ),
            "one request per schema and subject: the key, and two versions of the value")

        // A required column without a default: the new value schema cannot read the old one's records.
        try harness.db.execute("ALTER TABLE items ADD COLUMN code text NOT NULL DEFAULT 'x'")
        try harness.db.execute("ALTER TABLE items ALTER COLUMN code DROP DEFAULT")
        try harness.db.execute("INSERT INTO items VALUES (3, 'three', 1, 'c')")
        let afterInsert = try harness.currentWAL()
        try await connector.waitForLog("incompatible")
        #expect(connector.log.contains("public.items"))
        try await Task.sleep(for: .seconds(1))
        #expect(try !harness.slotReached(afterInsert), "the slot does not pass the refused change")
        _ = try await connector.terminate()
    }

    /// Snapshot rows take the same path: `op: r` records under the value subject's id, then the stream's.
    @Test func snapshotRowsAreWrittenInAvroToo() async throws {
        let registry = try await TestSchemaRegistry.start()
        defer { registry.stop() }
        let harness = try Harness(
            database: "avro_snapshot", tables: "public.items",
            extra: "events: {key_format: avro, value_format: avro}\nschema_registry: {url: \"\(registry.url)\"}")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text, price numeric(10,2))")
        try harness.db.execute("INSERT INTO items SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, 50) g")
        let connector = try await harness.startConnector()
        try harness.db.execute("INSERT INTO items VALUES (51, 'streamed', 2.25)")
        let records = try await harness.records(["it.public.items"], atLeast: 51)
        #expect(records.count == 51)
        let valueIDs = Set(records.map { Self.schemaID($0.value) })
        #expect(valueIDs.count == 1 && valueIDs.first != nil, "snapshot and stream share the value schema")
        #expect(registry.versions.map(\.subject) == ["it.public.items-key", "it.public.items-value"])
        // Read back: op "r" with the snapshot's markers for the 50 rows, "c" for the streamed one, the decimals exact.
        let schema = try #require(registry.versions.last?.schema)
        let values = try records.map { try AvroReader.read(try #require($0.value), schema: schema).json }
        let reads = values.filter { $0.contains(#""op":"r""#) }
        #expect(reads.count == 50)
        // (The topic's partitions each keep their order; across them the order is not kept.)
        #expect(reads.filter { $0.contains(#""snapshot":"first_in_data_collection""#) }.count == 1)
        #expect(reads.filter { $0.contains(#""snapshot":"last""#) }.count == 1)
        let streamed = values.filter { $0.contains(#""op":"c""#) }
        #expect(streamed.count == 1)
        #expect(streamed.first?.hasPrefix(#"{"before":null,"after":{"id":51,"label":"streamed","price":"AOE="}"#) == true)
        #expect(streamed.first?.contains(#""snapshot":"false""#) == true)
        _ = try await connector.terminate()
    }

    /// Over https: the registry's CA from `ca_file` is trusted; without it the registry counts as unreachable and
    /// nothing goes out until it is.
    @Test func anHTTPSRegistryIsTrustedThroughItsCAFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("registry-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = try TestSchemaRegistry.Certificate.selfSigned(in: directory)
        let registry = try await TestSchemaRegistry.start(tls: certificate)
        defer { registry.stop() }
        #expect(registry.url.hasPrefix("https://"))
        let trusted = try Harness(
            database: "avro_tls", tables: "public.items",
            extra:
                "events: {value_format: avro}\nschema_registry: {url: \"\(registry.url)\", ca_file: \(certificate.certificateFile)}",
            snapshotMode: "no_data")
        try trusted.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        let connector = try await trusted.startConnector()
        try trusted.db.execute("INSERT INTO items VALUES (1, 'one')")
        let records = try await trusted.records(["it.public.items"], atLeast: 1)
        #expect(records.count == 1 && Self.schemaID(records.first?.value) == registry.versions.first?.id)
        _ = try await connector.terminate()

        let untrusted = try Harness(
            database: "avro_tls_untrusted", tables: "public.items",
            extra: "events: {value_format: avro}\nschema_registry: {url: \"\(registry.url)\", timeout: 2s}",
            snapshotMode: "no_data")
        try untrusted.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        let refused = try await untrusted.startConnector()
        try untrusted.db.execute("INSERT INTO items VALUES (1, 'one')")
        try await refused.waitForLog("schema registry cannot be reached")
        #expect(try !untrusted.slotReached(try untrusted.currentWAL()))
        _ = try await refused.terminate()
    }

    /// `tributary check` asks the registry too: its compatibility level when it answers, a failure with the fix when not.
    @Test func checkAsksTheRegistry() async throws {
        let registry = try await TestSchemaRegistry.start()
        defer { registry.stop() }
        let harness = try Harness(
            database: "avro_check", tables: "public.items",
            extra: "events: {value_format: avro}\nschema_registry: {url: \"\(registry.url)\"}",
            snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        let passing = try runCommand(TributaryProcess.executablePath, ["check", harness.configPath])
        #expect(passing.output.contains("ok    schema registry answers at \(registry.url) (compatibility BACKWARD)"))
        registry.setDown(true)
        let failing = try runCommand(TributaryProcess.executablePath, ["check", harness.configPath])
        #expect(failing.status != 0)
        #expect(failing.output.contains("FAIL  schema registry at \(registry.url) does not answer"))
    }

    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    @Test func aRegistryThatIsDownHoldsTheStreamBackAndLosesNothing() async throws {
        let registry = try await TestSchemaRegistry.start()
        defer { registry.stop() }
        registry.setDown(true)
        let harness = try Harness(
            database: "avro_down", tables: "public.items",
            extra: "events: {value_format: avro}\nschema_registry: {url: \"\(registry.url)\", timeout: 2s}",
            snapshotMode: "no_data")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        let connector = try await harness.startConnector()
        for id in 1...20 { try harness.db.execute("INSERT INTO items VALUES (\(id), 'row \(id)')") }
        try await connector.waitForLog("schema registry cannot be reached")
        registry.setDown(false)
        let records = try await harness.records(["it.public.items"], atLeast: 20)
        #expect(records.count == 20)
        #expect(Set(records.compactMap(\.keyText)) == Set((1...20).map { #"{"id":\#($0)}"# }), "JSON keys beside Avro values")
        #expect(Set(records.map { Self.schemaID($0.value) }) == [registry.versions.first?.id])
        _ = try await connector.terminate()
    }
}
