/// Writes one PostgreSQL text-format value as Debezium's JSON for its `ColumnEncoding`.
///
/// Returns false when the text is not what the type produces; the caller reports which column.
enum ValueWriter {
    static func write(_ text: UnsafeRawBufferPointer, as encoding: ColumnEncoding, into out: inout JSONBuffer) -> Bool {
        switch encoding {
        case .boolean:
            guard text.count == 1 else { return false }
            if text[0] == UInt8(ascii: "t") {
                out.appendRaw("true")
            } else if text[0] == UInt8(ascii: "f") {
                out.appendRaw("false")
            } else {
                return false
            }
            return true
        case .int16, .int32, .int64:
            guard isInteger(text) else { return false }
            out.append(text)
            return true
        case .float32, .float64:
            return JavaFloatFormat.write(text, into: &out)
        case .decimal(_, let scale):
            guard let number = DecimalText(text) else { return false }
            guard let unscaled = number.unscaled(toScale: scale) else {
                // NaN / Infinity have no Decimal representation; Debezium writes null.
                out.appendNull()
                return true
            }
            out.appendBase64(unscaled)
            return true
        case .variableDecimal:
            guard let number = DecimalText(text) else { return false }
            guard let unscaled = number.unscaled(toScale: number.fractionDigits) else {
                out.appendNull()
                return true
            }
            out.appendRaw("{\"scale\":")
            out.appendInteger(number.fractionDigits)
            out.appendRaw(",\"value\":")
            out.appendBase64(unscaled)
            out.append(UInt8(ascii: "}"))
            return true
        case .string, .json, .uuid:
            out.appendString(text)
            return true
        case .bytes:
            guard let raw = decodeByteaHex(text) else { return false }
            out.appendBase64(raw)
            return true
        case .date:
            guard let date = DateTimeText.parseDate(text) else { return false }
            out.appendInteger(date)
            return true
        case .timestampMillis:
            guard let micros = DateTimeText.parseTimestamp(text, withZone: false) else { return false }
            out.appendInteger(floorDiv(micros, 1000))
            return true
        case .timestampMicros:
            guard let micros = DateTimeText.parseTimestamp(text, withZone: false) else { return false }
            out.appendInteger(micros)
            return true
        case .zonedTimestamp(let digits):
            guard let micros = DateTimeText.parseTimestamp(text, withZone: true) else { return false }
            out.append(UInt8(ascii: "\""))
            DateTimeText.appendISO8601UTC(micros: micros, fractionDigits: digits, into: &out)
            out.append(UInt8(ascii: "\""))
            return true
        }
    }

    /// The value Debezium puts in a NOT NULL column the server did not send (a `before` built from a key).
    static func writeDefault(for encoding: ColumnEncoding, into out: inout JSONBuffer) {
        switch encoding {
        case .boolean: out.appendRaw("false")
        case .int16, .int32, .int64, .date, .timestampMillis, .timestampMicros: out.appendRaw("0")
        case .float32, .float64: out.appendRaw("0.0")
        case .decimal: out.appendRaw("\"AA==\"")
        case .variableDecimal: out.appendRaw("{\"scale\":0,\"value\":\"AA==\"}")
        case .string, .json, .uuid, .bytes: out.appendRaw("\"\"")
        case .zonedTimestamp: out.appendRaw("\"1970-01-01T00:00:00Z\"")
        }
    }

    static func isInteger(_ text: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        if text.count > 0, text[0] == UInt8(ascii: "-") { index = 1 }
        guard index < text.count else { return false }
        while index < text.count {
            guard text[index] &- UInt8(ascii: "0") < 10 else { return false }
            index += 1
        }
        return true
    }

    /// Decodes bytea's hex output format (`\x0102ff`).
    static func decodeByteaHex(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
            return nil
        }
        var out: [UInt8] = []
        out.reserveCapacity((text.count - 2) / 2)
        var index = 2
        while index < text.count {
            guard let high = hexValue(text[index]), let low = hexValue(text[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

@inline(__always)
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
