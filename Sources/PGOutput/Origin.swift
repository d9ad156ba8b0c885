/// The replication origin a transaction came from.
///
/// See [Origin](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct Origin: Sendable, Equatable {
    public var commitLSN: LSN
    public var name: String

    public init(commitLSN: LSN, name: String) {
        self.commitLSN = commitLSN
        self.name = name
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        commitLSN = try reader.readLSN("Origin commitLSN")
        name = try reader.readCString("Origin name")
    }
}
