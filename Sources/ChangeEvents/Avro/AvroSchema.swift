/// The Avro schema Confluent's AvroConverter (7.x, `AvroData.fromConnectSchema` with Connect metadata on) derives from
/// a Kafka Connect schema, as the text `org.apache.avro.Schema.toString()` writes and the converter registers:
///
/// - a struct is a record named after the schema (`dbz.public.orders.Value` → name `Value`, namespace
///   `dbz.public.orders`; the namespace is written only where it differs from the enclosing one, and a record defined
///   before is referred to by name);
/// - `int8`/`int16` are `int` with `connect.type`; a Connect `Decimal` is `bytes` with `scale`, `precision` (from
///   `connect.decimal.precision`, else 64) and `logicalType: decimal`; Connect's `Date`, `Time` and `Timestamp` get
///   `date`, `time-millis` and `timestamp-millis`;
/// - the schema's doc, version, parameters, default and name follow as `connect.doc`, `connect.version`,
///   `connect.parameters`, `connect.default` and `connect.name`;
/// - an optional schema is a union with `null`: `["null", T]`, or `[T, "null"]` when it has a default, and a field of
///   it gets that default (`null` for the first).
public struct AvroSchema: Sendable, Equatable {
    /// The schema's text, as registered.
    public let text: String
    /// What the encoder follows: the Connect schema it was derived from.
    public let connect: ConnectSchemaNode

