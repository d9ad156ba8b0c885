import ChangeEvents
import PGOutput
import Testing

/// Every event leaves the builder with its facts as data (table, operation, LSN, transaction), so no later stage
/// parses the bytes back or rebuilds the table from the topic.
@Suite struct EventFactsTests {
    static let relation = Relation(
        oid: 7, namespace: "Sales Data", name: "Orders ü", replicaIdentity: .default,
        columns: [.init(isKey: true, name: "id", typeOID: 23, typeModifier: -1)])

    static func builder() throws -> ChangeEventBuilder {
        var builder = ChangeEventBuilder(settings: EventSettings(topicPrefix: "p", databaseName: "db", version: "test"))
        try builder.register(Self.relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        return builder
    }

    @Test func streamedEventsCarryTableOperationPositionAndTransaction() throws {
        var builder = try Self.builder()
        builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 0, xid: 4711))
        var events: [ChangeEvent] = []
        let old = TupleData(text: ["1"])
        try builder.events(for: .insert(Insert(relationOID: 7, new: TupleData(text: ["1"]))), at: LSN(0x100), nowNanos: 0) {
            events.append($0)
        }
        try builder.events(for: .delete(Delete(relationOID: 7, old: .key(old))), at: LSN(0x200), nowNanos: 0) {
            events.append($0)
        }
        try #require(events.count == 3)
        let table = TableName(schema: "Sales Data", name: "Orders ü")
        #expect(events.allSatisfy { $0.table == table && $0.transactionID == 4711 })
        #expect(events[0].topic == "p.Sales_Data.Orders__", "the topic lost characters; the table's name did not")
        #expect(events.map(\.lsn) == [LSN(0x100), LSN(0x200), LSN(0x200)])
        #expect(events.map(\.operation) == [.create, .delete, nil])
        #expect(builder.table(forTopic: "p.Sales_Data.Orders__") == table)
        #expect(builder.table(forTopic: "p.message") == nil)
    }

    @Test func snapshotReadsAndMessagesCarryTheirFacts() throws {
        var builder = try Self.builder()
        builder.beginSnapshot(xid: 99, timeMicros: 0)
        let read = try builder.snapshotRead(TupleData(text: ["5"]), relationOID: 7, marker: .first, at: LSN(0x50), nowNanos: 0)
        #expect(read.table?.name == "Orders ü" && read.lsn == LSN(0x50) && read.transactionID == 99 && read.operation == .read)
        builder.endSnapshot(lastCommitLSN: nil)

        var messages: [ChangeEvent] = []
        let message = DecodingMessage(isTransactional: false, lsn: LSN(0x70), prefix: "audit", content: Array("x".utf8))
        try builder.events(for: .message(message), at: LSN(0x70), nowNanos: 0) { messages.append($0) }
        try #require(messages.count == 1)
        #expect(messages[0].table == nil && messages[0].lsn == LSN(0x70) && messages[0].transactionID == nil)
    }
    /// A value its column's type does not produce is an error, never a string in an integer's place.
    @Test func aValueNotOfItsColumnsTypeIsAnError() throws {
        var builder = try Self.builder()
        builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 0, xid: 1))
        var events: [ChangeEvent] = []
        #expect {
            try builder.events(
                for: .insert(Insert(relationOID: 7, new: TupleData(text: ["twelve"]))), at: LSN(0x100), nowNanos: 0
            ) { events.append($0) }
        } throws: { error in
            guard case .unparseableValue(let table, let column, _, let text) = error as? EventEncodingError else { return false }
            return table == "Sales Data.Orders ü" && column == "id" && text == "twelve"
        }
        #expect(events.isEmpty)
    }
}
