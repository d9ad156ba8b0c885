import PGOutput
import Testing

@testable import ChangeEvents

/// Kafka's HeaderFrom on its own: fields of unwrapped rows copied or moved into headers as SimpleHeaderConverter
/// writes them (TransformGoldenTests compares with Debezium's records end to end).
@Suite struct HeaderFromTests {
    static func unwrapped(schemas: Bool) throws -> [ChangeEvent] {
        var unwrap = try UnwrapTests.unwrap({ $0.deleteHandling = .rewrite }, schemas: schemas)
        unwrap.keepsRowTable = true
        return try UnwrapTests.events(schemas: schemas).compactMap { try unwrap.apply($0) }
    }

    static func headers(_ event: ChangeEvent) -> [String: String?] {
        Dictionary(event.headers.map { ($0.name, $0.value.map { String(decoding: $0, as: UTF8.self) }) }) { $1 }
    }

    @Test func copyAddsHeadersAndKeepsTheValue() throws {
        let transform = try HeaderFrom(
            .init(fields: ["id", "category", "qty"], headers: ["x-id", "cat", "q"], operation: .copy), schemas: false)
        var events = try Self.unwrapped(schemas: false)
        let before = events[1].value
        for index in events.indices { try transform.apply(&events[index]) }
        #expect(Self.headers(events[0]) == ["x-id": "1", "cat": "books", "q": "3"])
        let nullHeader: String? = nil
        #expect(Self.headers(events[1]) == ["x-id": "1", "cat": "games", "q": nullHeader], "a null field is a null header")
        #expect(events[1].value == before)
        #expect(events.last?.table == nil && events.last?.headers.isEmpty == true, "a logical message passes")
    }

    @Test func moveTakesTheFieldsOutOfValueAndSchema() throws {
        let transform = try HeaderFrom(.init(fields: ["category"], headers: ["category"], operation: .move), schemas: true)
        var event = try Self.unwrapped(schemas: true)[0]
        try transform.apply(&event)
        let text = String(decoding: event.value ?? [], as: UTF8.self)
        #expect(!text.contains("category"))
        #expect(text.hasSuffix(#""payload":{"id":1,"qty":3,"__deleted":"false"}}"#))
        #expect(text.contains(#"{"type":"int32","optional":false,"field":"id"},{"type":"int32","optional":true,"field":"qty"}"#))
        #expect(Self.headers(event) == ["category": "books"])
    }

    @Test func aRowWithoutTheFieldIsRefused() throws {
        let transform = try HeaderFrom(.init(fields: ["nope"], headers: ["n"], operation: .copy), schemas: false)
        var event = try Self.unwrapped(schemas: false)[0]
        #expect(throws: TransformError.self) { try transform.apply(&event) }
    }

    /// Java's `BigDecimal.toString`: plain down to an exponent of -6, scientific beyond.
    @Test(arguments: [
        ("A7Y=", 2, "9.50"), ("AA==", 0, "0"), ("AA==", 2, "0.00"), ("MDk=", 0, "12345"), ("/w==", 3, "-0.001"),
        ("AQ==", 8, "1E-8"), ("AQ==", 6, "0.000001"), ("AQ==", 7, "1E-7"), ("DA==", 8, "1.2E-7"), ("gA==", 0, "-128"),
        ("AP8=", 1, "25.5"),
    ])
    func decimalsAreWrittenAsBigDecimalWritesThem(base64: String, scale: Int, text: String) {
        let json = Array("\"\(base64)\"".utf8)
        let out = HeaderFrom.decimalText(json[...], scale: scale, JSONScanner(json))
        #expect(out.map { String(decoding: $0, as: UTF8.self) } == text)
    }
}

extension HeaderFromTests {
    /// Kafka's HeaderFrom$Key: the key's fields, also on the tombstone (which carries its table's schema).
    @Test func theKeysFieldsBecomeHeadersAndMoveLeavesTheKey() throws {
        let transform = try HeaderFrom(
            .init(fields: ["id"], headers: ["key-id"], operation: .move, fromKey: true), schemas: false)
        var events = try UnwrapTests.events()
        for index in events.indices { try transform.apply(&events[index]) }
        #expect(Self.headers(events[0])["key-id"] == "1")
        #expect(events[0].key.map { String(decoding: $0, as: UTF8.self) } == "{}")
        #expect(events[3].value == nil && Self.headers(events[3])["key-id"] == "1", "the tombstone too")
        #expect(events[4].headers.isEmpty, "a logical message passes")
    }
}
