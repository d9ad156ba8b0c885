/// One CopyData payload of a logical replication stream, server to client.
///
/// See [Streaming Replication Protocol](https://www.postgresql.org/docs/15/protocol-replication.html),
/// "XLogData (B)" and "Primary keepalive message (B)".
public enum ReplicationFrame: Sendable, Equatable {
    case xLogData(XLogData)
    case keepalive(PrimaryKeepalive)

    /// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 00:00 UTC).
    public static let postgresEpochOffsetMicros: Int64 = 946_684_800_000_000

    /// Decodes a frame; for XLogData the pgoutput message stays in `bytes` at `XLogData.messageStart`.
    public static func decode(_ bytes: [UInt8]) throws(PGOutputError) -> ReplicationFrame {
        var reader = ByteReader(bytes: bytes)
        let type = try reader.readUInt8("frame type")
        switch type {
        case UInt8(ascii: "w"):
            let walStart = try reader.readLSN("XLogData walStart")
            let walEnd = try reader.readLSN("XLogData walEnd")
            let sendTime = try reader.readTimestamp("XLogData sendTime")
            return .xLogData(
                XLogData(
                    walStart: walStart, walEnd: walEnd,
                    sendTimeMicros: sendTime,
                    bytes: bytes, messageStart: reader.index))
        case UInt8(ascii: "k"):
            let walEnd = try reader.readLSN("keepalive walEnd")
            let sendTime = try reader.readTimestamp("keepalive sendTime")
            let reply = try reader.readUInt8("keepalive replyRequested")
            try reader.expectEnd()
            return .keepalive(
                PrimaryKeepalive(
                    walEnd: walEnd, sendTimeMicros: sendTime, replyRequested: reply != 0))
        default:
            throw .unknownFrameType(type)
        }
    }
}

/// A chunk of WAL data: one pgoutput message.
public struct XLogData: Sendable, Equatable {
    /// The WAL position the message was decoded at (for a change, the change's LSN).
    public var walStart: LSN
    /// The end of WAL on the server; not a safe position to confirm.
    public var walEnd: LSN
    /// Server clock at transmission, in microseconds since the Unix epoch.
    public var sendTimeMicros: Int64
    /// The whole frame; the pgoutput message starts at `messageStart`.
    public var bytes: [UInt8]
    public var messageStart: Int

    public init(walStart: LSN, walEnd: LSN, sendTimeMicros: Int64, bytes: [UInt8], messageStart: Int) {
        self.walStart = walStart
        self.walEnd = walEnd
        self.sendTimeMicros = sendTimeMicros
        self.bytes = bytes
        self.messageStart = messageStart
    }

    /// Decodes the pgoutput message this frame carries.
    public func message() throws(PGOutputError) -> LogicalMessage {
        try LogicalMessage.decode(bytes, from: messageStart)
    }
}

/// The server's heartbeat, carrying its current position.
public struct PrimaryKeepalive: Sendable, Equatable {
    /// The position up to which the server has sent the stream.
    public var walEnd: LSN
    public var sendTimeMicros: Int64
    /// The server wants a standby status update now (or it will time the connection out).
    public var replyRequested: Bool

    public init(walEnd: LSN, sendTimeMicros: Int64, replyRequested: Bool) {
        self.walEnd = walEnd
        self.sendTimeMicros = sendTimeMicros
        self.replyRequested = replyRequested
    }
}
