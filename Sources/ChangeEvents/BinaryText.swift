public import PGOutput

/// How a column's value in PostgreSQL's binary send format (pgoutput's `binary` option) becomes the text the type's
/// output function writes in the connector's session (`DateStyle=ISO`, `IntervalStyle=postgres`, `TimeZone=UTC`,
/// `lc_monetary=C`), so that everything after decoding (events, keys, signals, Avro) reads one form.
///
/// Decided once per relation from the column's type, as `ColumnEncoding` is; nil for a type whose send format the
/// connector does not know, which is only a type it leaves out of events (`omitted`) or an unusual user-defined one.
public indirect enum BinaryFormat: Sendable, Equatable {
    case bool
    case int2
    case int4
    /// `int8`; also `oid` is read as an unsigned `int4`.
    case int8
    case oid
    case float4
    case float8
    case numeric
    /// Cents as an `int8`, written as `cash_out` does under `lc_monetary=C` (`-$1,234.56`).
    case money
    /// The text itself: `text`, `varchar`, `bpchar`, `name`, `json`, `xml`, an enum's label, `citext`.
    case text
    /// A version byte (1) and the text: `jsonb`, `ltree`.
    case versionedText
    /// The single-byte `"char"`.
    case char
    case uuid
    case bytea
    case date
    case time
    case timetz
    case timestamp
    case timestamptz
    case interval
    /// `inet` and `cidr` (the value says which).
    case inet
    case macaddr
    case macaddr8
    /// `bit` and `varbit`.
    case bits
    case point
    case tsvector
    case hstore
    case range(BinaryFormat)
    case array(BinaryFormat)

    /// The format of a column of type `typeOID`, with the catalog's facts for types whose OID is not fixed.
    public init?(typeOID: UInt32, facts: ColumnTypeFacts? = nil) {
        if let builtin = Self.builtin(typeOID) {
            self = builtin
            return
        }
        if let element = PostgresType.arrayElements[typeOID] {
            guard let format = Self.builtin(element) else { return nil }
            self = .array(format)
            return
        }
        guard let facts else { return nil }
        switch facts.kind {
        case "e":
            self = .text
        case "d":
            guard let base = BinaryFormat(typeOID: facts.baseOID) else { return nil }
            self = base
        case "b" where facts.elementOID != 0 && facts.name.hasPrefix("_"):
            if facts.elementKind == "e" {
                self = .array(.text)
            } else if let element = BinaryFormat(typeOID: facts.elementOID)
                ?? Self.extension(facts.elementName)
            {
                self = .array(element)
            } else {
                return nil
            }
        case "b":
            guard let format = Self.extension(facts.name) else { return nil }
            self = format
        default:
            return nil
        }
    }

    private static func `extension`(_ name: String) -> BinaryFormat? {
        switch name {
        case "hstore": .hstore
        case "citext": .text
        case "ltree": .versionedText
        default: nil
        }
    }

    private static func builtin(_ oid: UInt32) -> BinaryFormat? {
        switch oid {
        case PostgresType.bool: .bool
        case PostgresType.int2: .int2
        case PostgresType.int4: .int4
        case PostgresType.int8: .int8
        case PostgresType.oid: .oid
        case PostgresType.float4: .float4
        case PostgresType.float8: .float8
        case PostgresType.numeric: .numeric
        case PostgresType.money: .money
        case PostgresType.text, PostgresType.varchar, PostgresType.bpchar, PostgresType.name, PostgresType.json,
            PostgresType.xml:
            .text
        case PostgresType.jsonb: .versionedText
        case PostgresType.char: .char
        case PostgresType.uuid: .uuid
        case PostgresType.bytea: .bytea
        case PostgresType.date: .date
        case PostgresType.time: .time
        case PostgresType.timetz: .timetz
        case PostgresType.timestamp: .timestamp
        case PostgresType.timestamptz: .timestamptz
        case PostgresType.interval: .interval
        case PostgresType.inet, PostgresType.cidr: .inet
        case PostgresType.macaddr: .macaddr
        case PostgresType.macaddr8: .macaddr8
        case PostgresType.bit, PostgresType.varbit: .bits
        case PostgresType.point: .point
        case PostgresType.tsvector: .tsvector
        case PostgresType.int4range: .range(.int4)
        case PostgresType.int8range: .range(.int8)
        case PostgresType.numrange: .range(.numeric)
        case PostgresType.tsrange: .range(.timestamp)
        case PostgresType.tstzrange: .range(.timestamptz)
        case PostgresType.daterange: .range(.date)
        default: nil
        }
    }

    /// Appends the text of `value` to `out`; false when the bytes are not a value of this format.
    public func appendText(_ value: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        var reader = BinaryReader(value)
        guard appendText(&reader, to: &out) else { return false }
        return reader.atEnd
    }

    private func appendText(_ reader: inout BinaryReader, to out: inout [UInt8]) -> Bool {
        switch self {
        case .bool:
            guard let byte = reader.uint8() else { return false }
            out.append(byte != 0 ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .int2:
            guard let value = reader.int16() else { return false }
            Self.appendInteger(Int64(value), to: &out)
        case .int4:
            guard let value = reader.int32() else { return false }
            Self.appendInteger(Int64(value), to: &out)
        case .int8:
            guard let value = reader.int64() else { return false }
            Self.appendInteger(value, to: &out)
        case .oid:
            guard let value = reader.int32() else { return false }
            Self.appendInteger(Int64(UInt32(bitPattern: value)), to: &out)
        case .float4:
            guard let bits = reader.int32() else { return false }
            Self.appendFloat(Float(bitPattern: UInt32(bitPattern: bits)), to: &out)
        case .float8:
            guard let bits = reader.int64() else { return false }
            Self.appendFloat(Double(bitPattern: UInt64(bitPattern: bits)), to: &out)
        case .numeric:
            return Self.appendNumeric(&reader, to: &out)
        case .money:
            guard let cents = reader.int64() else { return false }
            Self.appendMoney(cents, to: &out)
        case .text:
            out.append(contentsOf: reader.rest())
        case .versionedText:
            guard reader.uint8() == 1 else { return false }
            out.append(contentsOf: reader.rest())
        case .char:
            guard let byte = reader.uint8() else { return false }
            if byte >= 0x80 {
                // charout: a byte with the high bit set as `\ooo`.
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "0") + (byte >> 6))
                out.append(UInt8(ascii: "0") + ((byte >> 3) & 7))
                out.append(UInt8(ascii: "0") + (byte & 7))
            } else if byte != 0 {
                out.append(byte)
            }
        case .uuid:
            guard let bytes = reader.bytes(16) else { return false }
            Self.uuidText(bytes) { out.append($0) }
        case .bytea:
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "x"))
            for byte in reader.rest() { Self.appendHex(byte, to: &out) }
        case .date:
            guard let days = reader.int32() else { return false }
            Self.appendDate(days, to: &out)
        case .time:
            guard let micros = reader.int64() else { return false }
            Self.appendTime(micros, to: &out)
        case .timetz:
            guard let micros = reader.int64(), let zone = reader.int32() else { return false }
            Self.appendTime(micros, to: &out)
            Self.appendZone(zone, to: &out)
        case .timestamp, .timestamptz:
            guard let micros = reader.int64() else { return false }
            Self.appendTimestamp(micros, zoned: self == .timestamptz, to: &out)
        case .interval:
            guard let micros = reader.int64(), let days = reader.int32(), let months = reader.int32() else { return false }
            Self.appendInterval(months: months, days: days, micros: micros, to: &out)
        case .inet:
            return Self.appendInet(&reader, to: &out)
        case .macaddr, .macaddr8:
            guard let bytes = reader.bytes(self == .macaddr ? 6 : 8) else { return false }
            for (index, byte) in bytes.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ":")) }
                Self.appendHex(byte, to: &out)
            }
        case .bits:
            guard let length = reader.int32(), length >= 0, let bytes = reader.bytes((Int(length) + 7) / 8) else {
                return false
            }
            for bit in 0..<Int(length) {
                out.append(
                    bytes[bytes.startIndex + bit / 8] & (0x80 >> UInt8(bit % 8)) != 0 ? UInt8(ascii: "1") : UInt8(ascii: "0"))
            }
        case .point:
            guard let x = reader.int64(), let y = reader.int64() else { return false }
            out.append(UInt8(ascii: "("))
            Self.appendFloat(Double(bitPattern: UInt64(bitPattern: x)), to: &out)
            out.append(UInt8(ascii: ","))
            Self.appendFloat(Double(bitPattern: UInt64(bitPattern: y)), to: &out)
            out.append(UInt8(ascii: ")"))
        case .tsvector:
            return Self.appendTSVector(&reader, to: &out)
        case .hstore:
            return Self.appendHstore(&reader, to: &out)
        case .range(let element):
            return Self.appendRange(&reader, element, to: &out)
        case .array(let element):
            return Self.appendArray(&reader, element, to: &out)
        }
        return true
    }

    // MARK: Numbers

    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, minimumWidth: 1, to: &out)
    }

    static func appendDigits(_ value: UInt64, minimumWidth: Int, to out: inout [UInt8]) {
        var digits: (UInt64, Int) = (value, 0)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            repeat {
                buffer[19 - digits.1] = UInt8(ascii: "0") + UInt8(digits.0 % 10)
                digits.0 /= 10
                digits.1 += 1
            } while digits.0 > 0
            for _ in digits.1..<max(minimumWidth, digits.1) { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[(20 - digits.1)...]))
        }
    }

    /// The text `float4out`/`float8out` write with `extra_float_digits` above 0 (the connector's session): the fewest
    /// digits strictly inside the value's rounding interval (PostgreSQL's Ryu does not take a decimal exactly halfway to
    /// a neighbour, where Swift's shortest form may), in fixed notation for decimal exponents from -4 up to 5 (`float4`)
    /// or 14 (`float8`), else `1.5e+20` with at least two exponent digits; `NaN`, `Infinity`, `-Infinity`.
    static func appendFloat<F: BinaryFloatingPoint & LosslessStringConvertible & CVarArg>(_ value: F, to out: inout [UInt8]) {
        if value.isNaN { return out.append(contentsOf: "NaN".utf8) }
        if value.isInfinite { return out.append(contentsOf: (value < 0 ? "-Infinity" : "Infinity").utf8) }
        if value.sign == .minus { out.append(UInt8(ascii: "-")) }
        if value == 0 { return out.append(UInt8(ascii: "0")) }
        let magnitude = value.magnitude
        // Swift's description has the shortest digits, which are PostgreSQL's unless they lie exactly halfway.
        var description = magnitude.description
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var (count, exponent) = description.withUTF8 { decimalDigits($0, into: buffer) }
            if isMidpoint(UnsafeBufferPointer(rebasing: buffer[..<count]), exponent, magnitude) {
                for precision in (count + 1)...(F.self == Float.self ? 9 : 17) {
                    var text = String(format: "%.\(precision - 1)e", Double(magnitude))
                    guard F(text) == magnitude else { continue }
                    let candidate = text.withUTF8 { decimalDigits($0, into: buffer) }
                    (count, exponent) = candidate
                    if !isMidpoint(UnsafeBufferPointer(rebasing: buffer[..<count]), exponent, magnitude) { break }
                }
            }
            let digits = UnsafeBufferPointer(rebasing: buffer[..<count])
            let fixedLimit = F.self == Float.self ? 6 : 15
            if exponent >= -4 && exponent < fixedLimit {
                if exponent < 0 {
                    out.append(UInt8(ascii: "0"))
                    out.append(UInt8(ascii: "."))
                    for _ in 0..<(-exponent - 1) { out.append(UInt8(ascii: "0")) }
                    out.append(contentsOf: digits)
                } else {
                    for index in 0...exponent { out.append(index < digits.count ? digits[index] : UInt8(ascii: "0")) }
                    if digits.count > exponent + 1 {
                        out.append(UInt8(ascii: "."))
                        out.append(contentsOf: digits[(exponent + 1)...])
                    }
                }
            } else {
                out.append(digits[0])
                if digits.count > 1 {
                    out.append(UInt8(ascii: "."))
                    out.append(contentsOf: digits[1...])
                }
                out.append(UInt8(ascii: "e"))
                out.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                appendDigits(UInt64(exponent.magnitude), minimumWidth: 2, to: &out)
            }
        }
    }

    /// The significant digits (ASCII) of a positive number's text (`123.45`, `1e-10`, `1.5e+20`) without trailing zeros,
    /// written into `digits`, their count, and the decimal exponent of the first: `1.2345` × 10^2 is `12345`, 2.
    static func decimalDigits(
        _ text: UnsafeBufferPointer<UInt8>, into digits: UnsafeMutableBufferPointer<UInt8>
    ) -> (count: Int, exponent: Int) {
        var count = 0
        var exponent = -1
        var afterPoint = false
        var index = 0
        while index < text.count {
            let byte = text[index]
            index += 1
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                var negative = false
                if index < text.count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
                    negative = text[index] == UInt8(ascii: "-")
                    index += 1
                }
                var power = 0
                while index < text.count {
                    power = power * 10 + Int(text[index] &- UInt8(ascii: "0"))
                    index += 1
                }
                exponent += negative ? -power : power
                break
            }
            if byte == UInt8(ascii: ".") {
                afterPoint = true
            } else if byte == UInt8(ascii: "0") && count == 0 {
                if afterPoint { exponent -= 1 }
            } else if count < digits.count {
                digits[count] = byte
                count += 1
                if !afterPoint { exponent += 1 }
            } else if !afterPoint {
                exponent += 1
            }
        }
        while count > 1 && digits[count - 1] == UInt8(ascii: "0") { count -= 1 }
        return (count, exponent)
    }

    /// Whether the decimal `0.d1d2…` × 10^(exponent + 1) is exactly halfway between `value` and a neighbour: then
    /// PostgreSQL does not take it. Exact, in integers: a midpoint is an odd number times a power of two.
    static func isMidpoint<F: BinaryFloatingPoint>(_ digits: UnsafeBufferPointer<UInt8>, _ exponent: Int, _ value: F) -> Bool {
        guard digits.count <= 19 else { return false }
        var whole: UInt64 = 0
        for digit in digits { whole = whole * 10 + UInt64(digit - UInt8(ascii: "0")) }
        // value of the text = whole × 10^power
        let power = exponent - (digits.count - 1)
        let significandBits = F.significandBitCount
        let isNormal = value.isNormal
        let mantissa = UInt64(value.significandBitPattern) | (isNormal ? 1 << UInt64(significandBits) : 0)
        let binaryExponent = Int(isNormal ? value.exponent : F.leastNormalMagnitude.exponent) - significandBits
        let twos = whole.trailingZeroBitCount
        let odd = whole >> UInt64(twos)
        func fivePower(_ count: Int) -> UInt64? {
            var result: UInt64 = 1
            for _ in 0..<count {
                let (product, overflow) = result.multipliedReportingOverflow(by: 5)
                if overflow { return nil }
                result = product
            }
            return result
        }
        /// whole × 10^power == numerator × 2^shift, numerator odd.
        func equals(_ numerator: UInt64, _ shift: Int) -> Bool {
            if power >= 0 {
                // odd × 5^power × 2^(twos + power) = numerator × 2^shift
                guard twos + power == shift, let five = fivePower(power) else { return false }
                let (product, overflow) = odd.multipliedReportingOverflow(by: five)
                return !overflow && product == numerator
            }
            // odd × 2^twos = numerator × 5^-power × 2^(shift - power)
            guard twos == shift - power, let five = fivePower(-power) else { return false }
            let (product, overflow) = numerator.multipliedReportingOverflow(by: five)
            return !overflow && product == odd
        }
        // The midpoints: (2M ± 1) × 2^(e-1); below a power of two the neighbour is closer: (4M - 1) × 2^(e-2).
        if equals(2 * mantissa + 1, binaryExponent - 1) { return true }
        if isNormal && value.significandBitPattern == 0 && value > F.leastNormalMagnitude {
            return equals(4 * mantissa - 1, binaryExponent - 2)
        }
        return equals(2 * mantissa - 1, binaryExponent - 1)
    }

    /// `numeric_out`: base-10000 digits, a weight and a display scale.
    static func appendNumeric(_ reader: inout BinaryReader, to out: inout [UInt8]) -> Bool {
        guard let count = reader.int16(), let weight = reader.int16(), let sign = reader.int16(),
            let scale = reader.int16(), count >= 0, scale >= 0
        else { return false }
        var digits: [Int16] = []
        digits.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let digit = reader.int16(), digit >= 0, digit < 10000 else { return false }
            digits.append(digit)
        }
        switch UInt16(bitPattern: sign) {
        case 0xC000:
            out.append(contentsOf: "NaN".utf8)
            return true
        case 0xD000:
            out.append(contentsOf: "Infinity".utf8)
            return true
        case 0xF000:
            out.append(contentsOf: "-Infinity".utf8)
            return true
        case 0x4000:
            out.append(UInt8(ascii: "-"))
        case 0x0000:
            break
        default:
            return false
        }
        func digit(_ index: Int) -> Int { index >= 0 && index < digits.count ? Int(digits[index]) : 0 }
        var index = 0
        if weight < 0 {
            index = Int(weight) + 1
            out.append(UInt8(ascii: "0"))
        } else {
            while index <= Int(weight) {
                let group = digit(index)
                if index == 0 {
                    appendDigits(UInt64(group), minimumWidth: 1, to: &out)
                } else {
                    appendDigits(UInt64(group), minimumWidth: 4, to: &out)
                }
                index += 1
            }
        }
        guard scale > 0 else { return true }
        out.append(UInt8(ascii: "."))
        var written = 0
        while written < Int(scale) {
            var group = digit(index)
            var divisor = 1000
            for _ in 0..<4 where written < Int(scale) {
                out.append(UInt8(ascii: "0") + UInt8(group / divisor))
                group %= divisor
                divisor /= 10
                written += 1
            }
            index += 1
        }
        return true
    }

    /// A binary `numeric`'s value times 10^scale (the given scale, else its display scale) when it is a whole number
    /// of at most 18 digits; nil for NaN, infinities, more digits, or digits past the scale.
    static func smallUnscaled(_ value: UnsafeRawBufferPointer, scale: Int?) -> (value: Int64, scale: Int)? {
        var reader = BinaryReader(value)
        guard let count = reader.int16(), let weight = reader.int16(), let sign = reader.int16(),
            let displayScale = reader.int16(), count >= 0, value.count == 8 + 2 * Int(count),
            sign == 0 || sign == 0x4000
        else { return nil }
        let target = scale ?? Int(displayScale)
        var result: Int64 = 0
        // Digit i is worth 10000^(weight - i): as a power of ten at the target scale, 4 × (weight - i) + target.
        var lowest = 4 * Int(weight) + target
        for _ in 0..<Int(count) {
            guard let digit = reader.int16() else { return nil }
            if digit != 0 {
                guard lowest <= 18 else { return nil }
                var term = Int64(digit)
                if lowest < 0 {
                    // The last group holds digits past the scale only as zeros (`45.00` of 123.45 at scale 2).
                    guard lowest > -4 else { return nil }
                    var divisor: Int64 = 1
                    for _ in 0..<(-lowest) { divisor *= 10 }
                    guard term % divisor == 0 else { return nil }
                    term /= divisor
                }
                for _ in 0..<max(lowest, 0) {
                    let (scaled, overflow) = term.multipliedReportingOverflow(by: 10)
                    guard !overflow else { return nil }
                    term = scaled
                }
                let (sum, overflow) = result.addingReportingOverflow(term)
                guard !overflow else { return nil }
                result = sum
            }
            lowest -= 4
        }
        guard result < 1_000_000_000_000_000_000 else { return nil }
        return (sign == 0x4000 ? -result : result, target)
    }

    /// `cash_out` under `lc_monetary=C`: `$` and `,` every three digits, the minus sign first.
    static func appendMoney(_ cents: Int64, to out: inout [UInt8]) {
        if cents < 0 { out.append(UInt8(ascii: "-")) }
        out.append(UInt8(ascii: "$"))
        let magnitude = cents.magnitude
        var whole: [UInt8] = []
        appendDigits(magnitude / 100, minimumWidth: 1, to: &whole)
        for (index, digit) in whole.enumerated() {
            if index > 0 && (whole.count - index) % 3 == 0 { out.append(UInt8(ascii: ",")) }
            out.append(digit)
        }
        out.append(UInt8(ascii: "."))
        appendDigits(magnitude % 100, minimumWidth: 2, to: &out)
    }

    static func appendHex(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(hexDigit(byte >> 4))
        out.append(hexDigit(byte & 0xF))
    }

    /// A uuid's 16 bytes as `uuid_out` writes them (`8-4-4-4-12` lower-case hex digits), a character at a time: for the
    /// text and JSON writers alike.
    @inline(__always)
    static func uuidText(_ bytes: some Collection<UInt8>, _ put: (UInt8) -> Void) {
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { put(UInt8(ascii: "-")) }
            put(hexDigit(byte >> 4))
            put(hexDigit(byte & 0xF))
        }
    }

    /// The lower-case hex digit of a nibble (0–15); shared by the text and JSON writers.
    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    // MARK: Dates and times

    /// Days between the Julian day 0 and PostgreSQL's epoch, 2000-01-01.
    static let epochJulianDay: Int64 = 2_451_545
    static let microsPerDay: Int64 = 86_400_000_000

    /// `j2date`: a Julian day as a proleptic Gregorian year (0 is 1 BC), month and day.
    static func gregorian(julianDay: Int64) -> (year: Int64, month: Int64, day: Int64) {
        var julian = UInt64(julianDay) + 32044
        var quad = julian / 146_097
        let extra = (julian - quad * 146_097) * 4 + 3
        julian += 60 + quad * 3 + extra / 146_097
        quad = julian / 1461
        julian -= quad * 1461
        var year = julian * 4 / 1461
        julian = (year != 0 ? (julian + 305) % 365 : (julian + 306) % 366) + 123
        year += quad * 4
        quad = julian * 2141 / 65536
        let day = julian - 7834 * quad / 256
        let month = (quad + 10) % 12 + 1
        return (Int64(year) - 4800, Int64(month), Int64(day))
    }

    static func appendYearMonthDay(_ date: (year: Int64, month: Int64, day: Int64), to out: inout [UInt8]) {
        let year = date.year > 0 ? date.year : 1 - date.year
        appendDigits(UInt64(year), minimumWidth: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(UInt64(date.month), minimumWidth: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(UInt64(date.day), minimumWidth: 2, to: &out)
    }

    static func appendDate(_ days: Int32, to out: inout [UInt8]) {
        if days == .max { return out.append(contentsOf: "infinity".utf8) }
        if days == .min { return out.append(contentsOf: "-infinity".utf8) }
        let date = gregorian(julianDay: Int64(days) + epochJulianDay)
        appendYearMonthDay(date, to: &out)
        if date.year <= 0 { out.append(contentsOf: " BC".utf8) }
    }

    /// `HH:MM:SS` and the fraction without trailing zeros (`AppendSeconds`); hours may pass 23 (`24:00:00`, intervals).
    static func appendClock(hours: UInt64, minutes: UInt64, seconds: UInt64, micros: UInt64, to out: inout [UInt8]) {
        appendDigits(hours, minimumWidth: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(minutes, minimumWidth: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(seconds, minimumWidth: 2, to: &out)
        guard micros > 0 else { return }
        out.append(UInt8(ascii: "."))
        var fraction = micros
        var width = 6
        while fraction % 10 == 0 {
            fraction /= 10
            width -= 1
        }
        appendDigits(fraction, minimumWidth: width, to: &out)
    }

    static func appendTime(_ micros: Int64, to out: inout [UInt8]) {
        let value = micros.magnitude
        appendClock(
            hours: value / 3_600_000_000, minutes: value / 60_000_000 % 60, seconds: value / 1_000_000 % 60,
            micros: value % 1_000_000, to: &out)
    }

    /// `EncodeTimezone`: the zone is seconds west of UTC; `+05:30`, `-08`, `+00`.
    static func appendZone(_ secondsWest: Int32, to out: inout [UInt8]) {
        let total = UInt64(secondsWest.magnitude)
        out.append(secondsWest <= 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
        appendDigits(total / 3600, minimumWidth: 2, to: &out)
        let minutes = total / 60 % 60
        let seconds = total % 60
        if minutes != 0 || seconds != 0 {
            out.append(UInt8(ascii: ":"))
            appendDigits(minutes, minimumWidth: 2, to: &out)
        }
        if seconds != 0 {
            out.append(UInt8(ascii: ":"))
            appendDigits(seconds, minimumWidth: 2, to: &out)
        }
    }

    static func appendTimestamp(_ micros: Int64, zoned: Bool, to out: inout [UInt8]) {
        if micros == .max { return out.append(contentsOf: "infinity".utf8) }
        if micros == .min { return out.append(contentsOf: "-infinity".utf8) }
        var days = micros / microsPerDay
        var time = micros % microsPerDay
        if time < 0 {
            time += microsPerDay
            days -= 1
        }
        let date = gregorian(julianDay: days + epochJulianDay)
        appendYearMonthDay(date, to: &out)
        out.append(UInt8(ascii: " "))
        appendTime(time, to: &out)
        if zoned { out.append(contentsOf: "+00".utf8) }
        if date.year <= 0 { out.append(contentsOf: " BC".utf8) }
    }

    /// `EncodeInterval` with `IntervalStyle=postgres`: `1 year 2 mons 3 days 04:05:06.789`, `-3 days -00:00:01`.
    static func appendInterval(months: Int32, days: Int32, micros: Int64, to out: inout [UInt8]) {
        var isZero = true
        var isBefore = false
        func part(_ value: Int64, _ unit: String) {
            guard value != 0 else { return }
            if !isZero { out.append(UInt8(ascii: " ")) }
            if isBefore && value > 0 { out.append(UInt8(ascii: "+")) }
            appendInteger(value, to: &out)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: unit.utf8)
            if value != 1 { out.append(UInt8(ascii: "s")) }
            isBefore = value < 0
            isZero = false
        }
        part(Int64(months / 12), "year")
        part(Int64(months % 12), "mon")
        part(Int64(days), "day")
        guard isZero || micros != 0 else { return }
        if !isZero { out.append(UInt8(ascii: " ")) }
        if micros < 0 {
            out.append(UInt8(ascii: "-"))
        } else if isBefore {
            out.append(UInt8(ascii: "+"))
        }
        appendTime(micros, to: &out)
    }

    // MARK: Network addresses

    /// `inet_out`: family (2 IPv4, 3 IPv6), prefix bits, whether it is a `cidr`, the address's length, the address.
    static func appendInet(_ reader: inout BinaryReader, to out: inout [UInt8]) -> Bool {
        guard let family = reader.uint8(), let bits = reader.uint8(), let isCIDR = reader.uint8(),
            let length = reader.uint8(), let address = reader.bytes(Int(length))
        else { return false }
        let bytes = Array(address)
        switch (family, bytes.count) {
        case (2, 4):
            for (index, byte) in bytes.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ".")) }
                appendDigits(UInt64(byte), minimumWidth: 1, to: &out)
            }
            if bits != 32 || isCIDR != 0 {
                out.append(UInt8(ascii: "/"))
                appendDigits(UInt64(bits), minimumWidth: 1, to: &out)
            }
        case (3, 16):
            appendIPv6(bytes, to: &out)
            if bits != 128 || isCIDR != 0 {
                out.append(UInt8(ascii: "/"))
                appendDigits(UInt64(bits), minimumWidth: 1, to: &out)
            }
        default:
            return false
        }
        return true
    }

    /// `inet_net_ntop_ipv6`: the longest run of two or more zero groups as `::`, an embedded IPv4 address dotted.
    static func appendIPv6(_ bytes: [UInt8], to out: inout [UInt8]) {
        let words = (0..<8).map { UInt16(bytes[$0 * 2]) << 8 | UInt16(bytes[$0 * 2 + 1]) }
        var best = (base: -1, length: 0)
        var current = (base: -1, length: 0)
        for index in 0..<8 {
            if words[index] == 0 {
                current = current.base == -1 ? (index, 1) : (current.base, current.length + 1)
            } else if current.base != -1 {
                if best.base == -1 || current.length > best.length { best = current }
                current = (-1, 0)
            }
        }
        if current.base != -1 && (best.base == -1 || current.length > best.length) { best = current }
        if best.base != -1 && best.length < 2 { best = (-1, 0) }
        var index = 0
        while index < 8 {
            if best.base != -1 && index >= best.base && index < best.base + best.length {
                if index == best.base { out.append(UInt8(ascii: ":")) }
                index += 1
                continue
            }
            if index != 0 { out.append(UInt8(ascii: ":")) }
            if index == 6 && best.base == 0
                && (best.length == 6 || (best.length == 7 && words[7] != 1) || (best.length == 5 && words[5] == 0xFFFF))
            {
                for (position, byte) in bytes[12..<16].enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ".")) }
                    appendDigits(UInt64(byte), minimumWidth: 1, to: &out)
                }
                return
            }
            var started = false
            for shift in stride(from: 12, through: 0, by: -4) {
                let nibble = Int(words[index] >> UInt16(shift) & 0xF)
                if nibble != 0 || started || shift == 0 {
                    out.append(hexDigit(UInt8(nibble)))
                    started = true
                }
            }
            index += 1
        }
        if best.base != -1 && best.base + best.length == 8 { out.append(UInt8(ascii: ":")) }
    }

    // MARK: Text search, hstore, ranges and arrays

    /// `tsvectorout`: each lexeme quoted (`'` and `\` doubled), its positions after `:` with their weights.
    static func appendTSVector(_ reader: inout BinaryReader, to out: inout [UInt8]) -> Bool {
        guard let count = reader.int32(), count >= 0 else { return false }
        for index in 0..<Int(count) {
            guard let lexeme = reader.cString(), let positions = reader.int16() else { return false }
            if index > 0 { out.append(UInt8(ascii: " ")) }
            out.append(UInt8(ascii: "'"))
            for byte in lexeme {
                if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\\") { out.append(byte) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "'"))
            guard positions > 0 else { continue }
            out.append(UInt8(ascii: ":"))
            for position in 0..<Int(positions) {
                guard let entry = reader.int16().map(UInt16.init(bitPattern:)) else { return false }
                if position > 0 { out.append(UInt8(ascii: ",")) }
                appendDigits(UInt64(entry & 0x3FFF), minimumWidth: 1, to: &out)
                switch entry >> 14 {
                case 3: out.append(UInt8(ascii: "A"))
                case 2: out.append(UInt8(ascii: "B"))
                case 1: out.append(UInt8(ascii: "C"))
                default: break
                }
            }
        }
        return true
    }

    /// `hstore_out`: `"key"=>"value"` pairs (`"` and `\` escaped), `NULL` for a null value, `, ` between them.
    static func appendHstore(_ reader: inout BinaryReader, to out: inout [UInt8]) -> Bool {
        guard let count = reader.int32(), count >= 0 else { return false }
        func quoted(_ bytes: UnsafeRawBufferPointer.SubSequence) {
            out.append(UInt8(ascii: "\""))
            for byte in bytes {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        for index in 0..<Int(count) {
            guard let keyLength = reader.int32(), keyLength >= 0, let key = reader.bytes(Int(keyLength)),
                let valueLength = reader.int32()
            else { return false }
            if index > 0 { out.append(contentsOf: ", ".utf8) }
            quoted(key)
            out.append(contentsOf: "=>".utf8)
            if valueLength < 0 {
                out.append(contentsOf: "NULL".utf8)
            } else {
                guard let value = reader.bytes(Int(valueLength)) else { return false }
                quoted(value)
            }
        }
        return true
    }

    /// `range_out`: `empty`, or the bounds' brackets around the bounds' texts (quoted where they hold a bracket, a
    /// comma, a quote, a backslash or a space; quotes and backslashes doubled), an infinite bound left empty.
    static func appendRange(_ reader: inout BinaryReader, _ element: BinaryFormat, to out: inout [UInt8]) -> Bool {
        guard let flags = reader.uint8() else { return false }
        if flags & 0x01 != 0 {
            out.append(contentsOf: "empty".utf8)
            return true
        }
        func bound(_ infinite: Bool) -> Bool {
            guard !infinite else { return true }
            guard let length = reader.int32(), length >= 0, let bytes = reader.bytes(Int(length)) else { return false }
            var text: [UInt8] = []
            guard element.appendText(UnsafeRawBufferPointer(rebasing: bytes), to: &text) else { return false }
            let quote =
                text.isEmpty
                || text.contains { byte in
                    switch byte {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["),
                        UInt8(ascii: "]"), UInt8(ascii: ","):
                        true
                    default: isSpace(byte)
                    }
                }
            if quote { out.append(UInt8(ascii: "\"")) }
            for byte in text {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(byte) }
                out.append(byte)
            }
            if quote { out.append(UInt8(ascii: "\"")) }
            return true
        }
        out.append(flags & 0x02 != 0 ? UInt8(ascii: "[") : UInt8(ascii: "("))
        guard bound(flags & 0x08 != 0) else { return false }
        out.append(UInt8(ascii: ","))
        guard bound(flags & 0x10 != 0) else { return false }
        out.append(flags & 0x04 != 0 ? UInt8(ascii: "]") : UInt8(ascii: ")"))
        return true
    }

    /// `array_out`: nested braces, `NULL` for a null element, an element quoted when it is empty, reads as `NULL`, or
    /// holds a brace, a comma, a quote, a backslash or a space (quotes and backslashes escaped); bounds other than 1
    /// first as `[1:2]=`.
    static func appendArray(_ reader: inout BinaryReader, _ element: BinaryFormat, to out: inout [UInt8]) -> Bool {
        guard let dimensionCount = reader.int32(), dimensionCount >= 0, dimensionCount <= 6, reader.int32() != nil,
            reader.int32() != nil
        else { return false }
        guard dimensionCount > 0 else {
            out.append(contentsOf: "{}".utf8)
            return true
        }
        var lengths: [Int] = []
        var lowerBounds: [Int64] = []
        for _ in 0..<Int(dimensionCount) {
            guard let length = reader.int32(), length >= 0, let lower = reader.int32() else { return false }
            lengths.append(Int(length))
            lowerBounds.append(Int64(lower))
        }
        if lowerBounds.contains(where: { $0 != 1 }) {
            for (length, lower) in zip(lengths, lowerBounds) {
                out.append(UInt8(ascii: "["))
                appendInteger(lower, to: &out)
                out.append(UInt8(ascii: ":"))
                appendInteger(lower + Int64(length) - 1, to: &out)
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "="))
        }
        var scratch: [UInt8] = []
        func items(_ dimension: Int) -> Bool {
            out.append(UInt8(ascii: "{"))
            for index in 0..<lengths[dimension] {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                if dimension + 1 < lengths.count {
                    guard items(dimension + 1) else { return false }
                    continue
                }
                guard let length = reader.int32() else { return false }
                if length < 0 {
                    out.append(contentsOf: "NULL".utf8)
                    continue
                }
                guard let bytes = reader.bytes(Int(length)) else { return false }
                scratch.removeAll(keepingCapacity: true)
                guard element.appendText(UnsafeRawBufferPointer(rebasing: bytes), to: &scratch) else { return false }
                let quote =
                    scratch.isEmpty || isNullWord(scratch)
                    || scratch.contains {
                        $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: ",")
                            || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || isSpace($0)
                    }
                if quote { out.append(UInt8(ascii: "\"")) }
                for byte in scratch {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                    out.append(byte)
                }
                if quote { out.append(UInt8(ascii: "\"")) }
            }
            out.append(UInt8(ascii: "}"))
            return true
        }
        return items(0)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    private static func isNullWord(_ text: [UInt8]) -> Bool {
        text.count == 4 && text.map { $0 | 0x20 } == Array("null".utf8)
    }
}

/// Big-endian reads from a binary value, each nil past its end.
struct BinaryReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }

    mutating func uint8() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int16() -> Int16? { integer(Int16.self) }
    mutating func int32() -> Int32? { integer(Int32.self) }
    mutating func int64() -> Int64? { integer(Int64.self) }

    private mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        guard bytes.count - offset >= MemoryLayout<T>.size else { return nil }
        defer { offset += MemoryLayout<T>.size }
        return T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer.SubSequence? {
        guard count >= 0, bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func rest() -> UnsafeRawBufferPointer.SubSequence {
        defer { offset = bytes.count }
        return bytes[offset...]
    }

    /// A NUL-terminated string, without its NUL.
    mutating func cString() -> UnsafeRawBufferPointer.SubSequence? {
        guard let end = bytes[offset...].firstIndex(of: 0) else { return nil }
        defer { offset = end + 1 }
        return bytes[offset..<end]
    }
}
