/// The start of a transaction.
///
/// See [Begin](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct Begin: Sendable, Equatable {
    /// The LSN of the transaction's commit record.
    public var finalLSN: LSN
    /// Commit time, microseconds since the Unix epoch.
    public var commitTimeMicros: Int64
    public var xid: UInt32

    public init(finalLSN: LSN, commitTimeMicros: Int64, xid: UInt32) {
        self.finalLSN = finalLSN
        self.commitTimeMicros = commitTimeMicros
        self.xid = xid
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        finalLSN = try reader.readLSN("Begin finalLSN")
        commitTimeMicros = try reader.readTimestamp("Begin commitTime")
        xid = try reader.readUInt32("Begin xid")
    }
}
