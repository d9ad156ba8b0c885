/// Parses PostgreSQL's ISO date/time output (`DateStyle=ISO`) and writes ISO-8601, without Foundation.
enum DateTimeText {
    /// Days since 1970-01-01 in the proleptic Gregorian calendar (astronomical years).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private struct Scanner {
        let text: UnsafeRawBufferPointer
        var index = 0

        var atEnd: Bool { index >= text.count }
        var peek: UInt8? { index < text.count ? text[index] : nil }

        mutating func number(maxDigits: Int = 18) -> (value: Int64, digits: Int)? {
            var value: Int64 = 0
            var count = 0
            while index < text.count, text[index] &- UInt8(ascii: "0") < 10, count < maxDigits {
                value = value * 10 + Int64(text[index] - UInt8(ascii: "0"))
                index += 1
                count += 1
            }
            return count == 0 ? nil : (value, count)
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        mutating func suffixBC() -> Bool {
            guard text.count - index == 3, text[index] == UInt8(ascii: " "), text[index + 1] == UInt8(ascii: "B"),
                text[index + 2] == UInt8(ascii: "C")
            else { return false }
            index += 3
            return true
        }
    }

    private static func scanDate(_ scanner: inout Scanner) -> (year: Int64, month: Int64, day: Int64)? {
        guard let year = scanner.number(), scanner.expect(UInt8(ascii: "-")),
            let month = scanner.number(maxDigits: 2), scanner.expect(UInt8(ascii: "-")),
            let day = scanner.number(maxDigits: 2),
            (1...12).contains(month.value), (1...31).contains(day.value)
        else { return nil }
        return (year.value, month.value, day.value)
    }

    /// `1990-05-04` (or `0044-03-15 BC`) → days since the epoch.
    static func parseDate(_ text: UnsafeRawBufferPointer) -> Int64? {
        var scanner = Scanner(text: text)
        guard var date = scanDate(&scanner) else { return nil }
        if scanner.suffixBC() { date.year = 1 - date.year }
        guard scanner.atEnd else { return nil }
        return daysFromCivil(year: date.year, month: date.month, day: date.day)
    }

    /// `2024-03-01 10:00:00.5` or, with a zone, `2024-03-01 10:00:00.123456+05:30` → microseconds since the epoch (UTC);
    /// nil also past what 64 bits of microseconds hold (PostgreSQL's last years, up to 294276).
    static func parseTimestamp(_ text: UnsafeRawBufferPointer, withZone: Bool) -> Int64? {
        guard let (seconds, micros) = parseTimestampSeconds(text, withZone: withZone) else { return nil }
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        let (total, overflowAdding) = scaled.addingReportingOverflow(micros)
        return overflow || overflowAdding ? nil : total
    }

