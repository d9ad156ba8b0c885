import ChangeEvents
import PGOutput
import Testing

/// Debezium's ExtractChangedRecordState, and unwrap's drop_fields options that read its headers.
@Suite struct ChangedFieldsTests {
    /// An update of a row whose old image the server sent: category changed, id and qty did not.
    static func update(schemas: Bool = false) throws -> ChangeEvent {
        var builder = ChangeEventBuilder(
            settings: EventSettings(
                topicPrefix: "p", databaseName: "db", schemas: schemas, version: "test", envelopeLayouts: true))
        try builder.register(UnwrapTests.relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 1_000_000, xid: 42))
        var events: [ChangeEvent] = []
        let change = LogicalMessage.update(
            Update(
                relationOID: 7, old: .full(TupleData(text: ["1", "books", "3"])), new: TupleData(text: ["1", "games", "3"])))
        try builder.events(for: change, at: LSN(0x100), nowNanos: 5_000_000) { events.append($0) }
        return events[0]
    }

    static func header(_ event: ChangeEvent, _ name: String) -> String? {
        event.headers.last { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func anUpdateListsWhatChangedAndWhatDidNot() throws {
        var event = try Self.update()
        ChangedFields(.init(changedHeader: "Changed", unchangedHeader: "Unchanged")).apply(&event)
        #expect(Self.header(event, "Changed") == #"["category"]"#)
        #expect(Self.header(event, "Unchanged") == #"["id","qty"]"#)
        var insert = try UnwrapTests.events()[0]
        ChangedFields(.init(changedHeader: "Changed")).apply(&insert)
        #expect(Self.header(insert, "Changed") == "[]", "without an old row both lists are empty, and still written")
    }

    @Test(arguments: [false, true])
    func unwrapDropsTheListedOptionalFields(schemas: Bool) throws {
        var event = try Self.update(schemas: schemas)
        ChangedFields(.init(unchangedHeader: "Unchanged")).apply(&event)
        var unwrap = try UnwrapTests.unwrap({ $0.dropFieldsHeader = "Unchanged" }, schemas: schemas)
        #expect(try unwrap.apply(&event))
        let value = String(decoding: event.value ?? [], as: UTF8.self)
        // qty is optional and unchanged: dropped; id is NOT NULL: kept for schema compatibility.
        #expect(value.hasSuffix(#"{"id":1,"category":"games"}"#) || value.hasSuffix(#""payload":{"id":1,"category":"games"}}"#))
        #expect(!value.contains("qty"))
    }

    @Test func withoutSchemaCompatibilityTheKeyLosesItsFieldsToo() throws {
        var event = try Self.update()
        ChangedFields(.init(unchangedHeader: "Unchanged")).apply(&event)
        var unwrap = try UnwrapTests.unwrap({
            $0.dropFieldsHeader = "Unchanged"
            $0.dropFieldsKeepSchemaCompatible = false
            $0.dropFieldsFromKey = true
        })
        #expect(try unwrap.apply(&event))
        #expect(event.value.map { String(decoding: $0, as: UTF8.self) } == #"{"category":"games"}"#)
        #expect(event.key.map { String(decoding: $0, as: UTF8.self) } == "{}")
    }
}
