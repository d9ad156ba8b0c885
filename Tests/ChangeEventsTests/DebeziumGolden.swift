import Foundation

/// Records Debezium itself produced, read from the Golden/ files (each says how it was made).
struct GoldenRecord: Equatable {
    var topic: String
    var key: String?
    var value: String?
}

enum DebeziumGolden {
    static func records(_ file: String) -> [GoldenRecord] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(file)")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var records: [GoldenRecord] = []
        var current = GoldenRecord(topic: "", key: nil, value: nil)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.hasPrefix("#") {
            if line.hasPrefix("TOPIC ") {
                current = GoldenRecord(topic: String(line.dropFirst(6)), key: nil, value: nil)
            } else if line.hasPrefix("KEY ") {
                let key = String(line.dropFirst(4))
                current.key = key == "null" ? nil : key
            } else if line.hasPrefix("VALUE ") {
                let value = String(line.dropFirst(6))
                current.value = value == "null" ? nil : value
                records.append(current)
            }
        }
        return records
    }

    /// Replaces the envelope's processing time (`ts_ms`/`ts_us`/`ts_ns` outside `source`), which no two runs share.
    static func normalized(_ value: String?) -> String? {
        guard var value else { return nil }
        value = value.replacing(/"ts_ms":\d+,"ts_us":\d+,"ts_ns":\d+\}(\}?)$/) { match in
            "\"ts_ms\":0,\"ts_us\":0,\"ts_ns\":0}\(match.output.1)"
        }
        value = value.replacing(/\{"op":"m","ts_ms":\d+,/) { _ in "{\"op\":\"m\",\"ts_ms\":0," }
        return value
    }
}
