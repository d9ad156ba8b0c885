/// A position in the PostgreSQL write-ahead log.
///
/// Written as PostgreSQL writes it: two hexadecimal halves separated by a slash (`16/B374D848`).
public struct LSN: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(_ value: UInt64) {
        self.rawValue = value
    }

    /// Parses PostgreSQL's `X/Y` text form; returns nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0].count <= 8, parts[1].count <= 8,
            let high = UInt32(parts[0], radix: 16), let low = UInt32(parts[1], radix: 16)
        else { return nil }
        self.rawValue = UInt64(high) << 32 | UInt64(low)
    }

    public static let zero = LSN(0)

    public var description: String {
        String(rawValue >> 32, radix: 16, uppercase: true) + "/"
            + String(rawValue & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (lhs: LSN, rhs: LSN) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