    public struct Unsupported: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ connect: ConnectSchemaNode) throws(Unsupported) {
        var writer = Writer()
        try writer.write(connect, space: nil)
        text = writer.text
        self.connect = connect
    }

    public static func == (lhs: AvroSchema, rhs: AvroSchema) -> Bool { lhs.text == rhs.text }

    static let decimalName = "org.apache.kafka.connect.data.Decimal"
    static let defaultDecimalPrecision = 64

    private struct Writer {
        var text = ""
        /// Full names of the records written so far.
        var defined: Set<String> = []

        mutating func write(_ schema: ConnectSchemaNode, space: String?) throws(Unsupported) {
            guard schema.optional else { return try writeBase(schema, space: space) }
            text += "["
            if schema.defaultValue != nil {
                try writeBase(schema, space: space)
                text += ",\"null\"]"
            } else {
                text += "\"null\","
                try writeBase(schema, space: space)
                text += "]"
            }
        }

        mutating func writeBase(_ schema: ConnectSchemaNode, space: String?) throws(Unsupported) {
            switch schema.kind {
            case .structure:
                try writeRecord(schema, space: space)
            case .array:
                guard let elements = schema.elements else { throw Unsupported(description: "an array without items") }
                text += "{\"type\":\"array\",\"items\":"
                try write(elements, space: space)
                try writeProperties(schema)
                text += "}"
            case .map:
                guard let keys = schema.keys, let values = schema.elements else {
                    throw Unsupported(description: "a map without keys or values")
                }
                guard keys.kind == .string, !keys.optional else {
                    throw Unsupported(
                        description: "a map whose keys are not required strings (AvroConverter writes it as an array of "
                            + "MapEntry records, which Tributary does not yet)")
                }
                text += "{\"type\":\"map\",\"values\":"
                try write(values, space: space)
                try writeProperties(schema)
                text += "}"
            default:
                try writePrimitive(schema)
            }
        }

        mutating func writePrimitive(_ schema: ConnectSchemaNode) throws(Unsupported) {
            let avroType: String
            var leading = ""
            var logicalType: String?
            switch schema.kind {
            case .boolean: avroType = "boolean"
            case .int8, .int16:
                avroType = "int"
                leading = ",\"connect.type\":\"\(schema.kind.rawValue)\""
            case .int32:
                avroType = "int"
                if schema.name == "org.apache.kafka.connect.data.Date" { logicalType = "date" }
                if schema.name == "org.apache.kafka.connect.data.Time" { logicalType = "time-millis" }
            case .int64:
                avroType = "long"
                if schema.name == "org.apache.kafka.connect.data.Timestamp" { logicalType = "timestamp-millis" }
            case .float32: avroType = "float"
            case .float64: avroType = "double"
            case .string: avroType = "string"
            case .bytes:
                avroType = "bytes"
                if schema.name == AvroSchema.decimalName {
                    guard let scale = schema.parameter("scale").flatMap({ Int($0) }) else {
                        throw Unsupported(description: "a Decimal schema without a scale parameter")
                    }
                    let precision =
                        schema.parameter("connect.decimal.precision").flatMap { Int($0) } ?? AvroSchema.defaultDecimalPrecision
                    leading = ",\"scale\":\(scale),\"precision\":\(precision)"
                    logicalType = "decimal"
                }
            case .structure, .array, .map:
                throw Unsupported(description: "not a primitive type")
            }
            let hasProperties =
                !leading.isEmpty || logicalType != nil || schema.doc != nil || schema.version != nil
                || !schema.parameters.isEmpty || schema.defaultValue != nil || schema.name != nil
            guard hasProperties else {
                text += "\"\(avroType)\""
                return
            }
            text += "{\"type\":\"\(avroType)\"" + leading
            try writeProperties(schema)
            if let logicalType { text += ",\"logicalType\":\"\(logicalType)\"" }
            text += "}"
        }

        mutating func writeRecord(_ schema: ConnectSchemaNode, space: String?) throws(Unsupported) {
            let fullName = schema.name ?? "io.confluent.connect.avro.ConnectDefault"
            let (namespace, name) = Self.split(fullName)
            if defined.contains(fullName) {
                text += AvroSchema.quote(namespace == space ? name : fullName)
                return
            }
            defined.insert(fullName)
            text += "{\"type\":\"record\",\"name\":" + AvroSchema.quote(name)
            if namespace != space { text += ",\"namespace\":" + AvroSchema.quote(namespace ?? "") }
            text += ",\"fields\":["
            for (index, field) in schema.fields.enumerated() {
                if index > 0 { text += "," }
                text += "{\"name\":" + AvroSchema.quote(field.name) + ",\"type\":"
                try write(field.schema, space: namespace)
                if let value = field.schema.defaultValue {
                    text += ",\"default\":" + (try AvroSchema.defaultText(value, field.schema))
                } else if field.schema.optional {
                    text += ",\"default\":null"
                }
                text += "}"
            }
            text += "]"
            try writeProperties(schema)
            text += "}"
        }

        /// Connect's metadata, in the order AvroData adds it.
        mutating func writeProperties(_ schema: ConnectSchemaNode) throws(Unsupported) {
            if let doc = schema.doc { text += ",\"connect.doc\":" + AvroSchema.quote(doc) }
            if let version = schema.version { text += ",\"connect.version\":\(version)" }
            if !schema.parameters.isEmpty {
                text += ",\"connect.parameters\":{"
                text += schema.parameters.map { AvroSchema.quote($0.name) + ":" + AvroSchema.quote($0.value) }.joined(
                    separator: ",")
                text += "}"
            }
            if let value = schema.defaultValue { text += ",\"connect.default\":" + (try AvroSchema.defaultText(value, schema)) }
            if let name = schema.name { text += ",\"connect.name\":" + AvroSchema.quote(name) }
        }

        static func split(_ fullName: String) -> (namespace: String?, name: String) {
            guard let dot = fullName.lastIndex(of: ".") else { return (nil, fullName) }
            return (String(fullName[..<dot]), String(fullName[fullName.index(after: dot)...]))
        }
    }

    /// A default value as Avro's JSON: strings, numbers and booleans as they are.
    static func defaultText(_ value: JSONTree, _ schema: ConnectSchemaNode) throws(Unsupported) -> String {
        switch value {
        case .string(let text): return quote(text)
        case .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        default:
            throw Unsupported(
                description: "a default value of a \(schema.kind.rawValue) schema (\(schema.name ?? "unnamed")) that Tributary's "
                    + "Avro converter does not write yet")
        }
    }

    /// A JSON string as Jackson writes it (the same escaping as the JSON events).
    static func quote(_ text: String) -> String {
        var buffer = JSONBuffer(capacity: text.utf8.count + 2)
        buffer.appendString(text)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }
}

