/// A `numeric` value parsed from PostgreSQL's text output (`-12.50`), kept as decimal digits.
struct DecimalText {
    var isNegative: Bool
    /// Every digit, integer part then fraction, without the point.
    var digits: [UInt8]
    var fractionDigits: Int
    /// `NaN`, `Infinity` or `-Infinity`.
    var isSpecial: Bool

    init?(_ text: UnsafeRawBufferPointer) {
        var index = 0
        isNegative = false
        digits = []
        fractionDigits = 0
        isSpecial = false
        guard !text.isEmpty else { return nil }
        if text[0] == UInt8(ascii: "N") || text[0] == UInt8(ascii: "I")
            || (text.count > 1 && text[0] == UInt8(ascii: "-") && text[1] == UInt8(ascii: "I"))
        {
            let word = String(decoding: text, as: UTF8.self)
            guard word == "NaN" || word == "Infinity" || word == "-Infinity" else { return nil }
            isSpecial = true
            return
        }
        if text[0] == UInt8(ascii: "-") {
            isNegative = true
            index = 1
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(text.count)
        var fractionDigits = 0
        let valid = Self.forEachDigit(text, from: index) { digit, isFraction in
            digits.append(digit)
            if isFraction { fractionDigits += 1 }
            return true
        }
        guard valid, !digits.isEmpty else { return nil }
        self.digits = digits
        self.fractionDigits = fractionDigits
    }

    /// Walks `text[start...]`, digits with at most one point, calling `body` with each digit's value and whether it
    /// follows the point; false for any other byte, a second point, or when `body` returns false.
    @inline(__always)
    static func forEachDigit(
        _ text: UnsafeRawBufferPointer, from start: Int, _ body: (_ digit: UInt8, _ isFraction: Bool) -> Bool
    ) -> Bool {
        var seenPoint = false
        for index in start..<text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { return false }
                seenPoint = true
            } else {
                let digit = byte &- UInt8(ascii: "0")
                guard digit < 10, body(digit, seenPoint) else { return false }
            }
        }
        return true
    }

    /// The unscaled value at `scale`, as Java's `BigInteger.toByteArray()` writes it
    /// (minimal big-endian two's complement); nil for the special values.
    func unscaled(toScale scale: Int) -> [UInt8]? {
        guard !isSpecial else { return nil }
        var digits = self.digits
        if scale > fractionDigits {
            digits.append(contentsOf: repeatElement(0, count: scale - fractionDigits))
        } else if scale < fractionDigits {
            digits.removeLast(fractionDigits - scale)
        }
        // Base 10^9 digits into base 2^32 limbs, least significant first.
        var limbs: [UInt32] = []
        var index = 0
        let firstChunk = digits.count % 9 == 0 ? 9 : digits.count % 9
        var chunkLength = firstChunk
        while index < digits.count {
            var chunk: UInt64 = 0
            for digit in digits[index..<(index + chunkLength)] { chunk = chunk * 10 + UInt64(digit) }
            var carry = chunk
            for limb in limbs.indices {
                let product = UInt64(limbs[limb]) * 1_000_000_000 + carry
                limbs[limb] = UInt32(truncatingIfNeeded: product)
                carry = product >> 32
            }
            while carry > 0 {
                limbs.append(UInt32(truncatingIfNeeded: carry))
                carry >>= 32
            }
            index += chunkLength
            chunkLength = 9
        }
        var magnitude: [UInt8] = []
        magnitude.reserveCapacity(limbs.count * 4 + 1)
        for limb in limbs.reversed() {
            magnitude.append(UInt8(truncatingIfNeeded: limb >> 24))
            magnitude.append(UInt8(truncatingIfNeeded: limb >> 16))
            magnitude.append(UInt8(truncatingIfNeeded: limb >> 8))
            magnitude.append(UInt8(truncatingIfNeeded: limb))
        }
        if let first = magnitude.firstIndex(where: { $0 != 0 }) {
            magnitude.removeFirst(first)
        } else {
            return [0]
        }
        if !isNegative {
            if magnitude[0] & 0x80 != 0 { magnitude.insert(0, at: 0) }
            return magnitude
        }
        var carry: UInt16 = 1
        for position in magnitude.indices.reversed() {
            let sum = UInt16(~magnitude[position]) + carry
            magnitude[position] = UInt8(truncatingIfNeeded: sum)
            carry = sum >> 8
        }
        if magnitude[0] & 0x80 == 0 { magnitude.insert(0xFF, at: 0) }
        return magnitude
    }

    /// The unscaled value at `scale` when it fits in 18 digits, without building digit or limb arrays: the common
    /// case of `numeric(p, s)` columns. nil when it does not fit or is not a plain number (then use `init?` and
    /// `unscaled(toScale:)`, which agree with this).
    static func smallUnscaled(_ text: UnsafeRawBufferPointer, scale: Int) -> Int64? {
        var index = 0
        var negative = false
        if index < text.count, text[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value: UInt64 = 0
        var digits = 0
        var fraction = 0
        let fits = forEachDigit(text, from: index) { digit, isFraction in
            value = value * 10 + UInt64(digit)
            digits += 1
            if isFraction { fraction += 1 }
            return digits <= 18
        }
        guard fits, digits > 0 else { return nil }
        if scale > fraction {
            guard digits + scale - fraction <= 18 else { return nil }
            for _ in 0..<(scale - fraction) { value *= 10 }
        } else if scale < fraction {
            for _ in 0..<(fraction - scale) { value /= 10 }
        }
        return negative ? -Int64(value) : Int64(value)
    }

    /// `value` as Java's `BigInteger.toByteArray()` writes it (minimal big-endian two's complement), into `out`
    /// (8 bytes of room); returns the length.
    static func minimalBytes(_ value: Int64, into out: UnsafeMutablePointer<UInt8>) -> Int {
        let bits = UInt64(bitPattern: value)
        var length = 8
        // Drop leading bytes that only repeat the sign of the next one.
        while length > 1 {
            let top = UInt8(truncatingIfNeeded: bits >> UInt64((length - 1) * 8))
            let next = UInt8(truncatingIfNeeded: bits >> UInt64((length - 2) * 8))
            if (top == 0 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) {
                length -= 1
            } else {
                break
            }
        }
        for position in 0..<length {
            out[position] = UInt8(truncatingIfNeeded: bits >> UInt64((length - 1 - position) * 8))
        }
        return length
    }
}
