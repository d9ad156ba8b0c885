import Foundation

/// Reads a record in Confluent's wire format back to JSON text, following the Avro schema it was written with (the
/// registry's text): the check that what the connector wrote is what its schema says, independent of the writer.
/// Records are objects with their fields in order, unions are their branch's value, bytes are base64, floats are
/// Swift's shortest text. A test fixture, not a general Avro library.
public enum AvroReader {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The schema id and the value as JSON text.
    public static func read(_ bytes: [UInt8], schema: String) throws -> (id: Int32, json: String) {
        guard bytes.count >= 5, bytes[0] == 0 else { throw Failure(description: "not Confluent's wire format") }
        let id = Int32(bitPattern: bytes[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard let parsed = try JSONSerialization.jsonObject(with: Data(schema.utf8), options: [.fragmentsAllowed]) as Any?
        else { throw Failure(description: "schema is not JSON") }
        var reader = Reader(bytes: bytes, index: 5)
        reader.define(parsed, namespace: nil)
        var json = ""
        try reader.value(parsed, namespace: nil, into: &json)
        guard reader.index == bytes.count else {
            throw Failure(description: "\(bytes.count - reader.index) bytes after the value")
        }
        return (id, json)
    }

    private struct Reader {
        let bytes: [UInt8]
        var index: Int
        /// Named types defined so far, by full name.
        var named: [String: [String: Any]] = [:]

        mutating func long() throws -> Int64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.count else { throw Failure(description: "the bytes end inside a number") }
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
                guard shift < 64 else { throw Failure(description: "a number longer than 10 bytes") }
            }
            return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
        }

        mutating func raw(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, index + count <= bytes.count else { throw Failure(description: "the bytes end too early") }
            defer { index += count }
            return bytes[index..<(index + count)]
        }

        /// Notes every named type, so that a reference finds its definition even when the branch that defines it was
        /// not taken (a null `before`).
        mutating func define(_ schema: Any, namespace: String?) {
            if let union = schema as? [Any] {
                for branch in union { define(branch, namespace: namespace) }
                return
            }
            guard let object = schema as? [String: Any] else { return }
            var inner = namespace
            if object["type"] as? String == "record", let name = object["name"] as? String {
                let space = (object["namespace"] as? String) ?? (name.contains(".") ? nil : namespace)
                let full = fullName(name, space)
                named[full] = object
                inner = full.contains(".") ? String(full[..<full.lastIndex(of: ".")!]) : nil
                for field in (object["fields"] as? [[String: Any]]) ?? [] {
                    if let type = field["type"] { define(type, namespace: inner) }
                }
            }
            for key in ["items", "values", "type"] where key != "type" || !(object["type"] is String) {
                if let nested = object[key] { define(nested, namespace: inner) }
            }
        }

        func fullName(_ name: String, _ namespace: String?) -> String {
            name.contains(".") || namespace == nil || namespace == "" ? name : "\(namespace!).\(name)"
        }

        mutating func value(_ schema: Any, namespace: String?, into json: inout String) throws {
            if let union = schema as? [Any] {
                let branch = Int(try long())
                guard branch >= 0, branch < union.count else { throw Failure(description: "union branch \(branch)") }
                return try value(union[branch], namespace: namespace, into: &json)
            }
            if let name = schema as? String {
                switch name {
                case "null": json += "null"
                case "boolean":
                    let byte = try raw(1).first!
                    json += byte == 1 ? "true" : "false"
                case "int", "long": json += String(try long())
                case "float":
                    let bits = try raw(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                    json += "\(Float(bitPattern: bits))"
                case "double":
                    let bits = try raw(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    json += "\(Double(bitPattern: bits))"
                case "bytes":
                    let count = Int(try long())
                    json += "\"" + Data(try raw(count)).base64EncodedString() + "\""
                case "string":
                    let count = Int(try long())
                    json += quoted(String(decoding: try raw(count), as: UTF8.self))
                default:
                    guard let type = named[fullName(name, namespace)] ?? named[name] else {
                        throw Failure(description: "unknown type \(name)")
                    }
                    try value(type, namespace: namespace, into: &json)
                }
                return
            }
            guard let object = schema as? [String: Any], let type = object["type"] else {
                throw Failure(description: "a schema that is neither a name, a union nor an object")
            }
            switch type as? String {
            case "record":
                guard let name = object["name"] as? String, let fields = object["fields"] as? [[String: Any]] else {
                    throw Failure(description: "a record without a name or fields")
                }
                let space = (object["namespace"] as? String) ?? (name.contains(".") ? nil : namespace)
                let full = fullName(name, space)
                named[full] = object
                let inner = full.contains(".") ? String(full[..<full.lastIndex(of: ".")!]) : nil
                json += "{"
                for (position, field) in fields.enumerated() {
                    guard let fieldName = field["name"] as? String, let fieldType = field["type"] else {
                        throw Failure(description: "a field without a name or type")
                    }
                    if position > 0 { json += "," }
                    json += quoted(fieldName) + ":"
                    try value(fieldType, namespace: inner, into: &json)
                }
                json += "}"
            case "array":
                guard let items = object["items"] else { throw Failure(description: "an array without items") }
                json += "["
                try blocks(into: &json) { reader, json in try reader.value(items, namespace: namespace, into: &json) }
                json += "]"
            case "map":
                guard let values = object["values"] else { throw Failure(description: "a map without values") }
                json += "{"
                try blocks(into: &json) { reader, json in
                    let length = Int(try reader.long())
                    json += reader.quoted(String(decoding: try reader.raw(length), as: UTF8.self)) + ":"
                    try reader.value(values, namespace: namespace, into: &json)
                }
                json += "}"
            default:
                // A primitive with properties (`{"type":"string","connect.name":…}`), or a nested type.
                try value(type, namespace: namespace, into: &json)
            }
        }

        /// An array's or map's blocks (a count, negative with a byte size after it, then the items; 0 ends them), the
        /// items separated by commas.
        mutating func blocks(into json: inout String, _ item: (inout Self, inout String) throws -> Void) throws {
            var first = true
            while true {
                var count = try long()
                if count == 0 { return }
                if count < 0 {
                    count = -count
                    _ = try long()  // the block's size in bytes
                }
                for _ in 0..<count {
                    if !first { json += "," }
                    first = false
                    try item(&self, &json)
                }
            }
        }

        func quoted(_ text: String) -> String {
            let data = try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"?\""
        }
    }
}
