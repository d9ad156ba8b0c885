import Foundation
import PGOutput
import Testing

@testable import ChangeEvents

/// Transaction metadata replayed against what Debezium 3.6.3 wrote for tools/debezium-reference/txn-dml.sql: each
/// transaction's `BEGIN` and `END` records and each event's `transaction` block, given the positions Debezium saw.
@Suite struct TransactionMetadataTests {
    struct Record {
        var topic: String
        var key: String?
        var value: String?
    }

    static func golden(_ name: String) throws -> [Record] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("IntegrationTests/Golden/\(name)")
        var records: [Record] = []
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("TOPIC ") {
                records.append(Record(topic: String(line.dropFirst(6))))
            } else if line.hasPrefix("KEY ") {
                records[records.count - 1].key = line == "KEY null" ? nil : String(line.dropFirst(4))
            } else if line.hasPrefix("VALUE ") {
                records[records.count - 1].value = line == "VALUE null" ? nil : String(line.dropFirst(6))
            }
        }
        return records
    }

    static func object(_ text: String?) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data((text ?? "{}").utf8)) as? [String: Any] ?? [:]
        return parsed["payload"] as? [String: Any] ?? parsed
    }

    /// `xid` and position of an id `xid:lsn`.
    static func position(_ id: String) throws -> (xid: UInt32, lsn: LSN) {
        let parts = id.split(separator: ":")
        return (try #require(UInt32(parts[0])), LSN(try #require(UInt64(parts[1]))))
    }

    /// A record's tables (`name=count`, in order) and how many logical-message entries it has: those are named after
    /// Java's identity hash, which sets their place in the list too.
    static func collections(_ value: String?) throws -> (tables: [String], messages: Int) {
        let entries = try object(value)["data_collections"] as? [[String: Any]] ?? []
        let names = entries.map { "\($0["data_collection"] ?? "")=\($0["event_count"] ?? "")" }
        let tables = names.filter { !$0.contains("LogicalDecodingMessageId") }
        return (tables, names.count - tables.count)
    }

    @Test(arguments: [
        "transaction-metadata-schemas-false.txt", "transaction-metadata-schemas-true.txt",
        "transaction-metadata-filtered-schemas-false.txt", "transaction-metadata-filtered-schemas-true.txt",
    ])
    func recordsAndBlocksAreDebeziums(file: String) throws {
        let records = try Self.golden(file)
        let schemas = file.contains("schemas-true")
        var metadata = TransactionMetadata(topicPrefix: "dbz", schemas: schemas)
        var checkedBlocks = 0
        var checkedEnds = 0
        var messages: UInt32 = 0
        for record in records {
            let value = try Self.object(record.value)
            if record.topic == "dbz.transaction" {
                let (xid, lsn) = try Self.position(try #require(value["id"] as? String))
                let written: ChangeEvent
                if value["status"] as? String == "BEGIN" {
                    let millis = try #require(value["ts_ms"] as? Int64)
                    written = metadata.begin(xid: xid, commitTimeMicros: millis * 1000 + 123, at: lsn)
                    #expect(String(decoding: written.value ?? [], as: UTF8.self) == record.value)
                } else {
                    written = metadata.end(at: lsn)
                    let ours = String(decoding: written.value ?? [], as: UTF8.self)
                    // Tables in Java's order; messages counted, their names and places set by Java's identity hash.
                    #expect(try Self.collections(ours).tables == Self.collections(record.value).tables)
                    #expect(try Self.collections(ours).messages == Self.collections(record.value).messages)
                    let withoutCollections = { (text: String) in
                        text.replacingOccurrences(
                            of: #""data_collections":\[[^\]]*\]"#, with: "", options: .regularExpression)
                    }
                    #expect(withoutCollections(ours) == withoutCollections(record.value ?? ""))
                    checkedEnds += 1
                }
                #expect(written.topic == "dbz.transaction")
                #expect(String(decoding: written.key ?? [], as: UTF8.self) == record.key)
            } else if let block = value["transaction"] as? [String: Any] {
                let (_, lsn) = try Self.position(try #require(block["id"] as? String))
                let source = try #require(value["source"] as? [String: Any])
                let table = source["table"] as? String ?? ""
                let collection = table.isEmpty ? nil : "\(source["schema"] ?? "").\(table)"
                if collection == nil { messages += 1 }
                let ours = metadata.event(collection: collection, at: lsn, messageNumber: messages)
                let theirs = try JSONSerialization.data(withJSONObject: block, options: [.sortedKeys])
                let oursSorted = try JSONSerialization.data(
                    withJSONObject: try JSONSerialization.jsonObject(with: Data(ours)), options: [.sortedKeys])
                #expect(oursSorted == theirs, "\(String(decoding: ours, as: UTF8.self))")
                #expect(String(decoding: ours, as: UTF8.self).hasPrefix("{\"id\":"), "Debezium's field order")
                checkedBlocks += 1
            }
        }
        #expect(checkedBlocks >= 12 && checkedEnds >= 6, "the workload's transactions were all compared")
    }

    @Test func javaHashMapOrderIsByBucketThenInsertion() {
        var map = JavaStringHashMap()
        for name in ["public.t_lines", "public.t_lines", "public.t_audit"] { _ = map.increment(name) }
        #expect(map.entries.map(\.name) == ["public.t_lines", "public.t_audit"])
        #expect(map.entries.map(\.count) == [2, 1])
        // "Aa" and "BB" share Java's hash: one bucket, insertion order.
        var colliding = JavaStringHashMap()
        _ = colliding.increment("BB")
        _ = colliding.increment("Aa")
        #expect(colliding.entries.map(\.name) == ["BB", "Aa"])
        #expect(JavaStringHashMap.bucket("Aa", 16) == JavaStringHashMap.bucket("BB", 16))
    }
}
