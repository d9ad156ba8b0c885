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
        case .bit:
            guard text.count == 1, text[0] == UInt8(ascii: "1") || text[0] == UInt8(ascii: "0") else { return false }
            out.appendBool(text[0] == UInt8(ascii: "1"))
            return true
        case .int16, .int32, .int64:
            guard isInteger(text) else { return false }
            out.append(text)
            return true
        case .float32, .float64:
            return JavaFloatFormat.write(text, single: encoding == .float32, into: &out)
        case .decimal(_, let scale):
            if let small = DecimalText.smallUnscaled(text, scale: scale) {
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { bytes in
                    let length = DecimalText.minimalBytes(small, into: bytes.baseAddress!)
                    out.appendBase64(UnsafeRawBufferPointer(start: bytes.baseAddress!, count: length))
                }
                return true
            }
            return writeDecimal(DecimalText(text), scale: scale, into: &out)
        case .money:
            // lc_monetary=C: `$1,234.56`, `-$0.01`.
            let digits = text.filter { $0 != UInt8(ascii: "$") && $0 != UInt8(ascii: ",") }
            return digits.withUnsafeBytes { writeDecimal(DecimalText($0), scale: 2, into: &out) }
        case .variableDecimal:
            // Up to 18 digits without an array: the scale is the text's fraction digits.
            var scale = 0
            if let point = text.firstIndex(of: UInt8(ascii: ".")) { scale = text.count - point - 1 }
            if let small = DecimalText.smallUnscaled(text, scale: scale) {
                out.appendRaw("{\"scale\":")
                out.appendInteger(scale)
                out.appendRaw(",\"value\":")
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { bytes in
                    let length = DecimalText.minimalBytes(small, into: bytes.baseAddress!)
                    out.appendBase64(UnsafeRawBufferPointer(start: bytes.baseAddress!, count: length))
                }
                out.append(UInt8(ascii: "}"))
                return true
            }
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
        case .string, .json, .uuid, .xml, .tsvector, .enumeration:
            out.appendString(text)
            return true
        case .bytes:
            // `\x` and hex digits, decoded into a scratch buffer rather than an array of its own.
            guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
                return false
            }
            let length = (text.count - 2) / 2
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(length, 1)) { raw in
                var index = 2
                for position in 0..<length {
                    guard let high = hexValue(text[index]), let low = hexValue(text[index + 1]) else { return false }
                    raw[position] = high << 4 | low
                    index += 2
                }
                out.appendBase64(UnsafeRawBufferPointer(start: raw.baseAddress, count: length))
                return true
            }
        case .bits:
            guard let raw = CompositeText.bitBytes(text) else { return false }
            out.appendBase64(raw)
            return true
        case .date:
            guard let date = days(text) else { return false }
            out.appendInteger(date)
            return true
        case .timeMillis:
            guard let micros = TimeText.parseTime(text) else { return false }
            out.appendInteger(micros / 1000)
            return true
        case .timeMicros:
            guard let micros = TimeText.parseTime(text) else { return false }
            out.appendInteger(micros)
            return true
        case .zonedTime:
            guard let micros = TimeText.parseTimeWithZone(text) else { return false }
            out.append(UInt8(ascii: "\""))
            TimeText.appendZonedTime(micros: micros, into: &out)
            out.append(UInt8(ascii: "\""))
            return true
        case .timestampMicros:
            guard let micros = timestampMicros(text) else { return false }
            out.appendInteger(micros)
            return true
        case .timestampMillis:
            if infinity(text) != nil {
                guard let micros = timestampMicros(text) else { return false }
                out.appendInteger(floorDiv(micros, 1000))
                return true
            }
            // In seconds first: the last years PostgreSQL holds pass what 64 bits of microseconds hold.
            guard let (seconds, micros) = DateTimeText.parseTimestampSeconds(text, withZone: false) else { return false }
            out.appendInteger(seconds * 1000 + micros / 1000)
            return true
        case .zonedTimestamp(let digits):
            if DateTimeText.appendQuotedISO8601FromUTCText(text, fractionDigits: digits, into: &out) { return true }
            if infinity(text) != nil {
                out.appendString(text)
                return true
            }
            guard let (seconds, micros) = DateTimeText.parseTimestampSeconds(text, withZone: true) else { return false }
            out.append(UInt8(ascii: "\""))
            DateTimeText.appendISO8601UTC(seconds: seconds, micros: micros, fractionDigits: digits, into: &out)
            out.append(UInt8(ascii: "\""))
            return true
        case .interval:
            guard let parts = TimeText.parseInterval(text) else { return false }
            out.appendInteger(parts.debeziumMicros)
            return true
        case .point:
            guard let (x, y) = CompositeText.pointCoordinates(text),
                let xValue = Double(String(decoding: x, as: UTF8.self)), let yValue = Double(String(decoding: y, as: UTF8.self))
            else { return false }
            out.appendRaw("{\"x\":")
            guard x.withUnsafeBytes({ JavaFloatFormat.write($0, single: false, into: &out) }) else { return false }
            out.appendRaw(",\"y\":")
            guard y.withUnsafeBytes({ JavaFloatFormat.write($0, single: false, into: &out) }) else { return false }
            // WKB, little endian: byte order 1, geometry type 1 (point), x, y.
            var wkb: [UInt8] = [1, 1, 0, 0, 0]
            withUnsafeBytes(of: xValue.bitPattern.littleEndian) { wkb.append(contentsOf: $0) }
            withUnsafeBytes(of: yValue.bitPattern.littleEndian) { wkb.append(contentsOf: $0) }
            out.appendRaw(",\"wkb\":")
            out.appendBase64(wkb)
            out.appendRaw(",\"srid\":null}")
            return true
        case .hstoreJSON:
            guard let pairs = CompositeText.hstorePairs(text) else { return false }
            var object = JSONBuffer(capacity: text.count + 8)
            object.append(UInt8(ascii: "{"))
            for (position, index) in CompositeText.javaHashMapOrder(pairs.map(\.0)).enumerated() {
                if position > 0 { object.append(UInt8(ascii: ",")) }
                object.appendString(pairs[index].0)
                object.append(UInt8(ascii: ":"))
                if let value = pairs[index].1 { object.appendString(value) } else { object.appendNull() }
            }
            object.append(UInt8(ascii: "}"))
            out.appendString(object.bytes)
            return true
        case .array(let element, _):
            let start = out.count
            out.append(UInt8(ascii: "["))
            var first = true
            let parsed = CompositeText.forEachArrayElement(text) { item in
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                switch item {
                case .null, .nested:
                    // Debezium writes the rows of a multi-dimensional array as nulls.
                    out.appendNull()
                case .value(let bytes):
                    let itemStart = out.count
                    if !write(bytes, as: element, into: &out) {
                        out.truncate(to: itemStart)
                        out.appendString(bytes)
                    }
                }
                return true
            }
            guard parsed else {
                out.truncate(to: start)
                return false
            }
            out.append(UInt8(ascii: "]"))
            return true
        case .decimalDouble:
            guard let plain = plainDecimal(text) else { return false }
            switch plain {
            case "NaN", "Infinity", "-Infinity":
                out.appendString(plain)
                return true
            default:
                guard let value = Double(plain) else { return false }
                let shortest = "\(value)"
                return shortest.utf8.withContiguousStorageIfAvailable {
                    JavaFloatFormat.write(UnsafeRawBufferPointer($0), single: false, into: &out)
                }
                    ?? false
            }
        case .decimalString:
            guard let plain = plainDecimal(text) else { return false }
            switch plain {
            // The names of Debezium's SpecialValueDecimal values.
            case "NaN": out.appendRaw("\"NAN\"")
            case "Infinity": out.appendRaw("\"POSITIVE_INFINITY\"")
            case "-Infinity": out.appendRaw("\"NEGATIVE_INFINITY\"")
            default: out.appendString(plain)
            }
            return true
        case .connectDate:
            return write(text, as: .date, into: &out)
        case .connectTime:
            return write(text, as: .timeMillis, into: &out)
        case .connectTimestamp:
            return write(text, as: .timestampMillis, into: &out)
        case .bytesText(let mode):
            guard let raw = decodeByteaHex(text) else { return false }
            switch mode {
            case .bytes, .base64:
                out.appendBase64(raw)
            case .base64URLSafe:
                let encoded = raw.withUnsafeBytes { Base64.encode($0) }
                out.appendString(
                    encoded.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 }
                )
            case .hex:
                out.appendString(Array(UnsafeRawBufferPointer(rebasing: text[2...])).map { $0 | 0x20 })
            }
            return true
        case .intervalString:
            guard let parts = TimeText.parseInterval(text) else { return false }
            out.appendString(parts.isoText)
            return true
        case .hstoreMap:
            guard let pairs = CompositeText.hstorePairs(text) else { return false }
            out.append(UInt8(ascii: "{"))
            for (position, index) in CompositeText.javaHashMapOrder(pairs.map(\.0)).enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.appendString(pairs[index].0)
                out.append(UInt8(ascii: ":"))
                if let value = pairs[index].1 { out.appendString(value) } else { out.appendNull() }
            }
            out.append(UInt8(ascii: "}"))
            return true
        case .alwaysNull, .omitted:
            out.appendNull()
            return true
        }
    }

    /// numeric or money text as a plain decimal (`$1,234.56` → `1234.56`); the special values as they are.
    private static func plainDecimal(_ text: UnsafeRawBufferPointer) -> String? {
        let plain = String(decoding: text.filter { $0 != UInt8(ascii: "$") && $0 != UInt8(ascii: ",") }, as: UTF8.self)
        return plain.isEmpty ? nil : plain
    }

    private static func writeDecimal(_ number: DecimalText?, scale: Int, into out: inout JSONBuffer) -> Bool {
        guard let number else { return false }
        guard let unscaled = number.unscaled(toScale: scale) else {
            // NaN / Infinity have no Decimal representation; Debezium writes null.
            out.appendNull()
            return true
        }
        out.appendBase64(unscaled)
        return true
    }

    /// A `date`'s days since the epoch; PostgreSQL's ±infinity day numbers (INT_MAX / INT_MIN since 2000) shifted to
    /// 1970, in 32 bits, as Debezium writes them.
    @inline(__always)
    static func days(_ text: UnsafeRawBufferPointer) -> Int64? {
        if let special = infinity(text) { return Int64(special ? Int32.max &+ 10957 : Int32.min &+ 10957) }
        return DateTimeText.parseDate(text)
    }

    /// A `timestamp`'s microseconds since the epoch; its infinities as pgjdbc's DATE_POSITIVE/NEGATIVE_INFINITY, which
    /// Debezium carries through as microseconds.
    @inline(__always)
    static func timestampMicros(_ text: UnsafeRawBufferPointer) -> Int64? {
        if let special = infinity(text) { return special ? 9_223_372_036_825_200_000 : -9_223_372_036_832_400_000 }
        return DateTimeText.parseTimestamp(text, withZone: false)
    }

    /// true for `infinity`, false for `-infinity`, nil otherwise.
    @inline(__always)
    static func infinity(_ text: UnsafeRawBufferPointer) -> Bool? {
        // Dates and times start with a digit; only the two special values reach the comparisons.
        guard let first = text.first, first == UInt8(ascii: "i") || first == UInt8(ascii: "-") else { return nil }
        if text.elementsEqual("infinity".utf8) { return true }
        if text.elementsEqual("-infinity".utf8) { return false }
        return nil
    }

    /// The value Debezium puts in a NOT NULL column the server did not send (a `before` built from a key).
    static func writeDefault(for encoding: ColumnEncoding, into out: inout JSONBuffer) {
        switch encoding {
        case .boolean, .bit: out.appendRaw("false")
        case .int16, .int32, .int64, .date, .timeMillis, .timeMicros, .timestampMillis, .timestampMicros, .interval:
            out.appendRaw("0")
        case .float32, .float64: out.appendRaw("0.0")
        case .decimal, .money: out.appendRaw("\"AA==\"")
        case .variableDecimal: out.appendRaw("{\"scale\":0,\"value\":\"AA==\"}")
        case .string, .json, .uuid, .xml, .tsvector, .enumeration, .bytes, .bits, .hstoreJSON: out.appendRaw("\"\"")
        case .zonedTimestamp: out.appendRaw("\"1970-01-01T00:00:00Z\"")
        case .zonedTime: out.appendRaw("\"00:00:00Z\"")
        case .point: out.appendRaw("{\"x\":0.0,\"y\":0.0,\"wkb\":null,\"srid\":null}")
        case .array: out.appendRaw("[]")
        case .decimalDouble: out.appendRaw("0.0")
        case .connectDate, .connectTime, .connectTimestamp: out.appendRaw("0")
        case .decimalString, .bytesText, .intervalString: out.appendRaw("\"\"")
        case .hstoreMap: out.appendRaw("{}")
        case .alwaysNull, .omitted: out.appendNull()
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

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
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
