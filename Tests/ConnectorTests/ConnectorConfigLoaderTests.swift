import ChangeEvents
import Connector
import Foundation
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

    /// `message_key_columns` and `incremental_snapshot.read_only` are read; a malformed key entry is one line.
    @Test func messageKeyColumnsAndReadOnlySnapshotsAreRead() throws {
        let base = """
            name: inventory
            kafka: {bootstrap_servers: embedded, topic_prefix: inventory}
            incremental_snapshot: {read_only: true}
            postgres:
              url: postgresql://cdc@127.0.0.1/inventory
            """
        let config = try loader.parse(base + "\n  message_key_columns: ['public.orders:customer_id, region']", file: "c.yaml")
        #expect(config.postgres.messageKeyColumns.entries.map(\.description) == ["public.orders:customer_id,region"])
        #expect(config.incrementalSnapshot.readOnly)
        let found = diagnostics(base + "\n  message_key_columns: [public.orders]")
        #expect(found.count == 1 && found[0].contains("postgres.message_key_columns: 'public.orders' is not"), "\(found)")
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

@Suite struct ConnectorFileErrorTests {
    let loader = ConnectorConfigLoader(environment: [:])

    func diagnostics(_ yaml: String) -> [String] {
        do {
            _ = try loader.parse(yaml, file: "f.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    static let valid = """
        name: a
        postgres:
          url: postgresql://x/db
        kafka:
          bootstrap_servers: embedded
          topic_prefix: a
        """

    @Test func theValidBaseFileHasNoProblems() {
        #expect(diagnostics(Self.valid).isEmpty)
    }

    @Test func wrongTypeForAList() {
        #expect(
            diagnostics(
                """
                name: a
                postgres:
                  url: postgresql://x/db
                  tables: public.orders
                kafka: {bootstrap_servers: embedded, topic_prefix: a}
                """) == ["f.yaml:4:11: error: postgres.tables must be a list, such as [a, b]"])
    }

    @Test func wrongTypeForASection() {
        #expect(
            diagnostics(
                """
                name: a
                postgres: postgresql://x/db
                kafka: {bootstrap_servers: embedded, topic_prefix: a}
                """) == ["f.yaml:2:11: error: postgres must be a mapping"])
    }

    @Test func wrongTypeForAString() {
        #expect(
            diagnostics(
                """
                name: [a, b]
                postgres: {url: postgresql://x/db}
                kafka: {bootstrap_servers: embedded, topic_prefix: a}
                """) == ["f.yaml:1:7: error: name must be a string"])
    }

    @Test func missingRequiredKeys() {
        #expect(
            diagnostics(
                """
                postgres: {}
                kafka: {bootstrap_servers: embedded}
                """)
                == [
                    "f.yaml:1:1: error: missing required key 'name'",
                    "f.yaml:1:11: error: missing required key 'postgres.url'",
                    "f.yaml:2:8: error: missing required key 'kafka.topic_prefix'",
                ])
    }

    @Test func emptyTableList() {
        #expect(
            diagnostics(
                """
                name: a
                postgres: {url: postgresql://x/db, tables: []}
                kafka: {bootstrap_servers: embedded, topic_prefix: a}
                """)
                == [
                    "f.yaml:2:44: error: postgres.tables is empty; list tables as schema.table, or remove the key to capture the whole publication"
                ])
    }

    @Test func invalidValues() {
        #expect(
            diagnostics(
                """
                name: a
                postgres: {url: postgresql://x/db, slot: Bad-Slot, status_interval: 10 seconds, tables: [a.b.c, ".x"]}
                kafka: {bootstrap_servers: embedded, topic_prefix: "a b"}
                events: {skipped_operations: [x]}
                snapshot: {mode: sometimes}
                """)
                == [
                    "f.yaml:2:42: error: postgres.slot 'Bad-Slot' must be 1–63 characters of a-z, 0-9 and _ (PostgreSQL's rule for slot names)",
                    "f.yaml:2:97: error: '.x' is not a table name; write schema.table, such as public.orders",
                    "f.yaml:2:69: error: postgres.status_interval must be a duration such as 500ms, 10s or 5m, not '10 seconds'",
                    "f.yaml:3:52: error: kafka.topic_prefix 'a b' may hold only a-z, A-Z, 0-9, '.', '_' and '-' (Kafka's rule for topic names)",
                    "f.yaml:4:31: error: events.skipped_operations: 'x' is not one of c, u, d, t (or none)",
                    "f.yaml:5:18: error: snapshot.mode must be one of initial, no_data, initial_only, when_needed, always, not 'sometimes'",
                ])
    }

    /// failover_slot and publish_generated_columns are read; the latter only for a publication the connector manages.
    @Test func failoverSlotAndGeneratedColumnsAreRead() throws {
        let config = try loader.parse(
            """
            name: a
            postgres: {url: postgresql://x/db, tables: [public.t], failover_slot: true, publish_generated_columns: true}
            kafka: {bootstrap_servers: embedded, topic_prefix: a}
            """, file: "f.yaml")
        #expect(config.postgres.failoverSlot && config.postgres.publishGeneratedColumns)
        #expect(
            diagnostics(
                """
                name: a
                postgres: {url: postgresql://x/db, publication_mode: existing, publish_generated_columns: true}
                kafka: {bootstrap_servers: embedded, topic_prefix: a}
                """
            ).first?.contains("with publication_mode: existing, set it on the publication") == true)
    }

    @Test func unknownKeyFarFromAnyListsTheAllowedOnes() {
        #expect(
            diagnostics(Self.valid + "\nzzzzzz: 1")
                == [
                    "f.yaml:7:1: error: unknown key 'zzzzzz'; allowed here: name, postgres, kafka, events, snapshot, errors, heartbeat, transforms, correlation, schema_registry, signals, incremental_snapshot"
                ])
    }

    @Test func binaryAndHugeFilesAreRefusedCleanly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("binary.yaml").path
        try Data([0x00, 0xFF, 0xFE, 0x00, 0x01]).write(to: URL(fileURLWithPath: binary))
        let huge = directory.appendingPathComponent("huge.yaml").path
        try Data(repeating: UInt8(ascii: "#"), count: ConnectorConfigLoader.maximumFileSize + 1).write(
            to: URL(fileURLWithPath: huge))
        let missing = directory.appendingPathComponent("missing.yaml").path
        for (path, message) in [
            (binary, "file is not UTF-8 text; a connector file is YAML"),
            (
                huge,
                "file is \(ConnectorConfigLoader.maximumFileSize + 1) bytes; a connector file is at most \(ConnectorConfigLoader.maximumFileSize) bytes"
            ),
            (missing, "cannot read file"),
        ] {
            #expect(throws: ConfigErrors.self) { try loader.load(file: path) }
            do {
                _ = try loader.load(file: path)
            } catch {
                #expect(error.diagnostics.map(\.description) == ["\(path):1:1: error: \(message)"])
            }
        }
    }

    @Test func duplicateConnectorNamesAcrossFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = directory.appendingPathComponent("one.yaml").path
        let second = directory.appendingPathComponent("two.yaml").path
        try Self.valid.write(toFile: first, atomically: true, encoding: .utf8)
        try Self.valid.write(toFile: second, atomically: true, encoding: .utf8)
        do {
            _ = try loader.load(files: [first, second])
            Issue.record("expected a duplicate-name error")
        } catch {
            #expect(
                error.diagnostics.map(\.description) == [
                    "\(second):1:1: error: connector name 'a' is already used by \(first); names must be unique"
                ])
        }
    }

    @Test func secretsFromFilesAreRead() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-secret-\(UUID().uuidString)").path
        try "s3cret\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try loader.parse(
            """
            name: a
            postgres: {url: postgresql://x/db, password: "${file:\(path)}"}
            kafka: {bootstrap_servers: embedded, topic_prefix: a}
            """, file: "f.yaml")
        #expect(config.postgres.password == "s3cret")
        #expect(
            diagnostics(
                """
                name: a
                postgres: {url: postgresql://x/db, password: "${file:/nonexistent/secret}"}
                kafka: {bootstrap_servers: embedded, topic_prefix: a}
                """) == ["f.yaml:2:46: error: postgres.password: cannot read file /nonexistent/secret"])
    }
}

@Suite struct ValueHandlingConfigTests {
    let loader = ConnectorConfigLoader(environment: [:])

    @Test func debeziumHandlingOptionsAreRead() throws {
        let config = try loader.parse(
            """
            name: a
            postgres: {url: postgresql://x/db}
            kafka: {bootstrap_servers: embedded, topic_prefix: a}
            events:
              decimal_handling: string
              time_precision: adaptive_time_microseconds
              binary_handling: base64-url-safe
              interval_handling: string
              hstore_handling: map
              unavailable_value_placeholder: N/A
            """, file: "f.yaml")
        #expect(
            config.events.values
                == ValueHandling(
                    decimal: .string, time: .adaptiveTimeMicroseconds, binary: .base64URLSafe, interval: .string, hstore: .map,
                    unavailablePlaceholder: "N/A"))
    }

    @Test func defaultsAreDebeziums() throws {
        let config = try loader.parse(ConnectorFileErrorTests.valid, file: "f.yaml")
        #expect(config.events.values == ValueHandling())
        #expect(ValueHandling().unavailablePlaceholder == "__debezium_unavailable_value")
    }

    @Test func anUnknownModeListsTheValidOnes() {
        do {
            _ = try loader.parse(ConnectorFileErrorTests.valid + "\nevents: {decimal_handling: exact}", file: "f.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(
                error.diagnostics.map(\.description) == [
                    "f.yaml:7:28: error: events.decimal_handling must be one of precise, double, string, not 'exact'"
                ])
        }
    }
}

@Suite struct SnapshotConfigTests {
    let loader = ConnectorConfigLoader(environment: [:])

    @Test func snapshotKeysAreRead() throws {
        let config = try loader.parse(
            """
            name: a
            postgres: {url: postgresql://x/db, exclude_tables: [public.audit, log]}
            kafka: {bootstrap_servers: embedded, topic_prefix: a}
            snapshot:
              mode: when_needed
              state_directory: /var/lib/tributary
              max_threads: 4
              range_pages: 512
              select_overrides: {public.orders: "SELECT * FROM public.orders WHERE id > 10"}
            """, file: "f.yaml")
        #expect(config.snapshot.mode == .whenNeeded)
        #expect(config.snapshot.stateDirectory == "/var/lib/tributary")
        #expect(config.snapshot.maxThreads == 4)
        #expect(config.snapshot.rangePages == 512)
        #expect(
            config.snapshot.selectOverrides == [
                TableName(schema: "public", name: "orders"): "SELECT * FROM public.orders WHERE id > 10"
            ])
        #expect(
            config.postgres.excludedTables == [
                TableName(schema: "public", name: "audit"), TableName(schema: "public", name: "log"),
            ])
    }

    @Test func snapshotDefaults() throws {
        let config = try loader.parse(ConnectorFileErrorTests.valid, file: "f.yaml")
        #expect(config.snapshot.mode == .initial)
        #expect(config.snapshot.stateDirectory == "state")
        #expect(config.snapshot.maxThreads == 2)
        #expect(config.snapshot.selectOverrides.isEmpty)
    }

    @Test func badSnapshotValuesAreReported() {
        do {
            _ = try loader.parse(
                ConnectorFileErrorTests.valid + "\nsnapshot: {max_threads: 0, select_overrides: {public.x: DELETE FROM x}}",
                file: "f.yaml")
            Issue.record("expected errors")
        } catch {
            #expect(
                error.diagnostics.map(\.description) == [
                    "f.yaml:7:25: error: snapshot.max_threads must be a positive whole number, not '0'",
                    "f.yaml:7:57: error: snapshot.select_overrides.public.x must be a SELECT returning the table's columns in order",
                ])
        }
    }
}

/// The `transforms` list: types, options and their order are checked at their line.
@Suite struct TransformsConfigTests {
    static let valid = ConnectorFileErrorTests.valid

    static func diagnostics(_ yaml: String) -> [String] {
        do {
            _ = try ConnectorConfigLoader(environment: [:]).parse(yaml, file: "f.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func anUnwrapEntryIsRead() throws {
        let config = try ConnectorConfigLoader(environment: [:]).parse(
            Self.valid
                + "\ntransforms:\n  - {type: unwrap, add_fields: [op, 'source.ts_ms:ts'], delete_tombstone_handling_mode: rewrite}",
            file: "f.yaml")
        var expected = Unwrap.Options()
        expected.addFields = ["op", "source.ts_ms:ts"]
        expected.deleteHandling = .rewrite
        #expect(config.transforms == [.unwrap(expected)])
    }

    @Test func badTypesOptionsAndValuesAreErrorsAtTheirLine() {
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {type: unwarp}")
                == ["f.yaml:8:12: error: transforms[0].type 'unwarp' is not a transform Tributary has; did you mean 'unwrap'?"])
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {type: unwrap, add_feilds: [op]}").first?.contains(
                "unknown key 'transforms[0].add_feilds'; did you mean 'transforms[0].add_fields'?") == true)
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {type: unwrap, delete_tombstone_handling_mode: keep}").first?
                .contains("must be one of drop, tombstone, rewrite, rewrite-with-tombstone, delete-to-tombstone") == true)
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {type: unwrap, add_fields: ['a.b.c']}").first?.contains(
                "'a.b.c' is not a field") == true)
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {add_fields: [op]}").first?.contains("has no type") == true)
    }
}

extension TransformsConfigTests {
    /// `${…}` stays a reference (a typo is an error); `$${…}` is the literal a replacement's group needs.
    @Test func aDoubledDollarIsALiteralReference() throws {
        let config = try ConnectorConfigLoader(environment: [:]).parse(
            Self.valid + "\ntransforms:\n  - {type: outbox, route_topic_replacement: 'events.$${routedByValue}'}",
            file: "f.yaml")
        guard case .outbox(let options) = config.transforms.first else {
            Issue.record("no outbox transform")
            return
        }
        #expect(options.topicReplacement == "events.${routedByValue}")
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {type: outbox, route_topic_replacement: 'events.${routedByValue}'}")
                .first?.contains("unknown reference '${routedByValue}'") == true)
    }
}

extension ValueHandlingConfigTests {
    @Test func cloudEventsFormatAndItsOptionsAreRead() throws {
        let config = try loader.parse(
            ConnectorFileErrorTests.valid
                + "\nevents: {format: cloudevents, cloudevents_extension_attributes: false, cloudevents_tracing_attributes: true}",
            file: "f.yaml")
        #expect(config.events.format == .cloudevents)
        #expect(config.events.cloudEvents == CloudEvents.Options(extensionAttributes: false, tracingAttributes: true))
        #expect(try loader.parse(ConnectorFileErrorTests.valid, file: "f.yaml").events.format == .debezium)
    }

    @Test func cloudEventsOptionsWithoutTheFormatAreAnError() {
        do {
            _ = try loader.parse(
                ConnectorFileErrorTests.valid + "\nevents: {cloudevents_tracing_attributes: true}", file: "f.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(
                error.diagnostics.map(\.description) == [
                    "f.yaml:7:10: error: events.cloudevents_tracing_attributes applies only with events.format: cloudevents"
                ])
        }
    }
}

extension ValueHandlingConfigTests {
    @Test func transactionMetadataAndItsTopicAreRead() throws {
        let config = try loader.parse(
            ConnectorFileErrorTests.valid + "\nevents: {transaction_metadata: true, transaction_topic: orders.tx}",
            file: "f.yaml")
        #expect(config.events.transactionMetadata && config.events.transactionTopic == "orders.tx")
        let plain = try loader.parse(ConnectorFileErrorTests.valid, file: "f.yaml")
        #expect(!plain.events.transactionMetadata && plain.events.transactionTopic == nil)
    }

    @Test func aTransactionTopicWithoutTheMetadataIsAnError() {
        do {
            _ = try loader.parse(ConnectorFileErrorTests.valid + "\nevents: {transaction_topic: tx}", file: "f.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(
                error.diagnostics.map(\.description) == [
                    "f.yaml:7:10: error: events.transaction_topic applies only with events.transaction_metadata: true"
                ])
        }
    }
}

extension TransformsConfigTests {
    @Test func headerFromNeedsAsManyHeadersAsFieldsAndAnOperation() throws {
        let config = try ConnectorConfigLoader(environment: [:]).parse(
            Self.valid + "\ntransforms:\n  - {type: header_from, fields: [id, name], headers: [x-id, x-name], operation: copy}",
            file: "f.yaml")
        #expect(
            config.transforms == [
                .headerFrom(HeaderFrom.Options(fields: ["id", "name"], headers: ["x-id", "x-name"], operation: .copy))
            ])
        #expect(
            Self.diagnostics(
                Self.valid + "\ntransforms:\n  - {type: header_from, fields: [id, name], headers: [x], operation: copy}"
            )
            .first?.contains("names 1 headers for 2 fields") == true)
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {type: header_from, fields: [id], headers: [x]}").first?.contains(
                "needs operation") == true)
    }
}

extension TransformsConfigTests {
    @Test func changedFieldsComesBeforeTheEnvelopeTransformAndNamesAHeader() {
        #expect(
            Self.diagnostics(
                Self.valid + "\ntransforms:\n  - {type: changed_fields, header_changed_name: C}\n  - {type: unwrap}"
            ).isEmpty)
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {type: unwrap}\n  - {type: changed_fields, header_changed_name: C}")
                .first?.contains("changed_fields reads the Debezium envelope") == true)
        #expect(
            Self.diagnostics(Self.valid + "\ntransforms:\n  - {type: changed_fields}").first?.contains(
                "needs header_changed_name or header_unchanged_name") == true)
    }
}
