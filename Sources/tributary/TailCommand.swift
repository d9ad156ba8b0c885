import ArgumentParser
import Foundation
import KafkaSink

struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the events of Tributary or Debezium topics in a compact, readable form.",
        discussion: """
            One line per event: topic, op, key, then the row (for an update, only the columns that changed
            when the event carries a before image). Reads from the beginning and follows until stopped.

            Example:
              tributary tail inventory.public.customers inventory.public.orders --bootstrap-servers 127.0.0.1:9092
            """)

    @Argument(help: "Topics to read.")
    var topics: [String]

    @Option(help: "Kafka bootstrap servers.")
    var bootstrapServers = "127.0.0.1:9092"

    @Flag(help: "Start at the end of each topic: print only new events.")
    var fromEnd = false

    @Option(help: "Stop after this many events.")
    var maxEvents: Int?

    func run() throws {
        let reader = try KafkaTopicReader(bootstrapServers: bootstrapServers)
        var pending = topics
        var waited = 0
        while !pending.isEmpty {
            pending = try pending.filter { try reader.partitionCount($0, timeoutMilliseconds: 5000) == nil }
            if pending.isEmpty { break }
            if waited == 0 {
                FileHandle.standardError.write(Data("waiting for topics: \(pending.joined(separator: ", "))\n".utf8))
            }
            waited += 1
            Thread.sleep(forTimeInterval: 1)
        }
        try reader.assign(topics, fromEnd: fromEnd)
        var printed = 0
        while maxEvents.map({ printed < $0 }) ?? true {
            guard let record = try reader.next(timeoutMilliseconds: 500) else { continue }
            print(EventLine.render(record))
            printed += 1
        }
    }
}

/// Renders one record as `topic op key details`.
enum EventLine {
    static func render(_ record: KafkaRecord) -> String {
        let key = record.keyText.map { unwrap($0) } ?? "null"
        guard let valueText = record.valueText else { return "\(record.topic) tombstone \(key)" }
        guard let data = valueText.data(using: .utf8),
            var value = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return "\(record.topic) ? \(key) \(valueText.prefix(200))" }
        if let payload = value["payload"] as? [String: Any], value["schema"] != nil { value = payload }
        let op = value["op"] as? String ?? "?"
        let before = value["before"] as? [String: Any]
        let after = value["after"] as? [String: Any]
        switch op {
        case "c", "r":
            return "\(record.topic) \(op) \(key) \(columns(after ?? [:]))"
        case "u":
            guard let before, let after else { return "\(record.topic) u \(key) \(columns(after ?? [:]))" }
            let changed = after.keys.sorted().filter { json(before[$0]) != json(after[$0]) }
            let text = changed.map { "\($0): \(json(before[$0])) → \(json(after[$0]))" }.joined(separator: ", ")
            return "\(record.topic) u \(key) \(changed.isEmpty ? "(no column changed)" : text)"
        case "d":
            return "\(record.topic) d \(key)"
        case "t":
            return "\(record.topic) t (table truncated)"
        case "m":
            let message = value["message"] as? [String: Any] ?? [:]
            let prefix = message["prefix"] as? String ?? ""
            let content = (message["content"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
            let text = String(data: content, encoding: .utf8) ?? content.map { String(format: "%02x", $0) }.joined()
            return "\(record.topic) m \(prefix): \(text)"
        default:
            return "\(record.topic) \(op) \(key)"
        }
    }

    static func unwrap(_ keyText: String) -> String {
        guard let data = keyText.data(using: .utf8),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            object["schema"] != nil, let payload = object["payload"]
        else { return keyText }
        return json(payload)
    }

    static func columns(_ row: [String: Any]) -> String {
        row.keys.sorted().map { "\($0)=\(json(row[$0]))" }.joined(separator: " ")
    }

    static func json(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "null" }
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
        else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}
