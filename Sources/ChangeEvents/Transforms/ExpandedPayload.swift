/// Debezium's outbox `table.expand.json.payload`: the payload column's JSON text becomes a struct whose schema is
/// inferred from the document, as Debezium's `JsonSchemaData` infers it (and Kafka Connect's JsonConverter then
/// writes it): integers are `int32` or `int64` by size, other numbers `double`, a null member is left out (or kept as
/// optional bytes), an empty array is left out, an array's elements take the first element's type (objects merged),
/// and each struct is named after its path (`payload`, `payload.address`).
struct ExpandedPayload {
    indirect enum Node: Equatable {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case null
        case array([Node])
        case object([(String, Node)])

        static func == (lhs: Node, rhs: Node) -> Bool {
            switch (lhs, rhs) {
            case (.string(let a), .string(let b)): a == b
            case (.bool(let a), .bool(let b)): a == b
            case (.int(let a), .int(let b)): a == b
            case (.double(let a), .double(let b)): a == b
            case (.null, .null): true
            case (.array(let a), .array(let b)): a == b
            case (.object(let a), .object(let b)): a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
            default: false
            }
        }
    }

    indirect enum Schema: Equatable {
        case string, boolean, int32, int64, float64, bytes
        case array(Schema)
        /// `optional` is false only for a struct merged from an array's differing objects, as Kafka's
        /// `SchemaUtil.copySchemaBasics` rebuilds it.
        case structure(name: String, fields: [Field], optional: Bool = true)

        struct Field: Equatable {
            var name: String
            var schema: Schema
        }
    }

    struct Failure: Error {
        var message: String
    }

    /// `table.json.payload.null.behavior`: `optional_bytes` keeps a null member as an optional bytes field.
    let nullsAsBytes: Bool

    /// The expanded payload's schema (without a field name) and value, as JsonConverter writes them; nil for text
    /// that does not start with `{` or `[` (a JSON string or number), which Debezium leaves as it is.
    func expand(_ text: String, key: String) throws(Failure) -> (schema: String, value: [UInt8])? {
        guard let first = text.utf8.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { return nil }
        var parser = Parser(bytes: Array(text.utf8))
        let node = try parser.document()
        guard case .object = node, let schema = try schema(key: key, node) else {
            throw Failure(message: "the payload is JSON but not an object, which Debezium's expansion cannot make a struct of")
        }
        var value = JSONBuffer(capacity: text.utf8.count + 16)
        try write(node, schema, into: &value)
        var schemaText = ""
        Self.write(schema, field: nil, into: &schemaText)
        return (schemaText, value.bytes)
    }

    // MARK: Schema inference (JsonSchemaData.toConnectSchema)

    func schema(key: String?, _ node: Node) throws(Failure) -> Schema? {
        switch node {
        case .string: return .string
        case .bool: return .boolean
        case .int(let value): return Int32(exactly: value) != nil ? .int32 : .int64
        case .double: return .float64
        case .null: return nullsAsBytes ? .bytes : nil
        case .array(let elements):
            guard !elements.isEmpty else { return nil }
            return .array(try elementSchema(key: key, elements))
        case .object(let members):
            var fields: [Schema.Field] = []
            for (name, member) in members {
                let fieldKey = (key?.isEmpty ?? true ? "" : key! + ".") + name
                if let schema = try schema(key: fieldKey, member), !fields.contains(where: { $0.name == name }) {
                    fields.append(Schema.Field(name: name, schema: schema))
                }
            }
            return .structure(name: key ?? "", fields: fields)
        }
    }

    private func elementSchema(key: String?, _ elements: [Node]) throws(Failure) -> Schema {
        let present = elements.filter { $0 != .null }
        guard let sample = present.first else {
            throw Failure(message: "an array of nulls only has no member schema")
        }
        for element in present {
            switch (sample, element) {
            case (.string, .string), (.bool, .bool), (.array, .array), (.object, .object): continue
            case (.int, .int), (.double, .double), (.int, .double), (.double, .int):
                if try schema(key: nil, sample) != schema(key: nil, element) {
                    throw Failure(message: "an array mixes number types")
                }
            default:
                throw Failure(message: "an array mixes member types")
            }
        }
        guard case .object = sample else {
            guard let schema = try schema(key: nil, sample) else { throw Failure(message: "an array member has no schema") }
            return schema
        }
        // Objects: their schemas merged, fields in first-seen order (a bytes field gives way to a typed one).
        var merged: Schema?
        var seen: [Schema] = []
        for element in present {
            guard let schema = try schema(key: key, element), !seen.contains(schema) else { continue }
            seen.append(schema)
            guard case .structure(let name, let fields, _) = schema, case .structure(_, var mergedFields, _)? = merged else {
                merged = schema
                continue
            }
            for field in fields {
                if let index = mergedFields.firstIndex(where: { $0.name == field.name }) {
                    if mergedFields[index].schema == .bytes && field.schema != .bytes { mergedFields[index] = field }
                } else {
                    mergedFields.append(field)
                }
            }
            // Debezium merges the distinct schemas in a hash set's order, which differs from run to run; first seen
            // order is one of the orders it writes.
            merged = .structure(name: name, fields: mergedFields, optional: false)
        }
        return merged ?? .structure(name: key ?? "", fields: [])
    }

