/// Parses PostgreSQL's `time`, `timetz` and `interval` (IntervalStyle postgres) output.
enum TimeText {
    /// `13:45:30.123456` → microseconds of the day (24:00:00 allowed).
    static func parseTime(_ text: some Collection<UInt8>) -> Int64? {
        var bytes = Array(text)[...]
        return clock(&bytes).flatMap { bytes.isEmpty ? $0 : nil }
    }

    /// `13:45:30.5+05:30` → microseconds of the day in UTC.
    static func parseTimeWithZone(_ text: some Collection<UInt8>) -> Int64? {
        var bytes = Array(text)[...]
        guard let local = clock(&bytes), let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else {
            return nil
        }
        bytes = bytes.dropFirst()
        var offset: Int64 = 0
        var unit: Int64 = 3600
        while !bytes.isEmpty {
            guard let part = digits(&bytes, max: 2) else { return nil }
            offset += part * unit
            unit /= 60
            if bytes.first == UInt8(ascii: ":") { bytes = bytes.dropFirst() } else { break }
        }
        guard bytes.isEmpty else { return nil }
        let utc = local - (sign == UInt8(ascii: "-") ? -offset : offset) * 1_000_000
        let day: Int64 = 86_400_000_000
        return ((utc % day) + day) % day
    }

    private static func digits(_ bytes: inout ArraySlice<UInt8>, max: Int) -> Int64? {
        var value: Int64 = 0
        var count = 0
        while let byte = bytes.first, byte &- UInt8(ascii: "0") < 10, count < max {
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            bytes = bytes.dropFirst()
            count += 1
        }
        return count == 0 ? nil : value
    }

    /// `HH:MM:SS[.ffffff]` at the start of `bytes` → microseconds; consumes it.
    private static func clock(_ bytes: inout ArraySlice<UInt8>) -> Int64? {
        guard let hours = digits(&bytes, max: 9), bytes.first == UInt8(ascii: ":") else { return nil }
        bytes = bytes.dropFirst()
        guard let minutes = digits(&bytes, max: 2), bytes.first == UInt8(ascii: ":") else { return nil }
        bytes = bytes.dropFirst()
        guard let seconds = digits(&bytes, max: 2) else { return nil }
        var micros: Int64 = 0
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            var scale: Int64 = 100_000
            guard let first = bytes.first, first &- UInt8(ascii: "0") < 10 else { return nil }
            while let byte = bytes.first, byte &- UInt8(ascii: "0") < 10 {
                micros += Int64(byte - UInt8(ascii: "0")) * scale
                scale /= 10
                bytes = bytes.dropFirst()
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
        let words = Array(text).split(separator: UInt8(ascii: " "))
        var parts = IntervalParts()
        var index = 0
        while index < words.count {
            let word = words[index]
            if word.contains(UInt8(ascii: ":")) {
                var bytes = word[...]
                var negative = false
                if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") {
                    negative = bytes.first == UInt8(ascii: "-")
                    bytes = bytes.dropFirst()
                }
                guard let micros = clock(&bytes), bytes.isEmpty else { return nil }
                let sign = negative ? -1 : 1
                let total = Int(micros)
                parts.hours = sign * (total / 3_600_000_000)
                parts.minutes = sign * (total / 60_000_000 % 60)
                parts.wholeSeconds = sign * (total / 1_000_000 % 60)
                parts.microseconds = sign * (total % 1_000_000)
                index += 1
                continue
            }
            guard index + 1 < words.count, let number = Int(String(decoding: word, as: UTF8.self)) else { return nil }
            switch String(decoding: words[index + 1], as: UTF8.self) {
            case "year", "years": parts.years = number
            case "mon", "mons": parts.months = number
            case "day", "days": parts.days = number
            default: return nil
            }
            index += 2
        }
        return parts
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
