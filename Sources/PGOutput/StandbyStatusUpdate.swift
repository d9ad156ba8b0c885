/// The client's report of how far it has written, flushed and applied the stream.
///
/// See [Streaming Replication Protocol](https://www.postgresql.org/docs/15/protocol-replication.html),
/// "Standby status update (F)". For logical replication the server uses `flushed` as the
/// slot's `confirmed_flush_lsn`.
public struct StandbyStatusUpdate: Sendable, Equatable {
    public var written: LSN
    public var flushed: LSN
    public var applied: LSN
    /// Client clock, microseconds since the Unix epoch.
    public var clockMicros: Int64
    public var replyRequested: Bool

    public init(written: LSN, flushed: LSN, applied: LSN, clockMicros: Int64, replyRequested: Bool = false) {
        self.written = written
        self.flushed = flushed
        self.applied = applied
        self.clockMicros = clockMicros
        self.replyRequested = replyRequested
    }

    /// The 34-byte CopyData payload.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(34)
        out.append(UInt8(ascii: "r"))
        func append(_ value: UInt64) {
            withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
        }
        append(written.rawValue)
        append(flushed.rawValue)
        append(applied.rawValue)
        append(UInt64(bitPattern: clockMicros - ReplicationFrame.postgresEpochOffsetMicros))
        out.append(replyRequested ? 1 : 0)
        return out
    }
}
