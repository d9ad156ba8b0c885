/// A bounds-checked big-endian reader over a byte array; every read throws instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    /// The index in `bytes` that error offsets are counted from.
    let base: Int
    private(set) var index: Int

    init(bytes: [UInt8], from start: Int = 0) {
        self.bytes = bytes
        self.base = start
        self.index = start
    }

    var offset: Int { index - base }
    var remaining: Int { bytes.count - index }

    private func require(_ count: Int, _ field: String) throws(PGOutputError) {
        if remaining < count {
            throw .truncated(field: field, offset: offset, needed: count, available: max(remaining, 0))
        }
    }

    mutating func readUInt8(_ field: String) throws(PGOutputError) -> UInt8 {
        try require(1, field)
        defer { index += 1 }
        return bytes[index]
    }

    mutating func readUInt16(_ field: String) throws(PGOutputError) -> UInt16 {
        try require(2, field)
        defer { index += 2 }
        return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }

    mutating func readUInt32(_ field: String) throws(PGOutputError) -> UInt32 {
        try require(4, field)
        defer { index += 4 }
        return bytes.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt32.self)) }
    }

    mutating func readInt32(_ field: String) throws(PGOutputError) -> Int32 {
        Int32(bitPattern: try readUInt32(field))
    }

    mutating func readUInt64(_ field: String) throws(PGOutputError) -> UInt64 {
        try require(8, field)
        defer { index += 8 }
        return bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt64.self)) }
    }

    mutating func readInt64(_ field: String) throws(PGOutputError) -> Int64 {
        Int64(bitPattern: try readUInt64(field))
    }

    /// Reads a PostgreSQL timestamp (microseconds since 2000-01-01) as microseconds since the Unix epoch,
    /// saturating at the ends of `Int64` (PostgreSQL's ±infinity) instead of overflowing.
    mutating func readTimestamp(_ field: String) throws(PGOutputError) -> Int64 {
        let (sum, overflow) = try readInt64(field).addingReportingOverflow(ReplicationFrame.postgresEpochOffsetMicros)
        return overflow ? .max : sum
    }

    mutating func readLSN(_ field: String) throws(PGOutputError) -> LSN {
        LSN(try readUInt64(field))
    }

    /// Reads a null-terminated UTF-8 string.
    mutating func readCString(_ field: String) throws(PGOutputError) -> String {
        let start = index
        var end = start
        while end < bytes.count, bytes[end] != 0 { end += 1 }
        guard end < bytes.count else { throw .unterminatedString(field: field, offset: start - base) }
        guard let string = String(validating: bytes[start..<end], as: UTF8.self) else {
            throw .invalidString(field: field, offset: start - base)
        }
        index = end + 1
        return string
    }

    /// Skips `count` bytes and returns their range in `bytes`.
    mutating func readRange(_ count: Int, _ field: String) throws(PGOutputError) -> Range<Int> {
        if count < 0 { throw .invalidLength(field: field, value: count, offset: offset) }
        try require(count, field)
        defer { index += count }
        return index..<(index + count)
    }

    func expectEnd() throws(PGOutputError) {
        if remaining > 0 { throw .trailingBytes(count: remaining, offset: offset) }
    }
}
