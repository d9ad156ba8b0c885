#if canImport(Glibc)
    import Glibc
#endif

/// Finds values in JSON the event writer wrote: skips a value without decoding it, and lists an object's members
/// as byte ranges. For transforms reading parts of an event (a source field, a row column) without parsing it whole.
///
/// Assumes well-formed JSON (the writer's own output, or a value PostgreSQL checked, such as `jsonb`); on anything
/// else it stops at the end of the bytes rather than reading past them.
public struct JSONScanner {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Whether the bytes in `range` are `other`'s.
    public func bytes(in range: Range<Int>, equal other: [UInt8]) -> Bool {
        guard range.count == other.count, range.upperBound <= bytes.count else { return false }
        guard !other.isEmpty else { return true }
        return bytes.withUnsafeBufferPointer { buffer in
            other.withUnsafeBufferPointer { memcmp(buffer.baseAddress! + range.lowerBound, $0.baseAddress!, $0.count) == 0 }
        }
    }

    /// The index after the value starting at `start` (white space before it is skipped).
    public func end(ofValueAt start: Int) -> Int {
        var index = skipSpace(start)
        guard index < bytes.count else { return index }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return end(ofStringAt: index)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index = end(ofStringAt: index)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            return index
        default:
            // A number, true, false or null: up to the next delimiter.
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: " "), UInt8(ascii: "\n"),
                    UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    return index
                default:
                    index += 1
                }
            }
            return index
        }
    }

    /// The index after the string starting at `start`: the next quote with an even run of backslashes before it,
    /// found with `memchr` (strings are most of an event's bytes).
    private func end(ofStringAt start: Int) -> Int {
        bytes.withUnsafeBufferPointer { Self.end(ofStringAt: start, in: $0) }
    }

    private static func end(ofStringAt start: Int, in buffer: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = buffer.baseAddress else { return start + 1 }
        var index = start + 1
        while index < buffer.count {
            guard let found = memchr(base + index, Int32(UInt8(ascii: "\"")), buffer.count - index) else {
                return buffer.count
            }
            let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while quote - backslashes - 1 > start, buffer[quote - backslashes - 1] == UInt8(ascii: "\\") {
                backslashes += 1
            }
            if backslashes % 2 == 0 { return quote + 1 }
            index = quote + 1
        }
        return buffer.count
    }

    private func skipSpace(_ start: Int) -> Int {
        var index = start
        while index < bytes.count,
            bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\n") || bytes[index] == UInt8(ascii: "\t")
                || bytes[index] == UInt8(ascii: "\r")
        {
            index += 1
        }
        return index
    }

    /// The members of the object starting at `start`: each name's range (with its quotes) and its value's range.
    public func members(ofObjectAt start: Int) -> [(name: Range<Int>, value: Range<Int>)] {
        var members: [(name: Range<Int>, value: Range<Int>)] = []
        var index = skipSpace(start)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return [] }
        index = skipSpace(index + 1)
        while index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            let nameEnd = end(ofStringAt: index)
            var colon = skipSpace(nameEnd)
            guard colon < bytes.count, bytes[colon] == UInt8(ascii: ":") else { break }
            colon += 1
            let valueStart = skipSpace(colon)
            let valueEnd = end(ofValueAt: valueStart)
            members.append((index..<nameEnd, valueStart..<valueEnd))
            index = skipSpace(valueEnd)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { break }
            index = skipSpace(index + 1)
        }
        return members
    }

    /// The value of the member whose quoted name is `quotedName` (`"lsn"`) within `range`, which holds members of one
    /// flat object (no nested objects, as `source`): found by searching for the name followed by a colon, which
    /// cannot occur inside a string value (its quotes would be escaped).
    public func flatMember(_ quotedName: [UInt8], in range: Range<Int>) -> Range<Int>? {
        let count = quotedName.count
        guard count > 0, range.count > count, range.upperBound <= bytes.count else { return nil }
        let found: Int? = bytes.withUnsafeBufferPointer { buffer in
            quotedName.withUnsafeBufferPointer { name in
                let first = name[0]
                var index = range.lowerBound
                let last = range.upperBound - count - 1
                while index <= last {
                    if buffer[index] == first, buffer[index + count] == UInt8(ascii: ":"),
                        memcmp(buffer.baseAddress! + index, name.baseAddress!, count) == 0
                    {
                        return index + count + 1
                    }
                    index += 1
                }
                return nil
            }
        }
        guard let start = found else { return nil }
        return start..<end(ofValueAt: start)
    }

    /// The value of member `name` (unescaped ASCII) of the object starting at `start`.
    public func member(_ name: String, ofObjectAt start: Int) -> Range<Int>? {
        let quoted = Array("\"\(name)\"".utf8)
        return members(ofObjectAt: start).first { bytes[$0.name].elementsEqual(quoted) }?.value
    }

    /// A value as a Kafka header, as Kafka Connect's SimpleHeaderConverter writes it: a string bare, null as a null
    /// header value, else its JSON.
    public func headerText(at range: Range<Int>) -> [UInt8]? {
        if range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "\"") {
            let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
            let escaped = bytes.withUnsafeBufferPointer { buffer in
                memchr(buffer.baseAddress! + inner.lowerBound, Int32(UInt8(ascii: "\\")), inner.count) != nil
            }
            if !escaped { return Array(bytes[inner]) }  // nothing escaped: the bytes as they are
        }
        if let text = string(at: range) { return Array(text.utf8) }
        if bytes[range].elementsEqual("null".utf8) { return nil }
        return Array(bytes[range])
    }

    /// The string a JSON string value holds, unescaped; nil for anything else (null included).
    public func string(at range: Range<Int>) -> String? {
        guard range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
        let inner = bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        var result: [UInt8] = []
        var index = inner.startIndex
        while index < inner.endIndex {
            let byte = inner[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < inner.endIndex else {
                result.append(byte)
                index += 1
                continue
            }
            let escaped = inner[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "n"): result.append(0x0A)
            case UInt8(ascii: "t"): result.append(0x09)
            case UInt8(ascii: "r"): result.append(0x0D)
            case UInt8(ascii: "b"): result.append(0x08)
            case UInt8(ascii: "f"): result.append(0x0C)
            case UInt8(ascii: "u") where index + 4 <= inner.endIndex:
                let hex = String(decoding: inner[index..<(index + 4)], as: UTF8.self)
                index += 4
                var scalar = UInt32(hex, radix: 16) ?? 0xFFFD
                if (0xD800..<0xDC00).contains(scalar), index + 6 <= inner.endIndex, inner[index] == UInt8(ascii: "\\"),
                    let low = UInt32(String(decoding: inner[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16),
                    (0xDC00..<0xE000).contains(low)
                {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                result.append(contentsOf: Array(String(UnicodeScalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
            default: result.append(escaped)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
