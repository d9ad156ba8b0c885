import PGOutput
import Testing

@testable import ChangeEvents

/// The unwrap transform on its own: events from the builder in, Debezium's flattened records out.
@Suite struct UnwrapTests {
    static let relation = Relation(
        oid: 7, namespace: "public", name: "items", replicaIdentity: .default,
        columns: [
            .init(isKey: true, name: "id", typeOID: 23, typeModifier: -1),
            .init(isKey: false, name: "category", typeOID: 25, typeModifier: -1),
            .init(isKey: false, name: "qty", typeOID: 23, typeModifier: -1),
        ])

    /// A create, an update, a delete and its tombstone, and a logical message, as the builder writes them.
    static func events(schemas: Bool = false) throws -> [ChangeEvent] {
        var builder = ChangeEventBuilder(
            settings: EventSettings(
                topicPrefix: "p", databaseName: "db", schemas: schemas, version: "test", envelopeLayouts: true))
        try builder.register(Self.relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 1_000_000, xid: 42))
        var events: [ChangeEvent] = []
        let changes: [LogicalMessage] = [
            .insert(Insert(relationOID: 7, new: TupleData(text: ["1", "books", "3"]))),
            .update(Update(relationOID: 7, old: nil, new: TupleData(text: ["1", "games", nil]))),
            .delete(Delete(relationOID: 7, old: .key(TupleData(text: ["1", nil, nil])))),
            .message(DecodingMessage(isTransactional: true, lsn: LSN(0x300), prefix: "audit", content: Array("x".utf8))),
        ]
        for (index, change) in changes.enumerated() {
            try builder.events(for: change, at: LSN(UInt64(0x100 * (index + 1))), nowNanos: 5_000_000) { events.append($0) }
        }
        return events
    }

    static func unwrap(_ configure: (inout Unwrap.Options) -> Void = { _ in }, schemas: Bool = false) throws -> Unwrap {
        var options = Unwrap.Options()
        configure(&options)
        return try Unwrap(options, schemas: schemas)
    }

    static func text(_ event: ChangeEvent?) -> String? {
        event?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func theRowReplacesTheEnvelopeAndADeleteBecomesANullValue() throws {
        var unwrap = try Self.unwrap()
        let out = try Self.events().map { try unwrap.apply($0) }
        #expect(out.count == 5)
        #expect(Self.text(out[0]) == #"{"id":1,"category":"books","qty":3}"#)
        #expect(Self.text(out[1]) == #"{"id":1,"category":"games","qty":null}"#)
        #expect(Self.text(out[2]) == "null", "tombstone mode: a value written as JSON null")
        #expect(out[3] == nil, "the connector's own tombstone is dropped")
        #expect(out[4]?.topic == "p.message" && Self.text(out[4])?.hasPrefix(#"{"op":"m""#) == true, "messages pass")
    }

    @Test func rewriteAddsDeletedAndTheChosenFieldsAndHeaders() throws {
        var unwrap = try Self.unwrap {
            $0.deleteHandling = .rewrite
            $0.addFields = ["op", "source.lsn", "txId:tx"]
            $0.addHeaders = ["op", "table"]
        }
        let events = try Self.events()
        let created = try #require(try unwrap.apply(events[0]))
        let expected = #"{"id":1,"category":"books","qty":3,"__deleted":"false","__op":"c","__source_lsn":256,"__tx":42}"#
        #expect(Self.text(created) == expected)
        #expect(created.headers.suffix(2).map(\.name) == ["__op", "__table"])
        #expect(created.headers.suffix(2).map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["c", "items"])
        let deleted = try #require(try unwrap.apply(events[2]))
        #expect(Self.text(deleted)?.contains(#""__deleted":"true","__op":"d""#) == true)
        #expect(try unwrap.apply(events[3]) == nil)
    }

    @Test func deleteHandlingModesKeepOrDropWhatDebeziumDoes() throws {
        let events = try Self.events()
        var drop = try Self.unwrap { $0.deleteHandling = .drop }
        #expect(try drop.apply(events[2]) == nil && drop.apply(events[3]) == nil)
        var toTombstone = try Self.unwrap { $0.deleteHandling = .deleteToTombstone }
        let converted = try #require(try toTombstone.apply(events[2]))
        #expect(converted.value == nil && converted.key == events[2].key)
        #expect(try toTombstone.apply(events[3]) == nil)
        var withTombstone = try Self.unwrap {
            $0.deleteHandling = .rewriteWithTombstone
            $0.addHeaders = ["op", "db"]
        }
        _ = try withTombstone.apply(events[2])
        let tombstone = try #require(try withTombstone.apply(events[3]))
        // The delete's added headers, then the tombstone's own op header.
        #expect(tombstone.headers.suffix(3).map(\.name) == ["__op", "__db", "__op"])
        #expect(tombstone.headers.suffix(3).map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["d", "db", "d"])
    }

    @Test func routeByFieldNamesTheTopicAndAMissingColumnIsAnError() throws {
        var unwrap = try Self.unwrap { $0.routeByField = "category" }
        let events = try Self.events()
        #expect(try unwrap.apply(events[0])?.topic == "books")
        var missing = try Self.unwrap { $0.routeByField = "nope" }
        #expect(throws: TransformError("unwrap route_by_field: public.items has no column nope")) {
            _ = try missing.apply(events[0])
        }
        var notText = try Self.unwrap { $0.routeByField = "qty" }
        #expect(throws: TransformError.self) { _ = try notText.apply(events[0]) }
    }

    @Test func withSchemasTheRowSchemaCarriesTheAddedFields() throws {
        var unwrap = try Self.unwrap({ $0.addFields = ["op", "source.ts_ms"] }, schemas: true)
        let created = try #require(try unwrap.apply(try Self.events(schemas: true)[0]))
        let text = try #require(Self.text(created))
        #expect(
            text.hasSuffix(
                #"{"type":"string","optional":true,"field":"__op"},{"type":"int64","optional":true,"field":"__source_ts_ms"}],"optional":false,"name":"p.public.items.Value"},"payload":{"id":1,"category":"books","qty":3,"__op":"c","__source_ts_ms":1000}}"#
            ))
    }

    @Test func fieldNamesAreCheckedAsDebeziumChecksThem() {
        #expect(Unwrap.isFieldName("op") && Unwrap.isFieldName("source.ts_ms") && Unwrap.isFieldName("op:operation"))
        #expect(!Unwrap.isFieldName("a.b.c") && !Unwrap.isFieldName("other.x") && !Unwrap.isFieldName("a:b:c"))
    }
}

