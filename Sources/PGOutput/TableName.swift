/// A schema-qualified table name.
public struct TableName: Hashable, Sendable, CustomStringConvertible {
    public var schema: String
    public var name: String

    public init(schema: String, name: String) {
        self.schema = schema
        self.name = name
    }

    public var description: String { "\(schema).\(name)" }

    /// Parses `schema.table` or `table` (schema `public`); nil when a part is empty.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 1 {
            guard !parts[0].isEmpty else { return nil }
            self.init(schema: "public", name: String(parts[0]))
        } else {
            guard !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
            self.init(schema: String(parts[0]), name: String(parts[1]))
        }
    }
}
