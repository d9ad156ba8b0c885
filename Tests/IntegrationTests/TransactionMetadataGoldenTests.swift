import Foundation
import KafkaSink
import TestSupport
import Testing

/// Transaction metadata (`events.transaction_metadata`) through a real PostgreSQL and the connector, compared with what
/// Debezium 3.6.3 wrote with `provide.transaction.metadata=true` for tools/debezium-reference/txn-dml.sql: several tables
/// in one transaction, a row updated twice, a rollback, logical messages inside and outside transactions, deletes, a
/// primary-key change, a truncate, and a table left out of the capture — with the publication of all tables (the
/// left-out table's transaction gets a `BEGIN` and an `END` with no events, as Debezium writes) and a filtered one.
@Suite(.serialized) struct TransactionMetadataGoldenTests {
    static let topics = ["dbz.transaction", "dbz.public.t_orders", "dbz.public.t_lines", "dbz.public.t_audit", "dbz.message"]

    static let cases: [(golden: String, postgres: String, records: Int)] = [
        ("transaction-metadata", "exclude_tables: [public.t_ignored]\n  publication_mode: all_tables", 31),
        ("transaction-metadata-filtered", "table_exclude_list: ['public\\.t_ignored']\n  publication_mode: filtered", 29),
    ]

    @Test(arguments: [0, 1], [false, true])
    func transactionRecordsAndBlocksMatchDebezium(index: Int, schemas: Bool) async throws {
        let (name, postgres, expectedCount) = Self.cases[index]
        let harness = try Harness(
            database: "\(name.replacingOccurrences(of: "-", with: "_"))_\(schemas)",
            extra: "events: {schemas: \(schemas), skipped_operations: [], transaction_metadata: true}",
            topicPrefix: "dbz", snapshotMode: "no_data", postgresExtra: postgres)
        let reference = TypeFidelityTests.root.appendingPathComponent("tools/debezium-reference")
        let setup = try String(contentsOf: reference.appendingPathComponent("txn.sql"), encoding: .utf8)
        for statement in setup.split(separator: "\n") where !statement.hasPrefix("--") && !statement.isEmpty {
            try harness.db.execute(String(statement))
        }
        for topic in Self.topics { try harness.kafka.createTopic(topic, partitions: 1) }
        let connector = try await harness.startConnector()
        let changes = try String(contentsOf: reference.appendingPathComponent("txn-dml.sql"), encoding: .utf8)
        for statement in changes.split(separator: "\n") where !statement.isEmpty && !statement.hasPrefix("--") {
            try harness.db.execute(String(statement))
        }
        let golden = try TypeFidelityTests.golden("\(name)-schemas-\(schemas).txt")
        #expect(golden.values.map(\.count).reduce(0, +) == expectedCount)
        let records = try await harness.records(Self.topics, atLeast: expectedCount)
        #expect(try await connector.terminate() == 0)

        let wanted = Self.topics.flatMap { topic in (golden[topic] ?? []).map { (topic, $0.key, $0.value) } }
        let actual = Self.topics.flatMap { topic in
            records.filter { $0.topic == topic }.map { (topic, $0.keyText, $0.valueText) }
        }
        let wantedIDs = Self.idRanks(wanted.flatMap { [$0.1, $0.2] })
        let actualIDs = Self.idRanks(actual.flatMap { [$0.1, $0.2] })
        #expect(actual.count == wanted.count)
        for topic in Self.topics {
            let mine = actual.filter { $0.0 == topic }
            let theirs = wanted.filter { $0.0 == topic }
            #expect(mine.count == theirs.count, "\(topic)")
            for (record, expected) in zip(mine, theirs) {
                #expect(Self.normalized(record.1, actualIDs) == Self.normalized(expected.1, wantedIDs), "\(topic) key")
                #expect(Self.normalized(record.2, actualIDs) == Self.normalized(expected.2, wantedIDs), "\(topic) value")
            }
        }
        // Transaction records carry no headers, as Debezium's, but Tributary's position.
        for record in records where record.topic == "dbz.transaction" {
            #expect(Array(record.headers.keys) == ["__tributary.position"])
        }
        Self.checkPositions(records, schemas: schemas)
        // Every data event's transaction id names its own position.
        for record in records where record.topic.hasPrefix("dbz.public.") {
            guard let value = Event(record).value else { continue }
            let payload = (schemas ? value["payload"] as? [String: Any] : value) ?? [:]
            guard let source = payload["source"] as? [String: Any], let block = payload["transaction"] as? [String: Any]
            else { continue }
            #expect(block["id"] as? String == "\(source["txId"] ?? ""):\(source["lsn"] ?? "")")
        }
    }

