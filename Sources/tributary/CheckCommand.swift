import ArgumentParser
import Connector
import Foundation
import KafkaSink
import PGOutput
import PostgresReplication

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Connect and verify everything a connector needs, one line per check, with the fix for each failure.",
        discussion: """
            Checks that wal_level is logical, the role may replicate, the publication and slot exist or can
            be created, the slot continues what the connector last confirmed (its record in the state
            directory), every captured table has a primary key or a replica identity that lets updates and
            deletes through, and Kafka answers. Changes nothing. Exits 0 when every check passes, 1 otherwise.

            Example:
              tributary check connectors/inventory.yaml
            """)

    @Argument(help: "A connector file.")
    var file: String

    func run() throws {
        let config: ConnectorConfig
        do {
            config = try ConnectorConfigLoader().load(file: file)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(ExitStatus.dataError)
        }
        var report = CheckReport()
        checkPostgres(config, &report)
        checkKafka(config, &report)
        checkSchemaRegistry(config, &report)
        print(
            report.failures == 0
                ? "all \(report.passed) checks passed" : "\(report.failures) of \(report.passed + report.failures) checks failed")
        if report.failures > 0 { throw ExitCode.failure }
    }

    func checkPostgres(_ config: ConnectorConfig, _ report: inout CheckReport) {
        let settings = ConnectionSettings(
            conninfo: config.postgres.url, password: config.postgres.password, applicationName: "tributary_check")
        let db: CatalogClient
        do {
            db = try CatalogClient(settings: settings)
            report.pass("connected to \(config.redactedURL)")
        } catch {
            report.fail(
                "cannot connect to \(config.redactedURL): \(error)",
                fix: "check postgres.url, postgres.password and that the server accepts the connection (pg_hba.conf)")
            return
        }
        defer { db.close() }
        do {
            // The same findings a session stops at.
            let prerequisites = try db.prerequisites()
            for finding in prerequisites.findings {
                if let fix = finding.fix { report.fail(finding.what, fix: fix) } else { report.pass(finding.what) }
            }
            let superuser = prerequisites.isSuperuser

            let publication = config.postgres.publication
            let exists = try db.publicationIsForAllTables(publication)
            var tables = config.postgres.tables
            let filter = TableFilter(config.postgres)
            if config.postgres.publicationMode == .filtered && filter.hasPatterns {
                tables = try db.userTables().filter(filter.captures)
            }
            switch (exists, config.postgres.publicationMode) {
            case (nil, .existing):
                report.fail(
                    "publication \(publication) does not exist",
                    fix: "CREATE PUBLICATION \(publication) FOR TABLE …, or set postgres.publication_mode to filtered")
            case (nil, .allTables):
                if superuser {
                    report.pass("publication \(publication) will be created FOR ALL TABLES")
                } else {
                    report.fail(
                        "publication \(publication) does not exist and FOR ALL TABLES needs a superuser",
                        fix: "create it as a superuser, or list postgres.tables (publication_mode: filtered)")
                }
            case (nil, .filtered):
                report.pass("publication \(publication) will be created for \(tables.count) table(s)")
            case (.some, _):
                report.pass("publication \(publication) exists")
                if tables.isEmpty { tables = try db.publicationTables(publication) }
            }
            if tables.isEmpty && exists == nil { tables = try db.userTables() }
            tables = tables.filter(filter.captures)

            let existingSlot = try db.slot(config.postgres.slot)
            if let slot = existingSlot {
                if slot.plugin == "pgoutput" {
                    report.pass(
                        "slot \(config.postgres.slot) exists (pgoutput, confirmed at \(slot.confirmedFlush.map(\.description) ?? "?"), wal_status \(slot.walStatus ?? "?"))"
                    )
                } else {
                    report.fail(
                        "slot \(config.postgres.slot) uses plugin \(slot.plugin ?? slot.slotType)",
                        fix: "SELECT pg_drop_replication_slot('\(config.postgres.slot)'), or set postgres.slot to another name")
                }
            } else {
                let count = try db.freeSlotCount()
                if count > 0 {
                    report.pass("slot \(config.postgres.slot) will be created (\(count) of max_replication_slots free)")
                } else {
                    report.fail(
                        "no free replication slot for \(config.postgres.slot)",
                        fix: "raise max_replication_slots and restart PostgreSQL, or drop an unused slot")
                }
            }

            try checkSlotRecord(config, slot: existingSlot, settings: settings, &report)

            for table in tables {
                guard let (identity, hasKey) = try db.replicaIdentity(of: table) else {
                    report.fail("table \(table) does not exist", fix: "create it, or remove it from postgres.tables")
                    continue
                }
                switch (identity, hasKey) {
                case ("d", true): report.pass("table \(table) has a primary key")
                case ("f", _):
                    report.pass(
                        "table \(table) has REPLICA IDENTITY FULL\(hasKey ? "" : " (no primary key: events have a null key)")")
                case ("i", _):
                    report.pass(
                        "table \(table) has a replica identity index\(hasKey ? "" : " (no primary key: events have a null key)")")
                default:
                    report.fail(
                        "table \(table) has no primary key and REPLICA IDENTITY \(identity == "n" ? "NOTHING" : "DEFAULT"): its updates and deletes will fail once published",
                        fix: "add a primary key, or ALTER TABLE \(table) REPLICA IDENTITY FULL")
                }
            }
        } catch {
            report.fail("catalog query failed: \(error)", fix: "check that the role can read pg_catalog")
        }
    }

    /// Whether the slot continues what the connector last confirmed, as `tributary run` will judge it.
    func checkSlotRecord(
        _ config: ConnectorConfig, slot: CatalogClient.SlotInfo?, settings: ConnectionSettings, _ report: inout CheckReport
    ) throws {
        let records = SlotRecordStore(directory: config.snapshot.stateDirectory, connector: config.name)
        guard let record = try records.load() else {
            report.pass("no slot record in \(records.path): the next start is this connector's first")
            return
        }
        let session = try ReplicationSession(settings: settings)
        defer { session.close() }
        let identity = try session.identifySystem()
        let observation = SlotObservation(
            systemIdentifier: identity.systemID, timeline: identity.timeline, databaseName: identity.databaseName,
            slot: slot.map { SlotObservation.Slot(confirmedFlush: $0.confirmedFlush, invalidation: $0.invalidation) })
        switch SlotContinuity.check(record: record, slot: config.postgres.slot, server: observation) {
        case .lost(let loss):
            switch config.slotLostAction {
            case .fail:
                report.fail(
                    "\(loss)",
                    fix: "set postgres.on_slot_lost: snapshot (read the tables again) or accept_gap (stream on without them)")
            case .snapshot:
                report.pass("\(loss); postgres.on_slot_lost is snapshot, so the next start reads every table again")
            case .acceptGap:
                report.pass("\(loss); postgres.on_slot_lost is accept_gap, so the next start streams on without them")
            }
        case .continues, .firstStart:
            report.pass(
                "slot \(config.postgres.slot) continues from what this connector confirmed (\(record.confirmedLSN) at \(record.confirmedAt))"
            )
        }
    }

    func checkKafka(_ config: ConnectorConfig, _ report: inout CheckReport) {
        if config.kafka.isEmbedded {
            report.pass("Kafka is embedded (started inside tributary run)")
            return
        }
        do {
            let producer = try KafkaProducer(
                properties: [("bootstrap.servers", config.kafka.bootstrapServers)] + config.kafka.properties)
            defer { producer.close() }
            let brokers = try producer.brokerCount(timeoutMilliseconds: 10_000)
            report.pass("Kafka answers at \(config.kafka.bootstrapServers) (\(brokers) broker\(brokers == 1 ? "" : "s"))")
        } catch {
            report.fail(
                "Kafka at \(config.kafka.bootstrapServers) does not answer: \(error)",
                fix: "check kafka.bootstrap_servers and kafka.properties (security settings)")
        }
    }
}

extension CheckCommand {
    func checkSchemaRegistry(_ config: ConnectorConfig, _ report: inout CheckReport) {
        guard let settings = config.schemaRegistry else { return }
        do {
            let registry = try RegistryAdapter(settings)
            defer { registry.close() }
            let level = try registry.compatibilityLevel()
            report.pass("schema registry answers at \(settings.urls.joined(separator: ",")) (compatibility \(level))")
        } catch {
            report.fail(
                "schema registry at \(settings.urls.joined(separator: ",")) does not answer: \(error)",
                fix: "check schema_registry.url, its credentials (basic_auth, bearer_token) and TLS files (ca_file, cert_file)")
        }
    }
}

struct CheckReport {
    var passed = 0
    var failures = 0

    mutating func pass(_ what: String) {
        passed += 1
        print("ok    \(what)")
    }

    mutating func fail(_ what: String, fix: String) {
        failures += 1
        print("FAIL  \(what)\n      fix: \(fix)")
    }
}
