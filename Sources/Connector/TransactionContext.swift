import ChangeEvents
import PGOutput

/// Reads the context an application sets for its transaction (`pg_logical_emit_message(true, '<prefix>',
/// '{"traceparent": "…", "correlation_id": "…"}')`) as the headers every following event of the transaction carries.
struct TransactionContext {
    let correlation: ConnectorConfig.Correlation

    /// Why a context message cannot be read.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// The headers a context message sets: the configured keys renamed, or every string member under its own name.
    func headers(from content: [UInt8]) throws(Problem) -> [ChangeEvent.Header] {
        let scanner = JSONScanner(content)
        var start = 0
        while start < content.count, content[start] == UInt8(ascii: " ") || content[start] == UInt8(ascii: "\n") {
            start += 1
        }
        guard start < content.count, content[start] == UInt8(ascii: "{") else {
            throw Problem(description: "its content is not a JSON object such as {\"traceparent\": \"00-…\"}")
        }
        var values: [(key: String, value: String)] = []
        for member in scanner.members(ofObjectAt: start) {
            guard let key = scanner.string(at: member.name) else { continue }
            guard let value = scanner.string(at: member.value) else {
                throw Problem(description: "its member \(key) is not a string")
            }
            values.append((key, value))
        }
        if correlation.headers.isEmpty {
            return values.map { ChangeEvent.Header(name: $0.key, value: Array($0.value.utf8)) }
        }
        return correlation.headers.compactMap { mapping in
            values.first { $0.key == mapping.key }.map { ChangeEvent.Header(name: mapping.header, value: Array($0.value.utf8)) }
        }
    }
}
