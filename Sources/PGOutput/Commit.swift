/// The end of a transaction.
///
/// See [Commit](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct Commit: Sendable, Equatable {
    public var flags: UInt8
    /// The LSN of the commit record.
    public var commitLSN: LSN
    /// The end of the commit record: the position to confirm once the transaction is delivered.
    public var endLSN: LSN
    /// Commit time, microseconds since the Unix epoch.
    public var commitTimeMicros: Int64

    public init(flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTimeMicros: Int64) {
        self.flags = flags
        self.commitLSN = commitLSN
        self.endLSN = endLSN
        self.commitTimeMicros = commitTimeMicros
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        flags = try reader.readUInt8("Commit flags")
        commitLSN = try reader.readLSN("Commit commitLSN")
        endLSN = try reader.readLSN("Commit endLSN")
        commitTimeMicros = try reader.readTimestamp("Commit commitTime")
    }
}
