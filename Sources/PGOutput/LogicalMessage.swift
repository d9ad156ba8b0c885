/// A pgoutput message, protocol version 1 with `messages 'true'`.
///
/// See [Logical Replication Message Formats](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public enum LogicalMessage: Sendable, Equatable {
    case begin(Begin)
    case commit(Commit)
    case origin(Origin)
    case relation(Relation)
    case type(TypeMessage)
    case insert(Insert)
    case update(Update)
    case delete(Delete)
    case truncate(Truncate)
    case message(DecodingMessage)

    /// Decodes the message that starts at `start` and runs to the end of `bytes`.
    ///
    /// Error offsets count from `start`. Tuple data keeps a reference to `bytes` (no copy).
    public static func decode(_ bytes: [UInt8], from start: Int = 0) throws(PGOutputError) -> LogicalMessage {
        var reader = ByteReader(bytes: bytes, from: start)
        let type = try reader.readUInt8("message type")
        let message: LogicalMessage
        switch type {
        case UInt8(ascii: "B"): message = .begin(try Begin(from: &reader))
        case UInt8(ascii: "C"): message = .commit(try Commit(from: &reader))
        case UInt8(ascii: "O"): message = .origin(try Origin(from: &reader))
        case UInt8(ascii: "R"): message = .relation(try Relation(from: &reader))
        case UInt8(ascii: "Y"): message = .type(try TypeMessage(from: &reader))
        case UInt8(ascii: "I"): message = .insert(try Insert(from: &reader))
        case UInt8(ascii: "U"): message = .update(try Update(from: &reader))
        case UInt8(ascii: "D"): message = .delete(try Delete(from: &reader))
        case UInt8(ascii: "T"): message = .truncate(try Truncate(from: &reader))
        case UInt8(ascii: "M"): message = .message(try DecodingMessage(from: &reader))
        default: throw .unknownMessageType(type, offset: 0)
        }
        try reader.expectEnd()
        return message
    }
}
