import Foundation
import Testing

@testable import ChangeEvents

/// The per-value fast paths of the wide-row work write exactly what the general paths wrote.
@Suite struct FastPathTests {
    static func written(_ text: String, _ encoding: ColumnEncoding) -> String? {
        var buffer = JSONBuffer()
        var text = text
        let ok = text.withUTF8 { ValueWriter.write(UnsafeRawBufferPointer($0), as: encoding, into: &buffer) }
        return ok ? String(decoding: buffer.bytes, as: UTF8.self) : nil
    }

    /// Plain float text without an exponent goes straight through; anything Java writes otherwise takes the general
    /// path.
    @Test func floatsAsJavaWritesThem() {
        let cases: [(String, String)] = [
            ("100", "100.0"), ("-0", "-0.0"), ("0", "0.0"), ("0.001", "0.001"), ("0.0001", "1.0E-4"),
            ("1234567.5", "1234567.5"), ("9999999", "9999999.0"), ("12345678", "1.2345678E7"), ("1.50", "1.5"),
            ("007", "7.0"), ("0.000", "0.0"), ("0.0", "0.0"), ("-0.012", "-0.012"), ("142857.142857143", "142857.142857143"),
            ("1e+30", "1.0E30"), ("1.5e-05", "1.5E-5"), ("NaN", "\"NaN\""), ("-Infinity", "\"-Infinity\""),
        ]
        for (text, java) in cases { #expect(Self.written(text, .float64) == java, "\(text)") }
        #expect(Self.written("1.2.3", .float64) == nil && Self.written("", .float64) == nil)
        #expect(Self.written("12a", .float64) == nil)
    }

    /// Random doubles' shortest text (as PostgreSQL writes it: Swift's, without `.0`) comes out as the same value, in
    /// plain notation exactly where Java uses it (1e-3 <= |v| < 1e7).
    @Test func randomDoublesKeepTheirValueAndJavasNotation() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let raw = Double(bitPattern: generator.next())
            guard raw.isFinite else { continue }
            for value in [raw, Double(Int64.random(in: -9_999_999_999...9_999_999_999)) / 1000, Double.random(in: -0.01...0.01)] {
                var text = "\(value)"
                if text.hasSuffix(".0") { text.removeLast(2) }
                guard let written = Self.written(text, .float64) else {
                    Issue.record("\(text) not written")
                    continue
                }
                #expect(Double(written) == value, "\(text) → \(written)")
                let plain = value == 0 || (abs(value) >= 1e-3 && abs(value) < 1e7)
                #expect(plain == !written.contains("E"), "\(text) → \(written)")
            }
        }
    }

    /// Arrays: unquoted, quoted with escapes, NULL, nested rows and bounds; malformed text is refused.
    @Test func arraysWithoutCopies() {
        #expect(Self.written("{1,NULL,3}", .array(element: .int32, elementOptional: true)) == "[1,null,3]")
        #expect(
            Self.written(#"{"a b","c\"d","e\\f",NULL,"NULL"}"#, .array(element: .string, elementOptional: true))
                == #"["a b","c\"d","e\\f",null,"NULL"]"#)
        #expect(Self.written("{{1,2},{3,4}}", .array(element: .int32, elementOptional: true)) == "[null,null]")
        #expect(Self.written("[0:1]={7,8}", .array(element: .int32, elementOptional: true)) == "[7,8]")
        #expect(Self.written("{}", .array(element: .int32, elementOptional: true)) == "[]")
        #expect(Self.written("{1,2", .array(element: .int32, elementOptional: true)) == nil)
        #expect(Self.written(#"{"open}"#, .array(element: .string, elementOptional: true)) == nil)
        #expect(Self.written("{1;2}", .array(element: .int32, elementOptional: true)) == "[\"1;2\"]")
    }

    /// bytea's hex text straight into Base64.
    @Test func byteaHexToBase64() {
        #expect(Self.written(#"\x"#, .bytes) == "\"\"")
        #expect(Self.written(#"\x0001ff"#, .bytes) == "\"AAH/\"")
        #expect(Self.written(#"\xDEADbeef"#, .bytes) == "\"3q2+7w==\"")
        #expect(Self.written(#"\x0g"#, .bytes) == nil && Self.written(#"\x0"#, .bytes) == nil)
    }

    /// numeric without a precision: up to 18 digits without the general path, the same bytes.
    @Test func variableDecimalsAgreeWithTheGeneralPath() {
        for text in ["0", "-0.5", "123.4500", "999999999999999999", "-0.000000000000000001", "1234567890123456789.5", "NaN"] {
            var general = JSONBuffer()
            var copy = text
            let expected: String? = copy.withUTF8 { raw -> String? in
                guard let number = DecimalText(UnsafeRawBufferPointer(raw)) else { return nil }
                guard let unscaled = number.unscaled(toScale: number.fractionDigits) else { return "null" }
                general.appendRaw("{\"scale\":")
                general.appendInteger(number.fractionDigits)
                general.appendRaw(",\"value\":")
                general.appendBase64(unscaled)
                general.append(UInt8(ascii: "}"))
                return String(decoding: general.bytes, as: UTF8.self)
            }
            if text == "NaN" {
                #expect(Self.written(text, .variableDecimal) == "null")
            } else {
                #expect(Self.written(text, .variableDecimal) == expected, "\(text)")
            }
        }
    }

    /// Intervals, times and time zones parsed in place.
    @Test func intervalsAndTimes() {
        #expect(Self.written("1 year 2 mons 3 days 04:05:06.789", .interval) == "37091106789000")
        #expect(Self.written("-3 days -00:00:01", .interval) == "-259201000000")
        #expect(Self.written("00:00:00", .interval) == "0")
        #expect(Self.written("+2 days", .interval) == "172800000000")
        #expect(Self.written("2 fortnights", .interval) == nil && Self.written("3", .interval) == nil)
        #expect(Self.written("12:34:56.789", .timeMicros) == "45296789000")
        #expect(Self.written("12:34", .timeMicros) == nil && Self.written("12:34:56.", .timeMicros) == nil)
        #expect(Self.written("13:45:30.5+05:30", .zonedTime) == "\"08:15:30.5Z\"")
        #expect(Self.written("13:45:30+05:30x", .zonedTime) == nil)
    }

    /// Strings with and without escapes, 4-byte characters as surrogate pairs.
    @Test func stringsEscapedOnlyWhereNeeded() {
        #expect(Self.written("plain text é", .string) == "\"plain text é\"")
        #expect(Self.written("a\"b\\c\nd\u{1}", .string) == #""a\"b\\c\nd\u0001""#)
        #expect(Self.written("x😀y", .string) == #""x\uD83D\uDE00y""#)
        #expect(Self.written("", .string) == "\"\"")
    }
}
