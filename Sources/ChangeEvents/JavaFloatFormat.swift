/// Rewrites PostgreSQL's shortest float text (`100`, `1e+30`, `1.5e-05`) the way Java's
/// `Double.toString` / `Float.toString` writes the same value (`100.0`, `1.0E30`, `1.5E-5`),
/// which is what Debezium's JSON carries.
enum JavaFloatFormat {
    /// `single`: the text is a `float4` (true) or `float8` (false) value, for the one case where Java's digits are not
    /// PostgreSQL's: a value whose shortest form has one digit (the smallest subnormals, `1e-45`), which Java writes
    /// with the two digits nearest the exact value (`1.4E-45`). nil keeps PostgreSQL's digits.
    static func write(_ text: UnsafeRawBufferPointer, single: Bool? = nil, into out: inout JSONBuffer) -> Bool {
        guard !text.isEmpty else { return false }
        if writePlain(text, into: &out) { return true }
        // Jackson writes non-finite values as strings.
        if text[0] == UInt8(ascii: "N") || text[0] == UInt8(ascii: "I") || text.count > 1 && text[1] == UInt8(ascii: "I") {
            let word = String(decoding: text, as: UTF8.self)
            guard word == "NaN" || word == "Infinity" || word == "-Infinity" else { return false }
            out.appendString(text)
            return true
        }
        var index = 0
        var negative = false
        if text[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        // Collect significant digits and the decimal exponent: value = 0.d1d2d3… × 10^pointPosition.
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var pointPosition = 0
        var seenPoint = false
        var seenDigit = false
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { return false }
                seenPoint = true
            } else if byte &- UInt8(ascii: "0") < 10 {
                seenDigit = true
                let digit = byte - UInt8(ascii: "0")
                if digits.isEmpty && digit == 0 {
                    if seenPoint { pointPosition -= 1 }
                } else {
                    digits.append(digit)
                    if !seenPoint { pointPosition += 1 }
                }
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                break
            } else {
                return false
            }
            index += 1
        }
        guard seenDigit else { return false }
        if index < text.count {
            index += 1
            var expNegative = false
            if index < text.count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                expNegative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < text.count else { return false }
            var exponent = 0
            while index < text.count {
                guard text[index] &- UInt8(ascii: "0") < 10, exponent < 10_000 else { return false }
                exponent = exponent * 10 + Int(text[index] - UInt8(ascii: "0"))
                index += 1
            }
            pointPosition += expNegative ? -exponent : exponent
        }
        while let last = digits.last, last == 0 { digits.removeLast() }
        // Only a subnormal's shortest form can be one digit that is not Java's (a normal value's second digit is 0).
        if digits.count == 1, let single, pointPosition <= (single ? -37 : -307),
            let (nearest, point) = twoDigits(text, single: single)
        {
            digits = nearest
            pointPosition = point
        }
        if negative { out.append(UInt8(ascii: "-")) }
        let zero = UInt8(ascii: "0")
        if digits.isEmpty {
            out.appendRaw("0.0")
            return true
        }
        // Java: plain notation for 1e-3 <= |v| < 1e7, else d.dddE±n.
        if pointPosition >= -2 && pointPosition <= 7 {
            if pointPosition <= 0 {
                out.appendRaw("0.")
                for _ in 0..<(-pointPosition) { out.append(zero) }
                for digit in digits { out.append(zero + digit) }
            } else {
                for position in 0..<pointPosition { out.append(zero + (position < digits.count ? digits[position] : 0)) }
                out.append(UInt8(ascii: "."))
                if digits.count > pointPosition {
                    for digit in digits[pointPosition...] { out.append(zero + digit) }
                } else {
                    out.append(zero)
                }
            }
        } else {
            out.append(zero + digits[0])
            out.append(UInt8(ascii: "."))
            if digits.count > 1 {
                for digit in digits[1...] { out.append(zero + digit) }
            } else {
                out.append(zero)
            }
            out.append(UInt8(ascii: "E"))
            out.appendInteger(pointPosition - 1)
        }
        return true
    }

    /// The common case without a detour: plain digits (`-?d+(.d+)?`, no exponent) of a value Java also writes plainly
    /// (1e-3 <= |v| < 1e7), where Java's text is PostgreSQL's with `.0` added to a whole number. False, having written
    /// nothing, for anything else.
    @inline(__always)
    private static func writePlain(_ text: UnsafeRawBufferPointer, into out: inout JSONBuffer) -> Bool {
        let count = text.count
        var index = text[0] == UInt8(ascii: "-") ? 1 : 0
        let integerStart = index
        while index < count, text[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        let integerDigits = index - integerStart
        guard integerDigits > 0, integerDigits <= 7 else { return false }
        // A leading zero only as the whole integer part.
        let integerIsZero = integerDigits == 1 && text[integerStart] == UInt8(ascii: "0")
        guard integerIsZero || text[integerStart] != UInt8(ascii: "0") else { return false }
        if index == count {
            out.append(text)
            out.appendRaw(".0")
            return true
        }
        guard text[index] == UInt8(ascii: ".") else { return false }
        index += 1
        let fractionStart = index
        while index < count, text[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        guard index == count, index > fractionStart else { return false }
        if integerIsZero {
            // 0.00d… is at least 1e-3; 0.000d… is not, and Java writes it with an exponent.
            var zeros = 0
            while fractionStart + zeros < count, text[fractionStart + zeros] == UInt8(ascii: "0") { zeros += 1 }
            guard zeros <= 2, fractionStart + zeros < count else { return false }
        }
        // Trailing zeros of the fraction go (text that is not PostgreSQL's shortest, such as `1.50`), one digit stays.
        var end = count
        while end > fractionStart + 1, text[end - 1] == UInt8(ascii: "0") { end -= 1 }
        out.append(UnsafeRawBufferPointer(rebasing: text[0..<end]))
        return true
    }

    /// The value of `text` rounded to two significant digits (the second dropped when it is 0), with the point's
    /// position: the digits Java's `Float.toString` / `Double.toString` choose when one digit would do.
    private static func twoDigits(_ text: UnsafeRawBufferPointer, single: Bool) -> (digits: [UInt8], point: Int)? {
        guard let value = Double(String(decoding: text, as: UTF8.self)) else { return nil }
        let exact = single ? Double(Float(value)) : value
        guard exact.isFinite, exact != 0 else { return nil }
        // "d.de±x": printf rounds the exact binary value.
        let formatted = Array(String(format: "%.1e", abs(exact)).utf8)
        guard formatted.count >= 5, let e = formatted.firstIndex(of: UInt8(ascii: "e")),
            let exponent = Int(String(decoding: formatted[(e + 1)...], as: UTF8.self))
        else { return nil }
        var digits = [formatted[0] - UInt8(ascii: "0"), formatted[2] - UInt8(ascii: "0")]
        if digits[1] == 0 { digits.removeLast() }
        return (digits, exponent + 1)
    }
}
