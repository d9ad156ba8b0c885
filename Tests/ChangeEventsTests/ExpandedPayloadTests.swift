import Testing

@testable import ChangeEvents

/// The outbox router's JSON payload expansion on its own (TransformGoldenTests compares it with Debezium end to end).
@Suite struct ExpandedPayloadTests {
    static func expand(_ text: String, nullsAsBytes: Bool = false) throws -> (schema: String, value: String)? {
        guard let result = try ExpandedPayload(nullsAsBytes: nullsAsBytes).expand(text, key: "payload") else { return nil }
        return (result.schema, String(decoding: result.value, as: UTF8.self))
    }

    @Test func numbersTakeTheirSizeNullsAndEmptyArraysAreLeftOut() throws {
        let out = try #require(try Self.expand(#"{"a": 1, "b": 12345678901, "c": 2.50, "d": null, "e": [], "f": 1e20}"#))
        #expect(out.value == #"{"a":1,"b":12345678901,"c":2.5,"f":1.0E20}"#)
        #expect(
            out.schema == #"{"type":"struct","fields":[{"type":"int32","optional":true,"field":"a"},"#
                + #"{"type":"int64","optional":true,"field":"b"},{"type":"double","optional":true,"field":"c"},"#
                + #"{"type":"double","optional":true,"field":"f"}],"optional":true,"name":"payload"}"#)
    }

    @Test func nestedStructsAreNamedByPathAndArrayObjectsMerge() throws {
        let out = try #require(try Self.expand(#"{"x": {"y": {"z": "w"}}, "l": [{"a": 1}, {"b": true}]}"#))
        #expect(out.value == #"{"x":{"y":{"z":"w"}},"l":[{"a":1,"b":null},{"a":null,"b":true}]}"#)
        #expect(out.schema.contains(#""optional":true,"name":"payload.x.y","field":"y"}"#))
        #expect(
            out.schema.contains(#""optional":false,"name":"payload.l"},"optional":true,"field":"l"}"#), "merged: not optional")
    }

    @Test func nullsCanStayAsOptionalBytes() throws {
        let out = try #require(try Self.expand(#"{"d": null}"#, nullsAsBytes: true))
        #expect(out.value == #"{"d":null}"#)
        #expect(out.schema.contains(#"{"type":"bytes","optional":true,"field":"d"}"#))
    }

    @Test func aStringStaysTextAndWhatIsNotAnObjectIsRefused() throws {
        #expect(try Self.expand(#""just text""#) == nil)
        #expect(try Self.expand("17") == nil)
        #expect(throws: ExpandedPayload.Failure.self) { try Self.expand("[1, 2]") }
        #expect(throws: ExpandedPayload.Failure.self) { try Self.expand("{not json") }
        #expect(throws: ExpandedPayload.Failure.self) { try Self.expand(#"{"n": 123456789012345678901234}"#) }
        #expect(throws: ExpandedPayload.Failure.self) { try Self.expand(#"{"m": [1, "a"]}"#) }
    }
}
