import ChangeEvents
import PGOutput
import Testing

/// The builder records where each `source` field's value lies, so that transforms read fields without searching: each
/// recorded range must be exactly the member a JSON reader finds.
@Suite struct EnvelopeLayoutTests {
    static let relation = Relation(
        oid: 7, namespace: "sales \"eu\"", name: "items", replicaIdentity: .default,
        columns: [
            .init(isKey: true, name: "id", typeOID: 23, typeModifier: -1),
            .init(isKey: false, name: "note", typeOID: 25, typeModifier: -1),
        ])

    /// Every source field's recorded value against the member a full read of the object finds.
    static func check(_ event: ChangeEvent, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let layout = try #require(event.envelope, sourceLocation: sourceLocation)
        let value = try #require(event.value, sourceLocation: sourceLocation)
        let scanner = JSONScanner(value)
        let members = scanner.members(ofObjectAt: layout.source.lowerBound)
        #expect(members.count == SourceField.allCases.count, sourceLocation: sourceLocation)
        for (field, member) in zip(SourceField.allCases, members) {
            #expect(
                String(decoding: value[member.name], as: UTF8.self) == "\"\(field.name)\"", sourceLocation: sourceLocation)
            #expect(
                String(decoding: value[layout.sourceValue(field)], as: UTF8.self)
                    == String(decoding: value[member.value], as: UTF8.self), "\(field)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [false, true])
    func everySourceFieldIsWhereTheBuilderSaysForStreamingSnapshotsAndOrigins(schemas: Bool) throws {
        var builder = ChangeEventBuilder(
            settings: EventSettings(
                topicPrefix: "shop \"x\"", databaseName: "db", schemas: schemas, version: "3.6.3", envelopeLayouts: true))
        try builder.register(Self.relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 1_700_000_000_123_456, xid: 42))
        var events: [ChangeEvent] = []
        try builder.events(
            for: .insert(Insert(relationOID: 7, new: TupleData(text: ["1", "a"]))), at: LSN(0x100), nowNanos: 5
        ) { events.append($0) }
        builder.setOrigin(Origin(commitLSN: LSN(77), name: "upstream"))
        try builder.events(
            for: .delete(Delete(relationOID: 7, old: .key(TupleData(text: ["1", nil])))), at: LSN(0x200), nowNanos: 5
        ) { events.append($0) }
        builder.commit(Commit(flags: 0, commitLSN: LSN(0x900), endLSN: LSN(0x950), commitTimeMicros: 0))
        builder.beginSnapshot(xid: nil, timeMicros: 12)
        events.append(
            try builder.snapshotRead(
                TupleData(text: ["2", "b"]), relationOID: 7, marker: .lastInDataCollection, at: LSN(0x1000), nowNanos: 5))
        let withValues = events.filter { $0.value != nil }
        #expect(withValues.count == 3)
        for event in withValues { try Self.check(event) }
    }

    @Test func aRouterThatRenamesTheSchemaMovesTheRecordedFieldsWithIt() throws {
        var builder = ChangeEventBuilder(
            settings: EventSettings(
                topicPrefix: "p", databaseName: "db", schemas: true, version: "t", envelopeLayouts: true))
        try builder.register(Self.relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 1, xid: 3))
        var events: [ChangeEvent] = []
        try builder.events(
            for: .insert(Insert(relationOID: 7, new: TupleData(text: ["1", "a"]))), at: LSN(0x100), nowNanos: 5
        ) { events.append($0) }
        var options = LogicalTableRouter.Options(topicRegex: "(.*)items", topicReplacement: "$1all_the_items")
        options.keyEnforceUniqueness = false
        var router = try LogicalTableRouter(options, schemas: true)
        var event = try #require(events.first)
        router.apply(&event)
        #expect(event.topic.hasSuffix("all_the_items"))
        try Self.check(event)
    }
}
