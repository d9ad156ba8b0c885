/// A Kafka Connect schema, read from the JSON that JsonConverter writes for it (`{"type":"struct","fields":[…],
/// "optional":false,"name":…,"version":…}`): what an Avro converter needs to derive the Avro schema and to encode the
/// payload that comes with it. Read once per schema, never per event.
public final class ConnectSchemaNode: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case boolean, int8, int16, int32, int64
        case float32 = "float"
        case float64 = "double"
        case string, bytes, array, map
        case structure = "struct"
    }

    public struct Parameter: Equatable, Sendable {
        public var name: String
        public var value: String
    }

    public struct Field: Equatable, Sendable {
        public var name: String
        public var schema: ConnectSchemaNode
        /// The name as a JSON member name in quotes, as the encoder compares it.
        let quotedName: [UInt8]

        public init(name: String, schema: ConnectSchemaNode) {
            self.name = name
            self.schema = schema
            quotedName = Array("\"\(name)\"".utf8)
        }
    }

    public let kind: Kind
    public let optional: Bool
    public let name: String?
    public let version: Int?
    public let doc: String?
    public let parameters: [Parameter]
    /// The schema's default value, as JsonConverter writes it; nil when it has none.
    public let defaultValue: JSONTree?
    /// Whether it has a default: an optional schema's union then puts `null` second.
    let hasDefault: Bool
    public let fields: [Field]
    /// An array's elements, or a map's values.
    public let elements: ConnectSchemaNode?
    /// A map's keys.
    public let keys: ConnectSchemaNode?

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(
        kind: Kind, optional: Bool = false, name: String? = nil, version: Int? = nil, doc: String? = nil,
        parameters: [Parameter] = [], defaultValue: JSONTree? = nil, fields: [Field] = [], elements: ConnectSchemaNode? = nil,
        keys: ConnectSchemaNode? = nil
    ) {
        self.kind = kind
        self.optional = optional
        self.name = name
        self.version = version
        self.doc = doc
        self.parameters = parameters
        self.defaultValue = defaultValue
        hasDefault = defaultValue != nil
        self.fields = fields
        self.elements = elements
        self.keys = keys
    }

    /// Reads JsonConverter's form of a schema.
    public convenience init(json: JSONTree) throws(Invalid) {
        guard case .string(let typeName)? = json["type"], let kind = Kind(rawValue: typeName) else {
            throw Invalid(description: "a Connect schema without a known type: \(json["type"].map { "\($0)" } ?? "none")")
        }
        var parameters: [Parameter] = []
        if case .object(let members)? = json["parameters"] {
            for member in members {
                guard case .string(let value) = member.value else {
                    throw Invalid(description: "Connect schema parameter \(member.name) is not a string")
                }
                parameters.append(Parameter(name: member.name, value: value))
            }
        }
        var fields: [Field] = []
        if kind == .structure {
            guard case .array(let entries)? = json["fields"] else { throw Invalid(description: "a struct schema without fields") }
            for entry in entries {
                guard case .string(let fieldName)? = entry["field"] else {
                    throw Invalid(description: "a struct field without a name")
                }
                fields.append(Field(name: fieldName, schema: try ConnectSchemaNode(json: entry)))
            }
        }
        var elements: ConnectSchemaNode?
        var keys: ConnectSchemaNode?
        switch kind {
        case .array:
            guard let items = json["items"] else { throw Invalid(description: "an array schema without items") }
            elements = try ConnectSchemaNode(json: items)
        case .map:
            guard let keySchema = json["keys"], let valueSchema = json["values"] else {
                throw Invalid(description: "a map schema without keys or values")
            }
            keys = try ConnectSchemaNode(json: keySchema)
            elements = try ConnectSchemaNode(json: valueSchema)
        default:
            break
        }
        var version: Int?
        if case .number(let text)? = json["version"] { version = Int(text) }
        var name: String?
        if case .string(let text)? = json["name"] { name = text }
        var doc: String?
        if case .string(let text)? = json["doc"] { doc = text }
        let defaultValue = json["default"].flatMap { $0 == .null ? nil : $0 }
        self.init(
            kind: kind, optional: json["optional"] == .bool(true), name: name, version: version, doc: doc,
            parameters: parameters, defaultValue: defaultValue, fields: fields, elements: elements, keys: keys)
    }

    public func parameter(_ name: String) -> String? {
        parameters.first { $0.name == name }?.value
    }

    public static func == (lhs: ConnectSchemaNode, rhs: ConnectSchemaNode) -> Bool {
        lhs === rhs
            || (lhs.kind == rhs.kind && lhs.optional == rhs.optional && lhs.name == rhs.name && lhs.version == rhs.version
                && lhs.doc == rhs.doc && lhs.parameters == rhs.parameters && lhs.defaultValue == rhs.defaultValue
                && lhs.fields == rhs.fields && lhs.elements == rhs.elements && lhs.keys == rhs.keys)
    }
}