/// The scanner transforms read parts of events with.
@Suite struct JSONScannerTests {
    @Test func membersAndValuesAreFoundWithoutDecoding() {
        let scanner = JSONScanner(Array(#"{"a":"x\"}","b":[1,{"c":2}],"d":null,"e":-1.5e3}"#.utf8))
        let members = scanner.members(ofObjectAt: 0)
        #expect(members.map { String(decoding: scanner.bytes[$0.name], as: UTF8.self) } == [#""a""#, #""b""#, #""d""#, #""e""#])
        #expect(scanner.string(at: members[0].value) == #"x"}"#)
        #expect(String(decoding: scanner.bytes[members[1].value], as: UTF8.self) == #"[1,{"c":2}]"#)
        #expect(scanner.member("e", ofObjectAt: 0).map { String(decoding: scanner.bytes[$0], as: UTF8.self) } == "-1.5e3")
        #expect(scanner.string(at: members[2].value) == nil)
        #expect(JSONScanner(Array(#""\u00e9\ud83d\ude00""#.utf8)).string(at: 0..<20) == "é😀")
    }

    @Test func aStringEndsAtAQuoteAfterAnEvenRunOfBackslashes() {
        // `"x\\"` ends after one escaped backslash; `"\\\"\\"` holds a backslash, a quote and a backslash.
        let scanner = JSONScanner(Array(#"{"a":"x\\","b":"\\\"\\","c":"","d":"\\"}"#.utf8))
        let values = scanner.members(ofObjectAt: 0).map(\.value)
        #expect(values.map { scanner.string(at: $0) } == [#"x\"#, #"\"\"#, "", #"\"#])
        let unterminated = JSONScanner(Array(#""abc\""#.utf8))
        #expect(unterminated.end(ofValueAt: 0) == 6, "a string without its closing quote ends with the bytes")
    }
}

/// The routing transforms on their own.
@Suite struct TopicRoutingTests {
    @Test func aJavaReplacementTakesGroupsAndEscapes() throws {
        let rule = try TopicRule(pattern: #"dbz\.public\.(?<table>.*)_(\d+)"#, replacement: #"all.${table}.$2\$"#)
        #expect(rule.apply("dbz.public.orders_7") == "all.orders.7$")
        #expect(rule.apply("xdbz.public.orders_7") == nil, "the whole topic must match")
        #expect(throws: TransformError.self) { try TopicRule(pattern: "(", replacement: "x") }
        #expect(throws: TransformError.self) { try TopicRule(pattern: "a", replacement: "x$") }
    }

    @Test func aLogicalTableRouterAddsThePhysicalTableToTheKey() throws {
        var router = try LogicalTableRouter(
            .init(topicRegex: #"p\.public\.(.*)"#, topicReplacement: "p.all"), schemas: false)
        var event = try #require(try UnwrapTests.events().first)
        router.apply(&event)
        #expect(event.topic == "p.all")
        let key = event.key.map { String(decoding: $0, as: UTF8.self) }
        #expect(key == #"{"id":1,"__dbz__physicalTableIdentifier":"p.public.items"}"#)

        var withSchemas = try LogicalTableRouter(
            .init(topicRegex: #"p\.public\.(.*)"#, topicReplacement: "p.all"), schemas: true)
        var typed = try #require(try UnwrapTests.events(schemas: true).first)
        withSchemas.apply(&typed)
        let typedKey = try #require(typed.key.map { String(decoding: $0, as: UTF8.self) })
        #expect(
            typedKey == #"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},"#
                + #"{"type":"string","optional":false,"field":"__dbz__physicalTableIdentifier"}],"optional":false,"#
                + #""name":"p.all.Key"},"payload":{"id":1,"__dbz__physicalTableIdentifier":"p.public.items"}}"#)
        let value = try #require(typed.value.map { String(decoding: $0, as: UTF8.self) })
        #expect(value.contains(#""name":"p.all.Value""#) && value.contains(#""name":"p.all.Envelope""#))
        #expect(!value.contains("p.public.items.Value"))
    }
}

/// The outbox router on its own: rows of an outbox table in, integration events out.
@Suite struct OutboxRouterTests {
    static let relation = Relation(
        oid: 9, namespace: "public", name: "outbox", replicaIdentity: .default,
        columns: [
            .init(isKey: true, name: "id", typeOID: 25, typeModifier: -1),
            .init(isKey: false, name: "aggregatetype", typeOID: 25, typeModifier: -1),
            .init(isKey: false, name: "aggregateid", typeOID: 25, typeModifier: -1),
            .init(isKey: false, name: "payload", typeOID: 25, typeModifier: -1),
        ])

    static func events(_ changes: [LogicalMessage]) throws -> [ChangeEvent] {
        var builder = ChangeEventBuilder(
            settings: EventSettings(topicPrefix: "p", databaseName: "db", version: "test", envelopeLayouts: true))
        try builder.register(Self.relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 0, xid: 1))
        var events: [ChangeEvent] = []
        for change in changes { try builder.events(for: change, at: LSN(0x100), nowNanos: 0) { events.append($0) } }
        return events
    }

    static let insert = LogicalMessage.insert(
        Insert(relationOID: 9, new: TupleData(text: ["e1", "Order", "17", #"{"total":1}"#])))

    @Test func anInsertBecomesItsEventAndADeleteIsDropped() throws {
        var router = try OutboxRouter(OutboxRouter.Options(), schemas: false)
        let delete = LogicalMessage.delete(Delete(relationOID: 9, old: .key(TupleData(text: ["e1", nil, nil, nil]))))
        var events = try Self.events([Self.insert, delete])
        #expect(try router.apply(&events[0]))
        #expect(events[0].topic == "outbox.event.Order")
        #expect(events[0].key.map { String(decoding: $0, as: UTF8.self) } == #""17""#)
        #expect(events[0].value.map { String(decoding: $0, as: UTF8.self) } == #""{\"total\":1}""#)
        #expect(events[0].headers.last.map { String(decoding: $0.value ?? [], as: UTF8.self) } == "e1")
        #expect(try !router.apply(&events[1]) && !router.apply(&events[2]), "the delete and its tombstone are dropped")
    }

    @Test func columnsAreReadByPositionWhereverTheyAreAndWhateverTheirNames() throws {
        // The payload first, a column whose name needs escaping in between, an unread column last.
        let relation = Relation(
            oid: 11, namespace: "public", name: "events", replicaIdentity: .default,
            columns: [
                .init(isKey: false, name: "payload", typeOID: 25, typeModifier: -1),
                .init(isKey: true, name: "id", typeOID: 25, typeModifier: -1),
                .init(isKey: false, name: "odd \"name\"", typeOID: 25, typeModifier: -1),
                .init(isKey: false, name: "aggregatetype", typeOID: 25, typeModifier: -1),
                .init(isKey: false, name: "aggregateid", typeOID: 25, typeModifier: -1),
                .init(isKey: false, name: "note", typeOID: 25, typeModifier: -1),
            ])
        var builder = ChangeEventBuilder(
            settings: EventSettings(topicPrefix: "p", databaseName: "db", version: "test", envelopeLayouts: true))
        try builder.register(relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
        builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 0, xid: 1))
        var events: [ChangeEvent] = []
        let row = TupleData(text: [#"{"a":"\","b":1}"#, "e7", #"x","aggregatetype":"Wrong"#, "Cart", "5", "last"])
        try builder.events(for: .insert(Insert(relationOID: 11, new: row)), at: LSN(0x100), nowNanos: 0) {
            events.append($0)
        }
        var router = try OutboxRouter(OutboxRouter.Options(), schemas: false)
        #expect(try router.apply(&events[0]))
        #expect(events[0].topic == "outbox.event.Cart")
        #expect(events[0].key.map { String(decoding: $0, as: UTF8.self) } == #""5""#)
        #expect(events[0].value.map { String(decoding: $0, as: UTF8.self) } == #""{\"a\":\"\\\",\"b\":1}""#)
        #expect(events[0].headers.last.map { String(decoding: $0.value ?? [], as: UTF8.self) } == "e7")
    }

    @Test func anUpdateIsSkippedWithAWarningOrStopsWhenFatal() throws {
        let update = LogicalMessage.update(
            Update(relationOID: 9, old: nil, new: TupleData(text: ["e1", "Order", "17", "{}"])))
        var warn = try OutboxRouter(OutboxRouter.Options(), schemas: false)
        var events = try Self.events([update])
        #expect(try !warn.apply(&events[0]))
        #expect(warn.warning?.contains("an outbox table only takes inserts") == true)
        var options = OutboxRouter.Options()
        options.invalidOperation = .fatal
        var fatal = try OutboxRouter(options, schemas: false)
        events = try Self.events([update])
        #expect(throws: TransformError.self) { _ = try fatal.apply(&events[0]) }
    }

    @Test func aMissingColumnIsAnErrorNamingIt() throws {
        var options = OutboxRouter.Options()
        options.eventID = "event_id"
        var router = try OutboxRouter(options, schemas: false)
        var events = try Self.events([Self.insert])
        #expect(throws: TransformError("outbox: public.outbox has no event id column event_id")) {
            _ = try router.apply(&events[0])
        }
    }
}

extension OutboxRouterTests {
    @Test func anotherTablesEventsPassOnUnchanged() throws {
        var router = try OutboxRouter(OutboxRouter.Options(), schemas: false)
        var events = try UnwrapTests.events()
        let original = events
        for index in events.indices { #expect(try router.apply(&events[index])) }
        #expect(events.map(\.value) == original.map(\.value) && events.map(\.topic) == original.map(\.topic))
    }
}

extension TopicRoutingTests {
    @Test func anInsertedHeadersLiteralIsWrittenAsKafkaParsesIt() {
        #expect(InsertHeader(name: "h", literal: "orders-db").header.value == Array("orders-db".utf8))
        #expect(InsertHeader(name: "h", literal: "042").header.value == Array("42".utf8))
        #expect(InsertHeader(name: "h", literal: "1.50").header.value == Array("1.5".utf8))
        #expect(InsertHeader(name: "h", literal: "TRUE").header.value == Array("true".utf8))
        #expect(InsertHeader(name: "h", literal: "NaN-ish").header.value == Array("NaN-ish".utf8))
    }
}

extension OutboxRouterTests {
    /// Debezium names the envelope schema after the first event's routed value and keeps that name, also when the
    /// table's Relation message comes again (a new table schema).
    @Test func theEnvelopeSchemaNameOfTheFirstEventStays() throws {
        var options = OutboxRouter.Options()
        options.additionalFields = [.init(column: "aggregatetype", placement: .envelope)]
        var router = try OutboxRouter(options, schemas: true)
        func event(_ aggregate: String) throws -> ChangeEvent {
            var builder = ChangeEventBuilder(
                settings: EventSettings(
                    topicPrefix: "p", databaseName: "db", schemas: true, version: "test", envelopeLayouts: true))
            try builder.register(Self.relation, metadata: TableMetadata(primaryKey: ["id"], notNull: ["id"]))
            builder.begin(Begin(finalLSN: LSN(0x900), commitTimeMicros: 0, xid: 1))
            var events: [ChangeEvent] = []
            let insert = LogicalMessage.insert(Insert(relationOID: 9, new: TupleData(text: ["e", aggregate, "1", "{}"])))
            try builder.events(for: insert, at: LSN(0x100), nowNanos: 0) { events.append($0) }
            return events[0]
        }
        var first = try event("Order")
        var second = try event("Customer")
        #expect(try router.apply(&first) && router.apply(&second))
        #expect(second.topic == "outbox.event.Customer")
        let value = second.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(value.contains(#""name":"p.public.outbox.Order.Value""#))
    }
}

extension OutboxRouterTests {
    @Test func anExpandedPayloadIsAStructAndTextThatIsNotJSONIsRefused() throws {
        var options = OutboxRouter.Options()
        options.expandJSONPayload = true
        var router = try OutboxRouter(options, schemas: true)
        var events = try Self.events([Self.insert])
        #expect(try router.apply(&events[0]))
        let value = events[0].value.map { String(decoding: $0, as: UTF8.self) }
        #expect(
            value
                == #"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"field":"total"}],"optional":true,"#
                + #""name":"payload"},"payload":{"total":1}}"#)
        let broken = LogicalMessage.insert(Insert(relationOID: 9, new: TupleData(text: ["e2", "Order", "18", "{total"])))
        var refused = try Self.events([broken])
        #expect(throws: TransformError.self) { try router.apply(&refused[0]) }
    }
}

extension OutboxRouterTests {
    /// The writer's trace context column (Java properties text) becomes W3C trace headers.
    @Test func aPayloadIsBlankAsJavasTrimSeesIt() {
        func blank(_ json: String) -> Bool {
            // A slice of a larger value, as the router passes the payload column.
            let bytes = Array(("[" + json + "]").utf8)
            return OutboxRouter.isBlankString(bytes[1..<(bytes.count - 1)])
        }
        #expect(blank(#""""#) && blank(#"" ""#) && blank(#""\n\t\u0001""#))
        #expect(!blank(#""x""#) && !blank(#"" x""#) && !blank(#""\u00e9""#) && !blank("null") && !blank("{}"))
    }

    @Test func theTraceContextColumnBecomesTraceparentAndTracestateHeaders() throws {
        #expect(
            OutboxRouter.traceContext("#Mon Nov 30\ntracestate=vendor=1\ntraceparent=00-0af7-b7ad-01\nother=x").map {
                "\($0)=\($1)"
            }
                == ["traceparent=00-0af7-b7ad-01", "tracestate=vendor=1"])
        var options = OutboxRouter.Options()
        options.tracingSpanContext = "payload"
        var router = try OutboxRouter(options, schemas: false)
        let insert = LogicalMessage.insert(
            Insert(relationOID: 9, new: TupleData(text: ["e3", "Order", "19", "traceparent=00-0af7-b7ad-01"])))
        var events = try Self.events([insert])
        #expect(try router.apply(&events[0]))
        #expect(events[0].headers.last?.name == "traceparent")
        #expect(events[0].headers.last?.value == Array("00-0af7-b7ad-01".utf8))
    }
}
