/// A growable byte buffer with the JSON writing primitives the event writer needs.
///
/// Writes UTF-8 bytes directly: no Foundation coders, no intermediate `String`s.
public struct JSONBuffer: Sendable {
    /// The written bytes are `storage[0..<count]`; the rest is room to write into without growing.
    private var storage: [UInt8]
    public private(set) var count = 0
    /// Where a value's text is made before it is written (pgoutput's binary mode), kept from value to value.
    var scratch: [UInt8] = []

    public init(capacity: Int = 512) {
        storage = [UInt8](repeating: 0, count: max(capacity, 64))
    }

    /// A copy of what was written.
    public var bytes: [UInt8] {
        Array(storage[0..<count])
    }

    /// Replaces `target`'s contents with what was written, reusing its storage when it is not shared.
    public func copy(into target: inout [UInt8]) {
        target.removeAll(keepingCapacity: true)
        storage.withUnsafeBufferPointer { target.append(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<count])) }
    }

    /// Forgets what was written, keeping the room.
    public mutating func removeAll() {
        count = 0
    }

    /// Forgets what was written after `length` bytes.
    public mutating func truncate(to length: Int) {
        precondition(length <= count)
        count = length
    }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > storage.count { grow(to: count + extra) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var size = storage.count * 2
        while size < needed { size *= 2 }
        // Copies what was written; the room after it is never read before it is written, so it stays uninitialized
        // (filling gigabytes of room element by element takes minutes in a debug build).
        let written = count
        storage = storage.withUnsafeBufferPointer { old in
            [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                if written > 0 { buffer.baseAddress!.initialize(from: old.baseAddress!, count: written) }
                initialized = size
            }
        }
    }

    /// Writes up to `maximum` bytes through `body`, which returns how many it wrote.
    @inline(__always)
    mutating func write(maximum: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(maximum)
        let start = count
        let written = storage.withUnsafeMutableBufferPointer { body($0.baseAddress! + start) }
        count += written
    }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count += 1
    }

    @inline(__always)
    public mutating func append(_ raw: [UInt8]) {
        raw.withUnsafeBytes { append($0) }
    }

    @inline(__always)
    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        let length = raw.count
        guard length > 0, let source = raw.baseAddress else { return }
        write(maximum: length) { destination in
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: length)
            return length
        }
    }

    /// Appends part of another buffer's bytes, without copying it into an array of its own first.
    @inline(__always)
    public mutating func append(_ bytes: [UInt8], range: Range<Int>) {
        bytes.withUnsafeBytes { append(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// Appends again bytes already written (`range` within what was written).
    public mutating func appendCopy(from range: Range<Int>) {
        precondition(range.upperBound <= count)
        let length = range.count
        reserve(length)
        let start = count
        storage.withUnsafeMutableBufferPointer { pointer in
            let base = pointer.baseAddress!
            (base + start).update(from: base + range.lowerBound, count: length)
        }
        count += length
    }

    /// Appends ASCII text as is (no escaping): for keys and literals known to be safe.
    @inline(__always)
    public mutating func appendRaw(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends ASCII text computed at run time, as is (no escaping).
    public mutating func appendRawString(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func appendNull() {
        appendRaw("null")
    }

    public mutating func appendBool(_ value: Bool) {
        value ? appendRaw("true") : appendRaw("false")
    }

    public mutating func appendInteger<T: BinaryInteger>(_ value: T) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(UInt64(value.magnitude))
        } else {
            appendDecimal(UInt64(value))
        }
    }

    @inline(__always)
    public mutating func appendInteger(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude)
    }

    @inline(__always)
    public mutating func appendInteger(_ value: UInt64) {
        appendDecimal(value)
    }

    /// "00" … "99": two digits per division.
    private static let digitPairs: [UInt8] = (0..<100).flatMap {
        [UInt8(ascii: "0") + UInt8($0 / 10), UInt8(ascii: "0") + UInt8($0 % 10)]
    }

    /// The number of decimal digits of `value`.
    @inline(__always)
    static func digitCount(_ value: UInt64) -> Int {
        var digits = 1
        var bound: UInt64 = 10
        while digits < 20 && value >= bound {
            digits += 1
            bound = digits == 20 ? .max : bound &* 10
        }
        return digits
    }

    /// Writes the `digits` decimal digits of `value` at `destination`, right to left, two per division.
    @inline(__always)
    static func writeDigits(_ value: UInt64, count digits: Int, at destination: UnsafeMutablePointer<UInt8>) {
        digitPairs.withUnsafeBufferPointer { pairs in
            var index = digits
            var rest = value
            while index >= 2 {
                let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: 100)
                index -= 2
                destination[index] = pairs[Int(remainder) * 2]
                destination[index + 1] = pairs[Int(remainder) * 2 + 1]
                rest = quotient
            }
            if index == 1 { destination[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest) }
        }
    }

    private mutating func appendDecimal(_ value: UInt64) {
        let digits = Self.digitCount(value)
        write(maximum: digits) { destination in
            Self.writeDigits(value, count: digits, at: destination)
            return digits
        }
    }

    /// `,"ts_ms":…,"ts_us":…,"ts_ns":…` for a time in nanoseconds since the epoch, from one conversion to digits:
    /// for a positive number, dividing by a power of ten drops digits.
    public mutating func appendEventTimes(nanos: Int64) {
        guard nanos >= 1_000_000 else {
            appendRaw(",\"ts_ms\":")
            appendInteger(nanos / 1_000_000)
            appendRaw(",\"ts_us\":")
            appendInteger(nanos / 1000)
            appendRaw(",\"ts_ns\":")
            appendInteger(nanos)
            return
        }
        let value = UInt64(nanos)
        let digits = Self.digitCount(value)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            let base = scratch.baseAddress!
            Self.writeDigits(value, count: digits, at: base)
            appendRaw(",\"ts_ms\":")
            append(UnsafeRawBufferPointer(start: base, count: digits - 6))
            appendRaw(",\"ts_us\":")
            append(UnsafeRawBufferPointer(start: base, count: digits - 3))
            appendRaw(",\"ts_ns\":")
            append(UnsafeRawBufferPointer(start: base, count: digits))
        }
    }

    /// Appends a JSON string escaped as Kafka's JsonConverter (Jackson) writes it: quotes, backslashes and
    /// control characters escaped, characters outside the Basic Multilingual Plane as `\uD83D\uDE00` pairs.
    public mutating func appendString(_ utf8: UnsafeRawBufferPointer) {
        let count = utf8.count
        // Most strings need no escape: one look-up a byte finds the first that does, and the rest is one copy.
        var index = 0
        while index < count {
            let byte = utf8[index]
            // byte - 0x20 wraps for control characters, so one comparison takes them and 0xF0 and up.
            if byte &- 0x20 >= 0xD0 || byte == 0x22 || byte == 0x5C { break }
            index += 1
        }
        if index == count {
            write(maximum: count + 2) { destination in
                destination[0] = UInt8(ascii: "\"")
                if count > 0 { UnsafeMutableRawPointer(destination + 1).copyMemory(from: utf8.baseAddress!, byteCount: count) }
                destination[count + 1] = UInt8(ascii: "\"")
                return count + 2
            }
            return
        }
        append(UInt8(ascii: "\""))
        var runStart = 0
        while index < count {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                if runStart < index { append(UnsafeRawBufferPointer(rebasing: utf8[runStart..<index])) }
                appendEscape(byte)
                runStart = index + 1
            } else if byte >= 0xF0, index + 3 < count {
                if runStart < index { append(UnsafeRawBufferPointer(rebasing: utf8[runStart..<index])) }
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
        if runStart < count { append(UnsafeRawBufferPointer(rebasing: utf8[runStart..<count])) }
        append(UInt8(ascii: "\""))
    }

    public mutating func appendString(_ text: String) {
        var text = text
        text.withUTF8 { appendString(UnsafeRawBufferPointer($0)) }
    }

    public mutating func appendString(_ raw: [UInt8]) {
        raw.withUnsafeBytes { appendString($0) }
    }

    private mutating func appendEscape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): appendRaw("\\\"")
        case UInt8(ascii: "\\"): appendRaw("\\\\")
        case 0x08: appendRaw("\\b")
        case 0x0C: appendRaw("\\f")
        case 0x0A: appendRaw("\\n")
        case 0x0D: appendRaw("\\r")
        case 0x09: appendRaw("\\t")
        default: appendUnicodeEscape(UInt16(byte))
        }
    }

    private mutating func appendUnicodeEscape(_ unit: UInt16) {
        let hex: StaticString = "0123456789ABCDEF"
        appendRaw("\\u")
        for shift in stride(from: 12, through: 0, by: -4) { append(hex.utf8Start[Int(unit >> UInt16(shift) & 0xF)]) }
    }

    // MARK: Avro

    /// Avro's `long` (and `int`): zig-zag, then 7 bits a byte, least significant first.
    @inline(__always)
    mutating func appendAvroLong(_ value: Int64) {
        write(maximum: 10) { destination in
            var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
            var written = 0
            while zigzag >= 0x80 {
                destination[written] = UInt8(truncatingIfNeeded: zigzag) | 0x80
                zigzag >>= 7
                written += 1
            }
            destination[written] = UInt8(zigzag)
            return written + 1
        }
    }

    /// Avro's `string` or `bytes`: the length, then the bytes as they are.
    @inline(__always)
    mutating func appendAvroBytes(_ raw: UnsafeRawBufferPointer) {
        appendAvroLong(Int64(raw.count))
        append(raw)
    }

    /// Avro's `string` of what `body` writes, which may be any length: a byte is kept for the length, and the text
    /// moves only when it is longer than 63 bytes (a length of more than one byte).
    @inline(__always)
    mutating func appendAvroString(_ body: (inout JSONBuffer) -> Void) {
        let start = count
        append(0)
        body(&self)
        finishAvroString(lengthAt: start, textStart: start + 1)
    }

    /// Avro's `string` of a JSON string `body` writes without escapes (an ISO date, a zoned time): its opening quote's
    /// byte takes the length, and its closing quote goes.
    @inline(__always)
    mutating func appendAvroStringFromQuoted(_ body: (inout JSONBuffer) -> Bool) -> Bool {
        let start = count
        guard body(&self) else {
            count = start
            return false
        }
        count -= 1  // the closing quote
        finishAvroString(lengthAt: start, textStart: start + 1)
        return true
    }

    /// The text written at `textStart…` gets its Avro length at `lengthAt` (one byte's room, `lengthAt + 1 ==
    /// textStart`).
    private mutating func finishAvroString(lengthAt: Int, textStart: Int) {
        let length = count - textStart
        if length < 64 {
            storage[lengthAt] = UInt8(length << 1)
            return
        }
        var varint: [UInt8] = []
        var zigzag = UInt64(length) << 1
        while zigzag >= 0x80 {
            varint.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
            zigzag >>= 7
        }
        varint.append(UInt8(zigzag))
        let extra = varint.count - 1
        reserve(extra)
        storage.withUnsafeMutableBufferPointer { pointer in
            let base = pointer.baseAddress!
            (base + textStart + extra).update(from: base + textStart, count: length)
            for (offset, byte) in varint.enumerated() { base[lengthAt + offset] = byte }
        }
        count += extra
    }

    /// Overwrites 4 bytes at `offset` (within what was written) with `value`, big-endian: a schema id.
    mutating func setBigEndian(_ value: Int32, at offset: Int) {
        let unsigned = UInt32(bitPattern: value)
        storage[offset] = UInt8(unsigned >> 24)
        storage[offset + 1] = UInt8(truncatingIfNeeded: unsigned >> 16)
        storage[offset + 2] = UInt8(truncatingIfNeeded: unsigned >> 8)
        storage[offset + 3] = UInt8(truncatingIfNeeded: unsigned)
    }

    /// Appends bytes as a quoted standard Base64 string (what JsonConverter does with Connect `bytes`).
    public mutating func appendBase64(_ data: UnsafeRawBufferPointer) {
        append(UInt8(ascii: "\""))
        write(maximum: (data.count + 2) / 3 * 4) { Base64.encode(data, into: $0) }
        append(UInt8(ascii: "\""))
    }

    public mutating func appendBase64(_ data: [UInt8]) {
        data.withUnsafeBytes { appendBase64($0) }
    }
}

enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Writes the standard Base64 of `data` at `out` (room for `(count + 2) / 3 * 4` bytes); returns the length.
    static func encode(_ data: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) -> Int {
        let count = data.count
        var written = 0
        alphabet.withUnsafeBufferPointer { table in
            var index = 0
            while index + 3 <= count {
                let value = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
                out[written] = table[Int(value >> 18 & 63)]
                out[written + 1] = table[Int(value >> 12 & 63)]
                out[written + 2] = table[Int(value >> 6 & 63)]
                out[written + 3] = table[Int(value & 63)]
                written += 4
                index += 3
            }
            let rest = count - index
            if rest == 1 {
                let value = UInt32(data[index]) << 16
                out[written] = table[Int(value >> 18 & 63)]
                out[written + 1] = table[Int(value >> 12 & 63)]
                out[written + 2] = UInt8(ascii: "=")
                out[written + 3] = UInt8(ascii: "=")
                written += 4
            } else if rest == 2 {
                let value = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8
                out[written] = table[Int(value >> 18 & 63)]
                out[written + 1] = table[Int(value >> 12 & 63)]
                out[written + 2] = table[Int(value >> 6 & 63)]
                out[written + 3] = UInt8(ascii: "=")
                written += 4
            }
        }
        return written
    }

    /// The standard Base64 of `data`.
    static func encode(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        guard data.count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: (data.count + 2) / 3 * 4) { buffer, initialized in
            initialized = encode(data, into: buffer.baseAddress!)
        }
    }
}

extension Base64 {
    /// Standard base64 (padding optional), as Kafka Connect's JSON writes bytes; nil for any other character.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }
}
