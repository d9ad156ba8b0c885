import ChangeEvents
import Foundation
import Testing

/// Confluent's AvroConverter (7.0.16) as Debezium 3.6.3 runs it: for each record of a reference run, the JSON
/// JsonConverter writes (schema and payload) goes through Tributary's Avro converter, which must register the schema
/// text the real converter registered and write the same bytes (tools/debezium-reference, FORMAT=avro).
@Suite struct AvroGoldenTests {
    struct Record {
        var topic: String
        var key: String
        var value: String
        var keyJSON: String
        var valueJSON: String
    }

    struct Registered {
        var subject: String
        var id: Int32
        var schema: String
    }

    static func load(_ file: String) throws -> (records: [Record], registered: [Registered]) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(file)")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var records: [Record] = []
        var registered: [Registered] = []
        var fields: [String: String] = [:]
        for line in lines where !line.hasPrefix("#") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let tag = String(line[..<space])
            fields[tag] = String(line[line.index(after: space)...])
            if tag == "VALUEJSON" {
                records.append(
                    Record(
                        topic: fields["TOPIC"]!, key: fields["KEY"]!, value: fields["VALUE"]!, keyJSON: fields["KEYJSON"]!,
                        valueJSON: fields["VALUEJSON"]!))
            } else if tag == "SCHEMA" {
                registered.append(Registered(subject: fields["SUBJECT"]!, id: Int32(fields["ID"]!)!, schema: fields["SCHEMA"]!))
            }
        }
        return (records, registered)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Converts one side of a record, and says how it differs from the reference (nil when equal).
    static func difference(json: String, expected: String, subject: String, registered: [Registered]) throws -> String? {
        if json == "null" { return expected == "null" ? nil : "expected bytes, got a null" }
        let document = try JSONTree.parse(json)
        let connect = try ConnectSchemaNode(json: try #require(document["schema"]))
        let schema = try AvroSchema(connect)
        let versions = registered.filter { $0.subject == subject }
        guard let match = versions.first(where: { $0.schema == schema.text }) else {
            return "\(subject): schema differs\n  ours:   \(schema.text)\n  theirs: \(versions.last?.schema ?? "none")"
        }
        // Through the tree, and straight from the bytes (the path events take), which must agree.
        let bytes = try AvroEncoder.record(schemaID: match.id, payload: document["payload"] ?? .null, schema: connect)
        var conversion = AvroConversion()
        let streamed = try conversion.convert(Array(json.utf8), topic: "t", isKey: false) { _, _ in match.id }
        if streamed != bytes { return "\(subject): the streaming encoder differs from the tree's" }
        if conversion.treeFallbacks > 0 { return "\(subject): the payload was not encoded straight from its bytes" }
        return hex(bytes) == expected ? nil : "\(subject): bytes differ\n  ours:   \(hex(bytes))\n  theirs: \(expected)"
    }

    @Test(arguments: [
        "avro-types.txt", "avro-options-a.txt", "avro-options-b.txt", "avro-options-c.txt", "avro-transaction-metadata.txt",
    ])
    func schemasAndBytesEqualAvroConverters(file: String) throws {
        let (records, registered) = try Self.load(file)
        #expect(records.count >= 10, "the reference run's records")
        #expect(!registered.isEmpty)
        var compared = 0
        for record in records {
            for (json, expected, side) in [(record.keyJSON, record.key, "key"), (record.valueJSON, record.value, "value")] {
                let difference = try Self.difference(
                    json: json, expected: expected, subject: "\(record.topic)-\(side)", registered: registered)
                #expect(difference == nil, "\(difference ?? "")")
                compared += 1
            }
        }
        #expect(compared == records.count * 2)
    }
}