    // MARK: Writing (JsonSchemaData.toConnectData, then JsonConverter)

    private func write(_ node: Node, _ schema: Schema, into out: inout JSONBuffer) throws(Failure) {
        switch (node, schema) {
        case (.null, _): out.appendNull()
        case (.string(let text), .string): out.appendString(text)
        case (.bool(let value), .boolean): out.appendBool(value)
        case (.int(let value), .int32) where Int32(exactly: value) != nil: out.appendInteger(value)
        case (.int(let value), .int64): out.appendInteger(value)
        case (.double(let value), .float64): Self.appendJavaDouble(value, into: &out)
        case (.array(let elements), .array(let element)):
            out.append(UInt8(ascii: "["))
            for (index, item) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try write(item, element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case (.object(let members), .structure(_, let fields, _)):
            out.append(UInt8(ascii: "{"))
            for (index, field) in fields.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.appendString(field.name)
                out.append(UInt8(ascii: ":"))
                if let member = members.first(where: { $0.0 == field.name }) {
                    try write(member.1, field.schema, into: &out)
                } else {
                    out.appendNull()
                }
            }
            out.append(UInt8(ascii: "}"))
        default:
            throw Failure(message: "a value does not fit the schema inferred from the first of its kind")
        }
    }

    /// Java's `Double.toString`, which Jackson writes.
    static func appendJavaDouble(_ value: Double, into out: inout JSONBuffer) {
        var text = "\(value)"
        if value.isNaN {
            text = "NaN"
        } else if value.isInfinite {
            text = value < 0 ? "-Infinity" : "Infinity"
        }
        _ = text.withUTF8 { JavaFloatFormat.write(UnsafeRawBufferPointer($0), into: &out) }
    }

    static func write(_ schema: Schema, field: String?, into out: inout String) {
        func close() {
            out += ",\"optional\":true"
        }
        switch schema {
        case .string: out += "{\"type\":\"string\""
        case .boolean: out += "{\"type\":\"boolean\""
        case .int32: out += "{\"type\":\"int32\""
        case .int64: out += "{\"type\":\"int64\""
        case .float64: out += "{\"type\":\"double\""
        case .bytes: out += "{\"type\":\"bytes\""
        case .array(let element):
            out += "{\"type\":\"array\",\"items\":"
            write(element, field: nil, into: &out)
        case .structure(let name, let fields, let optional):
            out += "{\"type\":\"struct\",\"fields\":["
            for (index, child) in fields.enumerated() {
                if index > 0 { out += "," }
                write(child.schema, field: child.name, into: &out)
            }
            out += "],\"optional\":\(optional)"
            out += ",\"name\":\(ConnectSchema.quote(name))"
            if let field { out += ",\"field\":\(ConnectSchema.quote(field))" }
            out += "}"
            return
        }
        close()
        if let field { out += ",\"field\":\(ConnectSchema.quote(field))" }
        out += "}"
    }

    // MARK: Parsing

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func document() throws(Failure) -> Node {
            let node = try value()
            skipSpace()
            guard index == bytes.count else { throw Failure(message: "the payload has text after its JSON") }
            return node
        }

        private mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
        }

        private mutating func value() throws(Failure) -> Node {
            skipSpace()
            guard index < bytes.count else { throw Failure(message: "the payload ends early") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(String, Node)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                        throw Failure(message: "the payload is not JSON: a member name is missing")
                    }
                    let name = try string()
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                        throw Failure(message: "the payload is not JSON: ':' is missing")
                    }
                    index += 1
                    members.append((name, try value()))
                    skipSpace()
                    guard index < bytes.count else { throw Failure(message: "the payload ends early") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    guard bytes[index] == UInt8(ascii: "}") else { throw Failure(message: "the payload is not JSON") }
                    index += 1
                    return .object(members)
                }
            case UInt8(ascii: "["):
                index += 1
                var elements: [Node] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
                while true {
                    elements.append(try value())
                    skipSpace()
                    guard index < bytes.count else { throw Failure(message: "the payload ends early") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    guard bytes[index] == UInt8(ascii: "]") else { throw Failure(message: "the payload is not JSON") }
                    index += 1
                    return .array(elements)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                for (word, node) in [("true", Node.bool(true)), ("false", .bool(false)), ("null", .null)]
                where bytes[index...].starts(with: word.utf8) {
                    index += word.utf8.count
                    return node
                }
                throw Failure(message: "the payload is not JSON")
            default:
                return try number()
            }
        }

        private mutating func number() throws(Failure) -> Node {
            let start = index
            var isInteger = true
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                    isInteger = false
                } else if !(byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || (byte >= 0x30 && byte <= 0x39)) {
                    break
                }
                index += 1
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger {
                guard let value = Int64(text) else {
                    throw Failure(message: "the payload holds \(text), an integer beyond 64 bits that Debezium cannot expand")
                }
                return .int(value)
            }
            guard let value = Double(text) else { throw Failure(message: "the payload is not JSON: \(text)") }
            return .double(value)
        }

        private mutating func string() throws(Failure) -> String {
            let scanner = JSONScanner(bytes)
            let end = scanner.end(ofValueAt: index)
            guard end <= bytes.count, end > index + 1, let text = scanner.string(at: index..<end) else {
                throw Failure(message: "the payload is not JSON: a string is not closed")
            }
            index = end
            return text
        }
    }
}
