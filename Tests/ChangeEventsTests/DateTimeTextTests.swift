import Foundation
import Testing

@testable import ChangeEvents

/// The `timestamptz` fast path (UTC text moved byte by byte) writes exactly what parsing and formatting do.
@Suite struct DateTimeTextTests {
    static func general(_ text: String, digits: Int) -> String? {
        var text = text
        return text.withUTF8 { utf8 -> String? in
            guard let micros = DateTimeText.parseTimestamp(UnsafeRawBufferPointer(utf8), withZone: true) else { return nil }
            var out = JSONBuffer()
            out.append(UInt8(ascii: "\""))
            DateTimeText.appendISO8601UTC(micros: micros, fractionDigits: digits, into: &out)
            out.append(UInt8(ascii: "\""))
            return String(decoding: out.bytes, as: UTF8.self)
        }
    }

    static func fast(_ text: String, digits: Int) -> String? {
        var text = text
        return text.withUTF8 { utf8 -> String? in
            var out = JSONBuffer()
            guard DateTimeText.appendQuotedISO8601FromUTCText(UnsafeRawBufferPointer(utf8), fractionDigits: digits, into: &out)
            else { return nil }
            return String(decoding: out.bytes, as: UTF8.self)
        }
    }

    /// PostgreSQL's text form of a UTC instant: trailing zeros of the fraction dropped, `+00` at the end.
    static func postgresText(micros: Int64) -> String {
        var out = JSONBuffer()
        DateTimeText.appendISO8601UTC(micros: micros, fractionDigits: 6, into: &out)
        var text = String(decoding: out.bytes, as: UTF8.self).replacingOccurrences(of: "T", with: " ")
        text.removeLast()  // Z
        while text.hasSuffix("0") && text.contains(".") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text + "+00"
    }

    @Test func utcTextAgreesWithTheGeneralPath() {
        var generator = SystemRandomNumberGenerator()
        // From 0001-01-01 to 9999-12-31, and around the epoch and today.
        let lowest: Int64 = -62_135_596_800_000_000
        let highest: Int64 = 253_402_300_799_999_999
        var samples: [Int64] = [lowest, highest, 0, -1, 1, 1_700_000_000_000_000, 1_700_000_000_120_000]
        for _ in 0..<20_000 { samples.append(Int64.random(in: lowest...highest, using: &generator)) }
        for _ in 0..<2_000 { samples.append(Int64.random(in: lowest...highest, using: &generator) / 1_000_000 * 1_000_000) }
        for micros in samples {
            let text = Self.postgresText(micros: micros)
            for digits in 0...6 {
                let fast = Self.fast(text, digits: digits)
                let fraction = text.split(separator: ".").dropFirst().first.map { $0.count - 3 } ?? 0
                if fraction > digits {
                    #expect(fast == nil, "\(text) has more fraction digits than \(digits): the general path decides")
                } else {
                    #expect(fast != nil, "\(text)")
                    #expect(fast == Self.general(text, digits: digits), "\(text) with \(digits) digits")
                }
            }
        }
    }

    @Test func otherFormsAreLeftToTheGeneralPath() {
        for text in [
            "2024-03-01 10:00:00+01", "2024-03-01 10:00:00-00", "2024-03-01 10:00:00+05:30", "0044-03-15 12:00:00+00 BC",
            "10000-01-01 00:00:00+00", "2024-03-01 10:00:00.1234567+00", "2024-03-01T10:00:00+00", "2024-3-01 10:00:00+00",
            "2024-03-01 10:00:00.+00", "2024-03-01 10:00:0a+00", "infinity", "",
        ] {
            #expect(Self.fast(text, digits: 6) == nil, "\(text)")
        }
    }

    /// PostgreSQL's last years pass what 64 bits of microseconds since 1970 hold: a `timestamptz` there is written from
    /// seconds (it once trapped on overflow), a `timestamp(3)` in milliseconds too; microseconds are refused, not wrapped.
    @Test func theLastYearsPostgreSQLHoldsAreWrittenWithoutOverflow() {
        func write(_ text: String, _ encoding: ColumnEncoding) -> String? {
            var out = JSONBuffer()
            let written = Array(text.utf8).withUnsafeBytes { ValueWriter.write($0, as: encoding, into: &out) }
            return written ? String(decoding: out.bytes, as: UTF8.self) : nil
        }
        #expect(
            write("294276-12-31 23:59:59.999999+00", .zonedTimestamp(fractionDigits: 6))
                == "\"+294276-12-31T23:59:59.999999Z\"")
        #expect(write("294276-12-31 23:59:59.999", .timestampMillis) == "9224318015999999")
        #expect(write("294276-12-31 23:59:59.999999", .timestampMicros) == nil)
        #expect(write("262142-12-31 23:59:59.999999", .timestampMicros) == "8210266876799999999")
    }
}
