/// Rewrites PostgreSQL's shortest float text (`100`, `1e+30`, `1.5e-05`) the way Java's
/// `Double.toString` / `Float.toString` writes the same value (`100.0`, `1.0E30`, `1.5E-5`),
/// which is what Debezium's JSON carries.
enum JavaFloatFormat {
    static func write(_ text: UnsafeRawBufferPointer, into out: inout JSONBuffer) -> Bool {
        guard !text.isEmpty else { return false }
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
}
