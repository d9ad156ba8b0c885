import Testing

@testable import ChangeEvents

/// The small-number fast path for `numeric(p, s)` writes exactly what the general one does.
@Suite struct DecimalTextTests {
    static func general(_ text: String, scale: Int) -> [UInt8]? {
        var text = text
        return text.withUTF8 { DecimalText(UnsafeRawBufferPointer($0))?.unscaled(toScale: scale) }
    }

    static func fast(_ text: String, scale: Int) -> [UInt8]? {
        var text = text
        return text.withUTF8 { utf8 -> [UInt8]? in
            guard let value = DecimalText.smallUnscaled(UnsafeRawBufferPointer(utf8), scale: scale) else { return nil }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { bytes in
                Array(bytes[0..<DecimalText.minimalBytes(value, into: bytes.baseAddress!)])
            }
        }
    }

    @Test func boundariesAgreeWithTheGeneralPath() {
        let values = [
            "0", "0.00", "-0.00", "1", "-1", "1.27", "1.28", "-1.28", "-1.29", "2.55", "2.56", "327.67", "327.68",
            "-327.68", "-327.69", "12.5", "12.345", "-12.345", "9999999999999999.99", "-9999999999999999.99",
            "0.01", "-0.01", "123456789012.34", "99999999.99",
        ]
        var compared = 0
        for text in values {
            for scale in 0...4 {
                guard let fast = Self.fast(text, scale: scale) else { continue }
                #expect(fast == Self.general(text, scale: scale), "\(text) at scale \(scale)")
                compared += 1
            }
        }
        // Only the two 18-digit values at scales 3 and 4 exceed 18 digits and go to the general path.
        #expect(compared == values.count * 5 - 4)
    }

    @Test func randomValuesAgreeWithTheGeneralPath() {
        var generator = SystemRandomNumberGenerator()
        var compared = 0
        for _ in 0..<20_000 {
            let scale = Int.random(in: 0...6, using: &generator)
            let integer = Int64.random(in: -999_999_999_999...999_999_999_999, using: &generator)
            let fraction = Int.random(in: 0...999_999, using: &generator)
            let digits = Int.random(in: 0...6, using: &generator)
            var text = "\(integer)"
            if digits > 0 {
                let padded = String(String(fraction).reversed()).padding(toLength: 6, withPad: "0", startingAt: 0)
                text += "." + padded.prefix(digits)
            }
            guard let fast = Self.fast(text, scale: scale) else { continue }
            #expect(fast == Self.general(text, scale: scale), "\(text) at scale \(scale)")
            compared += 1
        }
        // At most 12 integer and 6 scale digits: every value fits the fast path, so every one is compared.
        #expect(compared == 20_000)
    }

    @Test func tooManyDigitsFallBackToTheGeneralPath() {
        #expect(Self.fast("1234567890123456789", scale: 0) == nil)
        #expect(Self.fast("12345678901234567.8", scale: 2) == nil)
        #expect(Self.fast("NaN", scale: 2) == nil)
        #expect(Self.fast("1e5", scale: 2) == nil)
    }
}

@Suite struct SourceNumberTests {
    @Test func readsTheSourceBlockNotARowColumnOfTheSameName() {
        let value = Array(
            #"{"before":null,"after":{"lsn":7,"ts_us":8},"source":{"version":"0.1.0","connector":"postgresql","ts_us":1700000000000001,"lsn":26383312},"ts_us":9}"#
                .utf8)
        #expect(ChangeEvent.sourceNumber("lsn", in: value) == 26_383_312)
        #expect(ChangeEvent.sourceNumber("ts_us", in: value) == 1_700_000_000_000_001)
        #expect(ChangeEvent.sourceNumber("xmin", in: value) == nil)
        #expect(ChangeEvent.sourceNumber("lsn", in: nil) == nil)
    }
}
