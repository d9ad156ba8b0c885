/// A growable byte buffer with the JSON writing primitives the event writer needs.
///
/// Writes UTF-8 bytes directly: no Foundation coders, no intermediate `String`s.
public struct JSONBuffer: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        bytes.append(byte)
    }

    @inline(__always)
    public mutating func append(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    @inline(__always)
    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }

    /// Appends ASCII text as is (no escaping): for keys and literals known to be safe.
    public mutating func appendRaw(_ text: StaticString) {
        text.withUTF8Buffer { utf8 in
            if utf8.count > 16 {
                bytes.append(contentsOf: utf8)
            } else {
                for byte in utf8 { bytes.append(byte) }
            }
        }
    }

    /// Appends ASCII text computed at run time, as is (no escaping).
    public mutating func appendRawString(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func appendNull() {
        appendRaw("null")
    }

    public mutating func appendBool(_ value: Bool) {
        value ? appendRaw("true") : appendRaw("false")
    }

    public mutating func appendInteger<T: BinaryInteger>(_ value: T) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendDecimal(UInt64(value.magnitude))
        } else {
            appendDecimal(UInt64(value))
        }
    }

    @inline(__always)
    public mutating func appendInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude)
    }

    @inline(__always)
    public mutating func appendInteger(_ value: UInt64) {
        appendDecimal(value)
    }

    /// The digits of `value`, written right to left into a stack buffer and appended at once.
    private mutating func appendDecimal(_ value: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var index = 20
            var rest = value
            repeat {
                let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: 10)
                index -= 1
                digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
                rest = quotient
            } while rest > 0
            // Byte by byte: for a few bytes the inlined single append beats the generic bulk one.
            while index < 20 {
                bytes.append(digits[index])
                index += 1
            }
        }
    }

    /// Appends a JSON string escaped as Kafka's JsonConverter (Jackson) writes it: quotes, backslashes and
    /// control characters escaped, characters outside the Basic Multilingual Plane as `\uD83D\uDE00` pairs.
    public mutating func appendString(_ utf8: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        let count = utf8.count
        while index < count {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                if runStart < index { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart..<index])) }
                appendEscape(byte)
                runStart = index + 1
            } else if byte >= 0xF0, index + 3 < count {
                if runStart < index { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart..<index])) }
                let scalar =
                    (UInt32(byte & 0x07) << 18) | (UInt32(utf8[index + 1] & 0x3F) << 12) | (UInt32(utf8[index + 2] & 0x3F) << 6)
                    | UInt32(utf8[index + 3] & 0x3F)
                let offset = scalar &- 0x10000
                appendUnicodeEscape(UInt16(truncatingIfNeeded: 0xD800 + (offset >> 10)))
                appendUnicodeEscape(UInt16(truncatingIfNeeded: 0xDC00 + (offset & 0x3FF)))
                index += 3
                runStart = index + 1
            }
            index += 1
        }
        if runStart < count { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart..<count])) }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func appendString(_ text: String) {
        var text = text
        text.withUTF8 { appendString(UnsafeRawBufferPointer($0)) }
    }

    public mutating func appendString(_ raw: [UInt8]) {
        raw.withUnsafeBytes { appendString($0) }
    }

    private mutating func appendEscape(_ byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            bytes.removeLast()
            appendUnicodeEscape(UInt16(byte))
        }
    }

    private mutating func appendUnicodeEscape(_ unit: UInt16) {
        let hex: StaticString = "0123456789ABCDEF"
        bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
        hex.withUTF8Buffer { digits in
            for shift in stride(from: 12, through: 0, by: -4) { bytes.append(digits[Int(unit >> UInt16(shift) & 0xF)]) }
        }
    }

    /// Appends bytes as a quoted standard Base64 string (what JsonConverter does with Connect `bytes`).
    public mutating func appendBase64(_ data: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        Base64.encode(data, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func appendBase64(_ data: [UInt8]) {
        data.withUnsafeBytes { appendBase64($0) }
    }
}

enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ data: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let count = data.count
        out.reserveCapacity(out.count + (count + 2) / 3 * 4)
        alphabet.withUnsafeBufferPointer { table in
            var index = 0
            while index + 3 <= count {
                let value = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
                out.append(table[Int(value >> 18 & 63)])
                out.append(table[Int(value >> 12 & 63)])
                out.append(table[Int(value >> 6 & 63)])
                out.append(table[Int(value & 63)])
                index += 3
            }
            let rest = count - index
            if rest == 1 {
                let value = UInt32(data[index]) << 16
                out.append(table[Int(value >> 18 & 63)])
                out.append(table[Int(value >> 12 & 63)])
                out.append(UInt8(ascii: "="))
                out.append(UInt8(ascii: "="))
            } else if rest == 2 {
                let value = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8
                out.append(table[Int(value >> 18 & 63)])
                out.append(table[Int(value >> 12 & 63)])
                out.append(table[Int(value >> 6 & 63)])
                out.append(UInt8(ascii: "="))
            }
        }
    }
}
