#if canImport(Glibc)
    import Glibc
#endif

/// Parses PostgreSQL's `time`, `timetz` and `interval` (IntervalStyle postgres) output.
enum TimeText {
    /// `13:45:30.123456` → microseconds of the day (24:00:00 allowed).
    static func parseTime(_ text: some Collection<UInt8>) -> Int64? {
        Array(text).withUnsafeBytes { parseTime($0) }
    }

    static func parseTime(_ text: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        guard let micros = clock(text, &index), index == text.count else { return nil }
        return micros
    }

    /// `13:45:30.5+05:30` → microseconds of the day in UTC.
    static func parseTimeWithZone(_ text: some Collection<UInt8>) -> Int64? {
        Array(text).withUnsafeBytes { parseTimeWithZone($0) }
    }

    static func parseTimeWithZone(_ text: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        guard let local = clock(text, &index), index < text.count,
            text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")
        else { return nil }
        let sign = text[index]
        index += 1
        var offset: Int64 = 0
        var unit: Int64 = 3600
        while index < text.count {
            guard let part = digits(text, &index, max: 2) else { return nil }
            offset += part * unit
            unit /= 60
            if index < text.count, text[index] == UInt8(ascii: ":") { index += 1 } else { break }
        }
        guard index == text.count else { return nil }
        let utc = local - (sign == UInt8(ascii: "-") ? -offset : offset) * 1_000_000
        let day: Int64 = 86_400_000_000
        return ((utc % day) + day) % day
    }

    @inline(__always)
    private static func digits(_ text: UnsafeRawBufferPointer, _ index: inout Int, max: Int) -> Int64? {
        var value: Int64 = 0
        var count = 0
        while index < text.count, text[index] &- UInt8(ascii: "0") < 10, count < max {
            value = value * 10 + Int64(text[index] - UInt8(ascii: "0"))
            index += 1
            count += 1
        }
        return count == 0 ? nil : value
    }

