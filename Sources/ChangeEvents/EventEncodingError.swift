/// Why a row change could not be turned into an event.
public enum EventEncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A change names a relation the stream has not described yet.
    case unknownRelation(oid: UInt32)
    /// A tuple has a different number of columns than its relation.
    case columnCountMismatch(table: String, expected: Int, actual: Int)
    /// A column value's text is not what its type produces.
    case unparseableValue(table: String, column: String, encoding: String, text: String)
    /// A column arrived in binary format, which Tributary does not request.
    case binaryValue(table: String, column: String)
    /// A value that has no form under its field's Avro schema (a null where the schema allows none and has no default).
    case unrepresentable(table: String, field: String, reason: String)

    public var description: String {
        switch self {
        case .unknownRelation(let oid):
            "change for relation \(oid) arrived before its Relation message"
        case .columnCountMismatch(let table, let expected, let actual):
            "\(table): row has \(actual) columns, relation has \(expected)"
        case .unparseableValue(let table, let column, let encoding, let text):
            "\(table).\(column): cannot encode \(text.prefix(80).debugDescription) as \(encoding)"
        case .binaryValue(let table, let column):
            "\(table).\(column): value arrived in binary format"
        case .unrepresentable(let table, let field, let reason):
            "\(table).\(field): cannot be written in Avro: \(reason)"
        }
    }
}
