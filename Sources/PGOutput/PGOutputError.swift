/// Why a replication frame or pgoutput message could not be decoded.
///
/// Every case names the byte offset, counted from the start of the frame or message
/// being decoded, so that a failure can be turned into a fixture.
public enum PGOutputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before `field` could be read.
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    /// A null-terminated string ran to the end of the input.
    case unterminatedString(field: String, offset: Int)
    /// A string was not valid UTF-8.
    case invalidString(field: String, offset: Int)
    /// The first byte of a replication frame is neither `w` nor `k`.
    case unknownFrameType(UInt8)
    /// The first byte of a pgoutput message is not one protocol version 1 defines.
    case unknownMessageType(UInt8, offset: Int)
    /// A tuple column kind other than `n`, `u`, `t` or `b`.
    case unknownColumnKind(UInt8, offset: Int)
    /// A tuple marker other than the ones allowed at that point (`N`, `K`, `O`).
    case unexpectedTupleMarker(UInt8, offset: Int)
    /// A count or length field holds a value that cannot be right.
    case invalidLength(field: String, value: Int, offset: Int)
    /// Bytes were left over after a complete message.
    case trailingBytes(count: Int, offset: Int)

    public var description: String {
        switch self {
        case .truncated(let field, let offset, let needed, let available):
            "truncated at byte \(offset): \(field) needs \(needed) bytes, \(available) left"
        case .unterminatedString(let field, let offset):
            "unterminated string \(field) at byte \(offset)"
        case .invalidString(let field, let offset):
            "invalid UTF-8 in \(field) at byte \(offset)"
        case .unknownFrameType(let byte):
            "unknown replication frame type 0x\(String(byte, radix: 16)) at byte 0"
        case .unknownMessageType(let byte, let offset):
            "unknown pgoutput message type 0x\(String(byte, radix: 16)) at byte \(offset)"
        case .unknownColumnKind(let byte, let offset):
            "unknown tuple column kind 0x\(String(byte, radix: 16)) at byte \(offset)"
        case .unexpectedTupleMarker(let byte, let offset):
            "unexpected tuple marker 0x\(String(byte, radix: 16)) at byte \(offset)"
        case .invalidLength(let field, let value, let offset):
            "invalid \(field) \(value) at byte \(offset)"
        case .trailingBytes(let count, let offset):
            "\(count) trailing bytes at byte \(offset)"
        }
    }
}
