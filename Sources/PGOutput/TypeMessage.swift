/// The name of a data type that is not built in, sent before a relation that uses it.
///
/// See [Type](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct TypeMessage: Sendable, Equatable {
    public var oid: UInt32
    public var namespace: String
    public var name: String

    public init(oid: UInt32, namespace: String, name: String) {
        self.oid = oid
        self.namespace = namespace
        self.name = name
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        oid = try reader.readUInt32("Type oid")
        namespace = try reader.readCString("Type namespace")
        name = try reader.readCString("Type name")
    }
}
