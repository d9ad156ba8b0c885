/// A time-ordered UUID (RFC 9562 version 7) naming one run of a connector, as Debezium names each task start in its
/// `__debezium.context.runId` header.
enum RunIdentifier {
    /// `unixMillis` in the first 48 bits, then the version, 74 random bits and the variant.
    static func make(unixMillis: Int64 = Pipeline.wallClockNanos() / 1_000_000, random: (UInt64, UInt64)? = nil) -> String {
        var generator = SystemRandomNumberGenerator()
        let (high, low) = random ?? (generator.next(), generator.next())
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: UInt64(unixMillis) >> (8 * (5 - index))) }
        for index in 6..<8 { bytes[index] = UInt8(truncatingIfNeeded: high >> (8 * (index - 6))) }
        for index in 8..<16 { bytes[index] = UInt8(truncatingIfNeeded: low >> (8 * (index - 8))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }
}