    /// `HH:MM:SS[.ffffff]` from `index` → microseconds; moves `index` past it.
    private static func clock(_ text: UnsafeRawBufferPointer, _ index: inout Int) -> Int64? {
        guard let hours = digits(text, &index, max: 9), index < text.count, text[index] == UInt8(ascii: ":") else {
            return nil
        }
        index += 1
        guard let minutes = digits(text, &index, max: 2), index < text.count, text[index] == UInt8(ascii: ":") else {
            return nil
        }
        index += 1
        guard let seconds = digits(text, &index, max: 2) else { return nil }
        var micros: Int64 = 0
        if index < text.count, text[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100_000
            guard index < text.count, text[index] &- UInt8(ascii: "0") < 10 else { return nil }
            while index < text.count, text[index] &- UInt8(ascii: "0") < 10 {
                micros += Int64(text[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
        }
        return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micros
    }

    /// An interval's parts, as pgjdbc's PGInterval holds them.
    struct IntervalParts: Equatable {
        var years = 0
        var months = 0
        var days = 0
        var hours = 0
        var minutes = 0
        var wholeSeconds = 0
        var microseconds = 0

        /// Debezium's `interval.handling.mode=string` form: `P1Y2M3DT4H5M6.789S`.
        var isoText: String {
            var seconds = String(wholeSeconds)
            if microseconds != 0 {
                if wholeSeconds == 0 && microseconds < 0 { seconds = "-0" }
                var fraction = String(abs(microseconds))
                fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
                while fraction.hasSuffix("0") { fraction.removeLast() }
                seconds += "." + fraction
            }
            return "P\(years)Y\(months)M\(days)DT\(hours)H\(minutes)M\(seconds)S"
        }

        /// Debezium's `MicroDuration.durationMicros` with 365.25/12 days a month, in the same floating-point steps.
        var debeziumMicros: Int64 {
            let daysPerMonth = 365.25 / 12
            let seconds = Double(wholeSeconds) + Double(microseconds) / 1_000_000
            let numberOfDays = Double(years * 12 + months) * daysPerMonth + Double(days)
            let numberOfSeconds = ((numberOfDays * 24 + Double(hours)) * 60 + Double(minutes)) * 60 + seconds
            let micros = numberOfSeconds * 1_000_000
            // Java's (long) cast: toward zero, saturating.
            if micros >= 9.223372036854775807e18 { return Int64.max }
            if micros <= -9.223372036854775808e18 { return Int64.min }
            return Int64(micros)
        }
    }

    /// `1 year 2 mons 3 days 04:05:06.789`, `-3 days -00:00:01`, `00:00:00`.
    static func parseInterval(_ text: some Collection<UInt8>) -> IntervalParts? {
        Array(text).withUnsafeBytes { parseInterval($0) }
    }

    static func parseInterval(_ text: UnsafeRawBufferPointer) -> IntervalParts? {
        var parts = IntervalParts()
        var index = 0
        let count = text.count
        /// The next space-separated word, or nil at the end.
        func word() -> Range<Int>? {
            while index < count, text[index] == UInt8(ascii: " ") { index += 1 }
            guard index < count else { return nil }
            let start = index
            while index < count, text[index] != UInt8(ascii: " ") { index += 1 }
            return start..<index
        }
        while let current = word() {
            let bytes = UnsafeRawBufferPointer(rebasing: text[current])
            if bytes.contains(UInt8(ascii: ":")) {
                var position = 0
                var negative = false
                if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
                    negative = bytes[0] == UInt8(ascii: "-")
                    position = 1
                }
                guard let micros = clock(bytes, &position), position == bytes.count else { return nil }
                let sign = negative ? -1 : 1
                let total = Int(micros)
                parts.hours = sign * (total / 3_600_000_000)
                parts.minutes = sign * (total / 60_000_000 % 60)
                parts.wholeSeconds = sign * (total / 1_000_000 % 60)
                parts.microseconds = sign * (total % 1_000_000)
                continue
            }
            guard let number = integer(bytes), let unit = word() else { return nil }
            let name = UnsafeRawBufferPointer(rebasing: text[unit])
            // PostgreSQL's words: `year(s)`, `mon(s)`, `day(s)`.
            let stem = name.count > 0 && name[name.count - 1] == UInt8(ascii: "s") ? name.count - 1 : name.count
            func isWord(_ word: StaticString) -> Bool {
                stem == word.utf8CodeUnitCount && memcmp(name.baseAddress!, word.utf8Start, stem) == 0
            }
            if isWord("year") {
                parts.years = number
            } else if isWord("mon") {
                parts.months = number
            } else if isWord("day") {
                parts.days = number
            } else {
                return nil
            }
        }
        return parts
    }

    /// `-12`, `+3`, `45` → the number; nil for anything else (or one that does not fit).
    private static func integer(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            index = 1
        }
        guard index < bytes.count else { return nil }
        var value = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int(digit))
            guard !overflow, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }

    /// Writes `HH:mm:ss[.fraction]Z` as Java's `ISO_OFFSET_TIME` does for UTC (fraction without trailing zeros).
    static func appendZonedTime(micros: Int64, into out: inout JSONBuffer) {
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        appendTwoDigits(seconds / 3600, into: &out)
        out.append(UInt8(ascii: ":"))
        appendTwoDigits(seconds / 60 % 60, into: &out)
        out.append(UInt8(ascii: ":"))
        appendTwoDigits(seconds % 60, into: &out)
        if fraction > 0 {
            out.append(UInt8(ascii: "."))
            var digits = fraction
            var width = 6
            while digits % 10 == 0 {
                digits /= 10
                width -= 1
            }
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(digits / divisor % 10))
                divisor /= 10
            }
        }
        out.append(UInt8(ascii: "Z"))
    }

    private static func appendTwoDigits(_ value: Int64, into out: inout JSONBuffer) {
        out.append(UInt8(ascii: "0") + UInt8(value / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}
