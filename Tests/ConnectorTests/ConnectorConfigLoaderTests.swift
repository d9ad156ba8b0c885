import ChangeEvents
import Connector
import PGOutput
import Testing

@Suite struct ConnectorConfigLoaderTests {
    let loader = ConnectorConfigLoader(environment: ["PGPASSWORD": "s3cret", "PREFIX": "shop"])

    func diagnostics(_ yaml: String) -> [String] {
        do {
            _ = try loader.parse(yaml, file: "c.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func minimalFileGetsDebeziumLikeDefaults() throws {
        let config = try loader.parse(
            """
            name: inventory
            postgres:
              url: postgresql://cdc@127.0.0.1/inventory
            kafka:
              bootstrap_servers: embedded
              topic_prefix: inventory
            """, file: "c.yaml")
        #expect(config.postgres.slot == "tributary_inventory")
        #expect(config.postgres.publication == "tributary_inventory")
        #expect(config.postgres.publicationMode == .allTables)
        #expect(config.postgres.statusInterval == .seconds(10))
        #expect(config.kafka.isEmbedded)
        #expect(config.events.schemas == false)
        #expect(config.events.tombstones)
        #expect(config.events.skippedOperations == [.truncate])
        #expect(config.snapshot.mode == .initial)
    }

    @Test func everyKeyOfTheDesignIsAccepted() throws {
        let config = try loader.parse(
            """
            name: orders-db
            postgres:
              url: postgresql://cdc@127.0.0.1:5432/inventory
              password: ${env:PGPASSWORD}
              slot: my_slot
              publication: my_pub
              publication_mode: filtered
              tables: [public.customers, orders]
              status_interval: 500ms
            kafka:
              bootstrap_servers: 127.0.0.1:9092
              topic_prefix: ${env:PREFIX}
              properties: {compression.type: lz4, linger.ms: 20}
            events:
              schemas: true
              tombstones: false
              skipped_operations: [c, t]
            snapshot:
              mode: never
            """, file: "c.yaml")
        #expect(config.postgres.password == "s3cret")
        #expect(
            config.postgres.tables == [
                TableName(schema: "public", name: "customers"), TableName(schema: "public", name: "orders"),
            ])
        #expect(config.postgres.statusInterval == .milliseconds(500))
        #expect(config.kafka.topicPrefix == "shop")
        #expect(config.kafka.properties.map(\.0) == ["compression.type", "linger.ms"])
        #expect(config.kafka.properties.map(\.1) == ["lz4", "20"])
        #expect(config.events.schemas)
        #expect(!config.events.tombstones)
        #expect(config.events.skippedOperations == [.create, .truncate])
        #expect(config.snapshot.mode == .noData)
    }

    @Test func unknownKeySuggestsTheClosestOne() {
        #expect(
            diagnostics(
                """
                name: a
                postgres:
                  url: postgresql://x/db
                  publicaton: p
                kafka: {bootstrap_servers: embedded, topic_prefix: a}
                """) == ["c.yaml:4:3: error: unknown key 'postgres.publicaton'; did you mean 'postgres.publication'?"])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let found = diagnostics(
            """
            name: Bad Name
            postgres:
              url: postgresql://x/db
              publication_mode: sometimes
            kafka:
              topic_prefix: a
            events:
              tombstones: maybe
            """)
        #expect(
            found == [
                "c.yaml:1:7: error: name 'Bad Name' must be 1–63 characters of a-z, 0-9, _ and -",
                "c.yaml:4:21: error: postgres.publication_mode must be one of filtered, all_tables, existing, not 'sometimes'",
                "c.yaml:6:3: error: missing required key 'kafka.bootstrap_servers' (host:port[,host:port], or embedded)",
                "c.yaml:8:15: error: events.tombstones must be true or false, not 'maybe'",
            ])
    }

    @Test func missingEnvironmentVariableIsNamed() {
        #expect(
            diagnostics(
                """
                name: a
                postgres: {url: postgresql://x/db, password: "${env:NOPE}"}
                kafka: {bootstrap_servers: embedded, topic_prefix: a}
                """) == ["c.yaml:2:46: error: postgres.password: environment variable NOPE is not set"])
    }

    @Test func notYAMLIsAnErrorWithAPosition() {
        let found = diagnostics("name: [unclosed\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("c.yaml:") == true)
        #expect(found.first?.contains("not valid YAML") == true)
    }

    @Test func emptyFileIsAnError() {
        #expect(diagnostics("") == ["c.yaml:1:1: error: file is empty; a connector needs at least name, postgres.url and kafka"])
    }

    @Test func passwordsAreRedactedFromURLs() throws {
        let config = try loader.parse(
            """
            name: a
            postgres: {url: "postgresql://cdc:hunter2@db:5432/app"}
            kafka: {bootstrap_servers: embedded, topic_prefix: a}
            """, file: "c.yaml")
        #expect(config.redactedURL == "postgresql://cdc:****@db:5432/app")
        var keyValue = config
        keyValue.postgres.url = "host=db password='hun ter2' dbname=app"
        #expect(keyValue.redactedURL == "host=db password=**** dbname=app")
    }
}