extension AvroSchema {
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// Avro's Parsing Canonical Form of a schema's text: only what decides the binary encoding (names in full, types,
    /// fields, symbols, items, values, sizes), without docs, defaults, logical types or `connect.*` properties. Two
    /// schemas with the same form encode every value to the same bytes.
    public static func parsingCanonicalForm(_ text: String) throws -> String {
        var defined: Set<String> = []
        return try canonical(JSONTree.parse(text), namespace: nil, defined: &defined)
    }

    private static let primitives: Set<String> = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]

    private static func canonical(_ node: JSONTree, namespace: String?, defined: inout Set<String>) throws -> String {
        func quoted(_ text: String) -> String {
            var buffer = JSONBuffer(capacity: text.utf8.count + 2)
            buffer.appendString(text)
            return String(decoding: buffer.bytes, as: UTF8.self)
        }
        func fullName(_ name: String, _ space: String?) -> String {
            name.contains(".") || space == nil || space == "" || primitives.contains(name) ? name : "\(space!).\(name)"
        }
        switch node {
        case .string(let name):
            return quoted(fullName(name, namespace))
        case .array(let branches):
            return "[" + (try branches.map { try canonical($0, namespace: namespace, defined: &defined) }).joined(separator: ",")
                + "]"
        case .object:
            guard let type = node["type"] else { throw Malformed(description: "a schema without a type") }
            guard case .string(let kind) = type else { return try canonical(type, namespace: namespace, defined: &defined) }
            switch kind {
            case "record", "error", "enum", "fixed":
                guard case .string(let name)? = node["name"] else {
                    throw Malformed(description: "a \(kind) without a name")
                }
                var space = namespace
                if case .string(let declared)? = node["namespace"] { space = declared }
                let full = fullName(name, space)
                if defined.contains(full) { return quoted(full) }
                defined.insert(full)
                let inner = full.contains(".") ? String(full[..<full.lastIndex(of: ".")!]) : nil
                var text = "{\"name\":\(quoted(full)),\"type\":\(quoted(kind))"
                switch kind {
                case "enum":
                    guard case .array(let symbols)? = node["symbols"] else {
                        throw Malformed(description: "an enum without symbols")
                    }
                    text +=
                        ",\"symbols\":["
                        + symbols.map { if case .string(let s) = $0 { quoted(s) } else { "null" } }
                        .joined(separator: ",") + "]"
                case "fixed":
                    guard case .number(let size)? = node["size"] else { throw Malformed(description: "a fixed without a size") }
                    text += ",\"size\":\(size)"
                default:
                    guard case .array(let fields)? = node["fields"] else {
                        throw Malformed(description: "a record without fields")
                    }
                    var parts: [String] = []
                    for field in fields {
                        guard case .string(let fieldName)? = field["name"], let fieldType = field["type"] else {
                            throw Malformed(description: "a field without a name or a type")
                        }
                        parts.append(
                            "{\"name\":\(quoted(fieldName)),\"type\":\(try canonical(fieldType, namespace: inner, defined: &defined))}"
                        )
                    }
                    text += ",\"fields\":[" + parts.joined(separator: ",") + "]"
                }
                return text + "}"
            case "array":
                guard let items = node["items"] else { throw Malformed(description: "an array without items") }
                return "{\"type\":\"array\",\"items\":\(try canonical(items, namespace: namespace, defined: &defined))}"
            case "map":
                guard let values = node["values"] else { throw Malformed(description: "a map without values") }
                return "{\"type\":\"map\",\"values\":\(try canonical(values, namespace: namespace, defined: &defined))}"
            default:
                return quoted(fullName(kind, namespace))
            }
        default:
            throw Malformed(description: "a schema that is neither a name, a union nor an object")
        }
    }
}
