import Foundation
import KafkaSink
import TestSupport
import Testing

/// Debezium connector configurations, imported with `tributary import-debezium` and run against a real PostgreSQL:
/// the connector captures what Debezium would, or the import refuses.
@Suite(.serialized) struct DebeziumImportRunTests {
    /// Runs `tributary import-debezium` on `config`; returns its exit status, the file (or nothing) and standard error.
    static func importConnector(
        _ config: [String: Any], harness: Harness, extra: [String] = []
    ) throws -> (
        status: Int32, yaml: String, output: String
    ) {
        let directory = URL(fileURLWithPath: harness.configPath).deletingLastPathComponent()
        let json = directory.appendingPathComponent("debezium.json")
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: json)
        let output = directory.appendingPathComponent("imported.yaml")
        try? FileManager.default.removeItem(at: output)
        let run = try runCommand(
            TributaryProcess.executablePath,
            ["import-debezium", json.path, "--bootstrap-servers", harness.kafka.bootstrapServers, "--output", output.path]
                + extra)
        let yaml = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return (run.status, yaml, run.output)
    }

    /// Writes an imported file beside the harness's, with the state directory the tests keep apart; returns its path.
    static func write(_ yaml: String, harness: Harness) throws -> String {
        let directory = URL(fileURLWithPath: harness.configPath).deletingLastPathComponent()
        let state = directory.appendingPathComponent("state").path
        let text = yaml.replacingOccurrences(of: "\nsnapshot:\n", with: "\nsnapshot:\n  state_directory: \(state)\n")
        #expect(text != yaml, "the imported file has a snapshot section")
        let path = directory.appendingPathComponent("imported.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func metrics(port: Int) async throws -> String {
        try await httpGet("http://127.0.0.1:\(port)/metrics").body
    }

    /// The tutorial's connector (debezium-examples, tutorial/register-postgres.json) with this server's address:
    /// `schema.include.list: inventory` captures the inventory schema only, tables created later included.
    @Test func theTutorialConnectorCapturesItsSchemaOnly() async throws {
        let harness = try Harness(database: "import_tutorial")
        try harness.db.execute("CREATE SCHEMA inventory")
        try harness.db.execute("CREATE TABLE inventory.customers (id int PRIMARY KEY, email text)")
        try harness.db.execute("CREATE TABLE public.other (id int PRIMARY KEY)")
        try harness.db.execute("INSERT INTO inventory.customers VALUES (1001, 'sally@example.com'), (1002, 'g@example.com')")
        try harness.db.execute("INSERT INTO public.other VALUES (1)")
        let tutorial: [String: Any] = [
            "name": "inventory-connector",
            "config": [
                "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "1",
                "database.hostname": "127.0.0.1", "database.port": "\(harness.server.port)", "database.user": "postgres",
                "database.password": "postgres", "database.dbname": "import_tutorial", "topic.prefix": "dbserver1",
                "schema.include.list": "inventory",
            ],
        ]
        let imported = try Self.importConnector(tutorial, harness: harness)
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.yaml.contains("schema_include_list: [\"inventory\"]"))
        let file = try Self.write(imported.yaml, harness: harness)
        let port = try PostgresServer.freePort()
        let connector = try TributaryProcess(
            ["run", file, "--health-port", "\(port)"], environment: ["PGPASSWORD": "postgres"])
        try await connector.waitForLog("streaming")

        try harness.db.execute("INSERT INTO public.other VALUES (2)")
        try harness.db.execute("CREATE TABLE inventory.products (id int PRIMARY KEY, name text)")
        try harness.db.execute("INSERT INTO inventory.products VALUES (101, 'scooter')")
        let records = try await harness.records(["dbserver1.inventory.customers", "dbserver1.inventory.products"], atLeast: 3)
        let events = records.map(Event.init)
        #expect(events.filter { $0.op == "r" }.count == 2, "the snapshot reads inventory.customers")
        #expect(events.contains { $0.record.topic == "dbserver1.inventory.products" && $0.op == "c" })
        let metrics = try await Self.metrics(port: port)
        #expect(metrics.contains("table=\"inventory.products\""))
        #expect(!metrics.contains("table=\"public.other\""), "public is outside schema.include.list")
        #expect(try await connector.terminate() == 0)
    }

    /// A production-style connector: a filtered publication over a regular-expression table list, heartbeats,
    /// producer overrides and settings of Connect's own machinery. With a column list it is refused; without, it runs.
    @Test func aProductionConnectorRunsOrIsRefusedForWhatItCannotHonour() async throws {
        let harness = try Harness(database: "import_production")
        for table in ["orders_2025", "orders_2026", "orders_archive"] {
            try harness.db.execute("CREATE TABLE public.\(table) (id int PRIMARY KEY, total numeric(10,2))")
            try harness.db.execute("INSERT INTO public.\(table) VALUES (1, 9.50)")
        }
        try harness.db.execute("CREATE TABLE public.customers (id int PRIMARY KEY, name text, ssn text)")
        try harness.db.execute("CREATE TABLE cdc_heartbeat (id int PRIMARY KEY, ts timestamptz)")
        try harness.db.execute("INSERT INTO cdc_heartbeat VALUES (1, now())")
        var config: [String: String] = [
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "1",
            "plugin.name": "pgoutput", "database.hostname": "127.0.0.1", "database.port": "\(harness.server.port)",
            "database.user": "postgres", "database.password": "${file:/opt/secrets/db.properties:password}",
            "database.dbname": "import_production", "database.sslmode": "disable", "topic.prefix": "shop",
            "slot.name": "shop_cdc", "publication.name": "shop_cdc", "publication.autocreate.mode": "filtered",
            "table.include.list": #"public\.orders_\d+,public\.customers"#,
            "column.exclude.list": "public.customers.ssn", "column.mask.with.4.chars": "public.customers.name",
            "snapshot.mode": "initial", "tombstones.on.delete": "true",
            "decimal.handling.mode": "string", "heartbeat.interval.ms": "10000",
            "heartbeat.action.query": "UPDATE cdc_heartbeat SET ts = now() WHERE id = 1",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false", "producer.override.compression.type": "lz4",
            "max.batch.size": "4096", "max.queue.size": "16384", "poll.interval.ms": "100", "slot.max.retries": "10",
            "errors.max.retries": "-1", "topic.creation.default.partitions": "6",
            "topic.creation.default.replication.factor": "3", "provide.transaction.metadata": "false",
        ]
        let refused = try Self.importConnector(["name": "shop-cdc", "config": config], harness: harness)
        #expect(refused.status == 65)
        #expect(refused.output.contains("column.mask.with.4.chars = public.customers.name: it masks column values"))
        #expect(refused.yaml.isEmpty, "no file is written")

        // The names may be published unmasked after all: without the mask the connector imports and runs, leaving the
        // SSN in the database (a column list on the publication).
        config["column.mask.with.4.chars"] = nil
        let imported = try Self.importConnector(["name": "shop-cdc", "config": config], harness: harness)
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("max.batch.size = 4096 is not imported: "))
        let file = try Self.write(imported.yaml, harness: harness)
        let port = try PostgresServer.freePort()
        let connector = try TributaryProcess(["run", file, "--health-port", "\(port)"], environment: ["PGPASSWORD": "x"])
        try await connector.waitForLog("streaming")
        try harness.db.execute("INSERT INTO public.customers VALUES (1, 'Ann', '123-45-6789')")
        try harness.db.execute("INSERT INTO public.orders_archive VALUES (2, 1)")
        try harness.db.execute("INSERT INTO public.orders_2026 VALUES (2, 12.25)")
        let records = try await harness.records(
            ["shop.public.orders_2025", "shop.public.orders_2026", "shop.public.customers"], atLeast: 4)
        let events = records.map(Event.init)
        #expect(events.contains { $0.record.topic == "shop.public.orders_2026" && $0.after?["total"] as? String == "12.25" })
        let customer = events.first { $0.record.topic == "shop.public.customers" }?.after
        #expect(customer?["name"] as? String == "Ann" && customer?["ssn"] == nil, "\(customer ?? [:])")
        #expect(!records.contains { ($0.valueText ?? "").contains("123-45-6789") })
        let metrics = try await Self.metrics(port: port)
        #expect(!metrics.contains("table=\"public.orders_archive\""), "orders_archive does not match public\\.orders_\\d+")
        #expect(
            try harness.db.execute("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'shop_cdc'").first?.first
                == "3")

        // A table created later that matches joins the filtered publication within seconds: the session restarts.
        try harness.db.execute("CREATE TABLE public.orders_2027 (id int PRIMARY KEY, total numeric(10,2))")
        try await connector.waitForLog("restarting to publish them")
        _ = try await Harness.waitForState("streaming", port: port, process: connector)
        #expect(
            try harness.db.execute("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'shop_cdc'").first?.first
                == "4")
        try harness.db.execute("INSERT INTO public.orders_2027 VALUES (1, 3.00)")
        let later = try await harness.records(["shop.public.orders_2027"], atLeast: 1)
        #expect(later.map(Event.init).first?.op == "c")
        #expect(try await connector.terminate() == 0)
    }
}