    /// The same as whole seconds since the epoch and the microseconds within the second, which hold every timestamp.
    static func parseTimestampSeconds(_ text: UnsafeRawBufferPointer, withZone: Bool) -> (seconds: Int64, micros: Int64)? {
        var scanner = Scanner(text: text)
        guard var date = scanDate(&scanner), scanner.expect(UInt8(ascii: " ")),
            let hour = scanner.number(maxDigits: 2), scanner.expect(UInt8(ascii: ":")),
            let minute = scanner.number(maxDigits: 2), scanner.expect(UInt8(ascii: ":")),
            let second = scanner.number(maxDigits: 2)
        else { return nil }
        var micros: Int64 = 0
        if scanner.expect(UInt8(ascii: ".")) {
            guard let fraction = scanner.number(maxDigits: 6) else { return nil }
            micros = fraction.value
            for _ in fraction.digits..<6 { micros *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if withZone {
            guard let sign = scanner.peek, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
            scanner.index += 1
            guard let hours = scanner.number(maxDigits: 2) else { return nil }
            offsetSeconds = hours.value * 3600
            if scanner.expect(UInt8(ascii: ":")) {
                guard let minutes = scanner.number(maxDigits: 2) else { return nil }
                offsetSeconds += minutes.value * 60
                if scanner.expect(UInt8(ascii: ":")) {
                    guard let seconds = scanner.number(maxDigits: 2) else { return nil }
                    offsetSeconds += seconds.value
                }
            }
            if sign == UInt8(ascii: "-") { offsetSeconds = -offsetSeconds }
        }
        if scanner.suffixBC() { date.year = 1 - date.year }
        guard scanner.atEnd, hour.value <= 24, minute.value < 60, second.value <= 60 else { return nil }
        let days = daysFromCivil(year: date.year, month: date.month, day: date.day)
        let seconds = days * 86_400 + hour.value * 3600 + minute.value * 60 + second.value - offsetSeconds
        return (seconds, micros)
    }

    /// The common case of a `timestamptz` value, written by a server whose session time zone is UTC:
    /// `2024-03-01 10:00:00.12+00` becomes `"2024-03-01T10:00:00.120000"Z` (quoted) by moving bytes,
    /// without the round trip through microseconds. False, having written nothing, for any other form
    /// (another offset, a year past 9999, BC, more fraction digits than `fractionDigits`), which the
    /// general path then handles.
    static func appendQuotedISO8601FromUTCText(
        _ text: UnsafeRawBufferPointer, fractionDigits: Int, into out: inout JSONBuffer
    ) -> Bool {
        // yyyy-mm-dd hh:mm:ss is 19 bytes, then an optional .f{1,6}, then +00.
        let length = text.count
        guard length >= 22, length <= 29, let base = text.baseAddress else { return false }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        guard bytes[length - 3] == UInt8(ascii: "+"), bytes[length - 2] == UInt8(ascii: "0"),
            bytes[length - 1] == UInt8(ascii: "0"), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return false }
        for index in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] where bytes[index] &- UInt8(ascii: "0") > 9 {
            return false
        }
        let fraction = length - 22 > 0 ? length - 23 : 0
        if length > 22 {
            guard bytes[19] == UInt8(ascii: "."), fraction >= 1, fraction <= min(fractionDigits, 6) else { return false }
            for index in 20..<(20 + fraction) where bytes[index] &- UInt8(ascii: "0") > 9 { return false }
        }
        let digits = min(fractionDigits, 6)
        out.write(maximum: 22 + digits) { destination in
            destination[0] = UInt8(ascii: "\"")
            (destination + 1).update(from: bytes, count: 19)
            destination[11] = UInt8(ascii: "T")
            var written = 20
            if digits > 0 {
                destination[20] = UInt8(ascii: ".")
                if fraction > 0 { (destination + 21).update(from: bytes + 20, count: fraction) }
                for index in fraction..<digits { destination[21 + index] = UInt8(ascii: "0") }
                written = 21 + digits
            }
            destination[written] = UInt8(ascii: "Z")
            destination[written + 1] = UInt8(ascii: "\"")
            return written + 2
        }
        return true
    }

    /// Writes `2024-03-01T10:00:00.123456Z` with exactly `fractionDigits` fraction digits (none for 0).
    static func appendISO8601UTC(micros: Int64, fractionDigits: Int, into out: inout JSONBuffer) {
        let seconds = floorDiv(micros, 1_000_000)
        appendISO8601UTC(seconds: seconds, micros: micros - seconds * 1_000_000, fractionDigits: fractionDigits, into: &out)
    }

    /// The same from whole seconds since the epoch and the microseconds within the second (0 to 999,999).
    static func appendISO8601UTC(seconds: Int64, micros fraction: Int64, fractionDigits: Int, into out: inout JSONBuffer) {
        let days = floorDiv(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let civil = civilFromDays(days)
        // java.time: a year past 9999 gets a sign; years before 1 are written astronomically (-0043).
        if civil.year > 9999 { out.append(UInt8(ascii: "+")) }
        appendPadded(civil.year, width: 4, into: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(civil.month, width: 2, into: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(civil.day, width: 2, into: &out)
        out.append(UInt8(ascii: "T"))
        appendPadded(secondOfDay / 3600, width: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(secondOfDay / 60 % 60, width: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(secondOfDay % 60, width: 2, into: &out)
        if fractionDigits > 0 {
            out.append(UInt8(ascii: "."))
            var divisor: Int64 = 100_000
            for _ in 0..<min(fractionDigits, 6) {
                out.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
                divisor /= 10
            }
        }
        out.append(UInt8(ascii: "Z"))
    }

    private static func appendPadded(_ value: Int64, width: Int, into out: inout JSONBuffer) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            appendPadded(-value, width: width, into: &out)
            return
        }
        var digits = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        for _ in digits..<max(width, digits) { out.append(UInt8(ascii: "0")) }
        out.appendInteger(value)
    }
}
