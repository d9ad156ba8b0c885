/// Why a row change could not be turned into an event.
public enum EventEncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A change names a relation the stream has not described yet.
    case unknownRelation(oid: UInt32)
    /// A tuple has a different number of columns than its relation.
    case columnCountMismatch(table: String, expected: Int, actual: Int)
    /// A column value's text is not what its type produces.
    case unparseableValue(table: String, column: String, encoding: String, text: String)
    /// A column arrived in binary format (pgoutput's `binary` option) and its type's binary form is one the connector
    /// cannot read, or the bytes are not a value of it.
    case binaryValue(table: String, column: String, type: String)
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
        case .binaryValue(let table, let column, let type):
            "\(table).\(column): cannot read the binary value of type \(type) that pgoutput's binary mode sent; set "
                + "postgres.pgoutput_binary: false (text mode reads every type)"
        case .unrepresentable(let table, let field, let reason):
            "\(table).\(field): cannot be written in Avro: \(reason)"
        }
    }
}
