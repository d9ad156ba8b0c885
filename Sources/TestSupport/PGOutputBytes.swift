public import PGOutput

/// Builds replication frames and pgoutput messages byte by byte, for tests of what consumes them.
///
/// Decoder tests use bytes captured from a real server; these builders serve tests of the layers
/// above, where a scripted stream is clearer than a captured one.
public enum PGOutputBytes {
    /// The bytes of a `bytea` as a text query result shows them (`\x0a1b…`), e.g. the `data` of
    /// `pg_logical_slot_peek_binary_changes`.
    public static func bytes(byteaHex hex: String) -> [UInt8] {
        var result: [UInt8] = []
        let utf8 = Array(hex.utf8.dropFirst(2))  // "\x"
        result.reserveCapacity(utf8.count / 2)
        var index = 0
        func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
        while index + 1 < utf8.count {
            result.append(nibble(utf8[index]) << 4 | nibble(utf8[index + 1]))
            index += 2
        }
        return result
    }

    public static func xLogData(_ walStart: LSN, _ message: [UInt8]) -> [UInt8] {
        [UInt8(ascii: "w")] + be(walStart.rawValue) + be(walStart.rawValue) + be(0) + message
    }

    public static func keepalive(_ walEnd: LSN, replyRequested: Bool = false) -> [UInt8] {
        [UInt8(ascii: "k")] + be(walEnd.rawValue) + be(0) + [replyRequested ? 1 : 0]
    }

    public static func begin(finalLSN: LSN, commitTimeMicros: Int64 = 0, xid: UInt32) -> [UInt8] {
        [UInt8(ascii: "B")] + be(finalLSN.rawValue)
            + be(UInt64(bitPattern: commitTimeMicros - ReplicationFrame.postgresEpochOffsetMicros))
            + be32(xid)
    }

    public static func commit(commitLSN: LSN, endLSN: LSN, commitTimeMicros: Int64 = 0) -> [UInt8] {
        [UInt8(ascii: "C"), 0] + be(commitLSN.rawValue) + be(endLSN.rawValue)
            + be(UInt64(bitPattern: commitTimeMicros - ReplicationFrame.postgresEpochOffsetMicros))
    }

    /// A relation whose columns are `(name, typeOID, isKey)`, with no type modifiers.
    public static func relation(oid: UInt32, schema: String, table: String, columns: [(String, UInt32, Bool)]) -> [UInt8] {
        var bytes = [UInt8(ascii: "R")] + be32(oid) + cString(schema) + cString(table) + [UInt8(ascii: "d")]
        bytes += be16(UInt16(columns.count))
        for (name, type, isKey) in columns {
            bytes += [isKey ? 1 : 0] + cString(name) + be32(type) + be32(UInt32(bitPattern: -1))
        }
        return bytes
    }

    public static func insert(oid: UInt32, _ values: [String?]) -> [UInt8] {
        [UInt8(ascii: "I")] + be32(oid) + [UInt8(ascii: "N")] + tuple(values)
    }

    /// A logical decoding message ('M'), as `pg_logical_emit_message` sends it.
    public static func message(transactional: Bool, lsn: LSN, prefix: String, content: String) -> [UInt8] {
        [UInt8(ascii: "M"), transactional ? 1 : 0] + be(lsn.rawValue) + cString(prefix)
            + be32(UInt32(content.utf8.count)) + Array(content.utf8)
    }

    public static func tuple(_ values: [String?]) -> [UInt8] {
        var bytes = be16(UInt16(values.count))
        for value in values {
            if let value {
                bytes += [UInt8(ascii: "t")] + be32(UInt32(value.utf8.count)) + Array(value.utf8)
            } else {
                bytes.append(UInt8(ascii: "n"))
            }
        }
        return bytes
    }

    static func be(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    static func be32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    static func be16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    static func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
}