    static var transactionID: Regex<(Substring, Substring, Substring)> { /"id":"(\d+):(\d+)"/ }

    /// Per transaction: the `BEGIN` record's position is at or before its first event's, the `END` record's after its
    /// last event's (the commit's), as Debezium writes them.
    static func checkPositions(_ records: [KafkaRecord], schemas: Bool) {
        var events: [UInt64: [UInt64]] = [:]
        var begins: [UInt64: UInt64] = [:]
        var ends: [UInt64: UInt64] = [:]
        for record in records {
            guard let text = record.valueText, let match = text.firstMatch(of: transactionID),
                let xid = UInt64(match.output.1), let lsn = UInt64(match.output.2)
            else { continue }
            if record.topic == "dbz.transaction" {
                if text.contains("\"status\":\"BEGIN\"") { begins[xid] = lsn } else { ends[xid] = lsn }
            } else {
                events[xid, default: []].append(lsn)
            }
        }
        #expect(Set(begins.keys) == Set(ends.keys))
        for (xid, lsns) in events {
            guard let begin = begins[xid], let end = ends[xid], let first = lsns.min(), let last = lsns.max() else {
                Issue.record("transaction \(xid) has events but no BEGIN or END record")
                continue
            }
            #expect(begin <= first && end > last, "transaction \(xid): BEGIN at \(begin), events \(lsns), END at \(end)")
        }
    }

    /// Transaction ids differ between runs: their xids are replaced by their rank among the run's, and their positions
    /// left out (a transaction's first position depends on the WAL the server wrote, which differs between runs);
    /// which position each record's id names is checked on Tributary's records by `checkPositions`.
    static func idRanks(_ texts: [String?]) -> (xids: [String: Int], lsns: [String: Int]) {
        var xids: Set<UInt64> = []
        var lsns: Set<UInt64> = []
        for text in texts.compactMap({ $0 }) {
            for match in text.matches(of: transactionID) {
                xids.insert(UInt64(match.output.1) ?? 0)
                lsns.insert(UInt64(match.output.2) ?? 0)
            }
        }
        func ranks(_ values: Set<UInt64>) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: values.sorted().enumerated().map { ("\($0.element)", $0.offset) })
        }
        return (ranks(xids), ranks(lsns))
    }

    /// The run facts blanked (as the type goldens blank them), transaction ids ranked, and a logical message's
    /// collection name without its Java identity hash; an `END` record counting messages lists its collections
    /// sorted, since Java places each message's collection by that hash.
    static func normalized(_ text: String?, _ ids: (xids: [String: Int], lsns: [String: Int])) -> String? {
        guard var value = TypeFidelityTests.normalized(text) else { return nil }
        value = value.replacing(transactionID) { "\"id\":\"x\(ids.xids[String($0.output.1)] ?? -1):L\"" }
        value = value.replacing(/LogicalDecodingMessageId@[0-9a-f]+/) { _ in "LogicalDecodingMessageId@-" }
        if value.contains("LogicalDecodingMessageId@-\",\"event_count\""),
            let list = value.firstMatch(of: /"data_collections":\[([^\]]*)\]/)
        {
            let entries = list.output.1.matches(of: /\{[^}]*\}/).map { String($0.output) }.sorted()
            value.replaceSubrange(list.range, with: "\"data_collections\":[\(entries.joined(separator: ","))]")
        }
        return value
    }
}
