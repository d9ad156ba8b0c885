import ChangeEvents
import Testing

/// The CloudEvents format on its own; TransformGoldenTests compares it with Debezium's converter end to end.
@Suite struct CloudEventsTests {
    static func text(_ event: ChangeEvent) -> String? {
        event.value.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aDataEventBecomesACloudEventWithTheEnvelopesAttributes() throws {
        var format = CloudEvents(CloudEvents.Options(), schemas: false)
        var event = try UnwrapTests.events()[0]
        try format.apply(&event)
        let value = try #require(Self.text(event))
        #expect(value.hasPrefix(#"{"id":"name:p;lsn:256;txId:42;sequence:[null,\"256\"]","source":"/debezium/postgresql/p","#))
        // The commit time of the transaction: 1 s after the epoch.
        #expect(value.contains(#""time":"1970-01-01T00:00:01.000Z","datacontenttype":"application/json","#))
        #expect(value.contains(#""iodebeziumop":"c","iodebeziumversion":"test","#))
        #expect(value.contains(#""iodebeziumtsms":"1000","#), "64-bit integers become strings")
        #expect(value.contains(#""iodebeziumtxId":"42","iodebeziumlsn":"256","iodebeziumxmin":null,"#))
        #expect(value.contains(#""iodebeziumtxid":null,"iodebeziumtxtotalorder":null,"iodebeziumtxdatacollectionorder":null,"#))
        #expect(value.hasSuffix(#""data":{"before":null,"after":{"id":1,"category":"books","qty":3}}}"#))
        #expect(event.envelope == nil)
    }

    @Test func withSchemasTheDataCarriesTheRowSchemasUnderTheDataName() throws {
        var format = CloudEvents(CloudEvents.Options(extensionAttributes: false), schemas: true)
        var event = try UnwrapTests.events(schemas: true)[1]
        try format.apply(&event)
        let value = try #require(Self.text(event))
        #expect(value.contains(#""datacontenttype":"application/json","data":{"schema":{"type":"struct","fields":[{"#))
        #expect(!value.contains("iodebezium"))
        #expect(value.contains(#""name":"p.public.items.Value","field":"before"},{"#))
        #expect(value.contains(#""field":"after"}],"optional":false,"name":"io.debezium.connector.postgresql.Data"},"#))
        #expect(value.hasSuffix(#""payload":{"before":null,"after":{"id":1,"category":"games","qty":null}}}}"#))
    }

    @Test func tombstonesStayAndOtherValuesBecomeNull() throws {
        var format = CloudEvents(CloudEvents.Options(), schemas: false)
        let events = try UnwrapTests.events()
        var tombstone = events[3]
        try format.apply(&tombstone)
        #expect(tombstone.value == nil && tombstone.key != nil)
        var message = events[4]
        try format.apply(&message)
        #expect(message.value == nil, "Debezium's converter writes no CloudEvent for a logical message")
    }

    @Test func tracingAttributesTakeTheTraceparentHeaderAndRefuseAnEventWithoutIt() throws {
        var format = CloudEvents(CloudEvents.Options(tracingAttributes: true), schemas: false)
        var event = try UnwrapTests.events()[0]
        let without = event
        event.headers.append(ChangeEvent.Header(name: "traceparent", value: Array("00-4bf92f35-00f067aa-01".utf8)))
        try format.apply(&event)
        #expect(
            Self.text(event)?.contains(#""datacontenttype":"application/json","traceparent":"00-4bf92f35-00f067aa-01","#) == true)
        var refused = without
        #expect(throws: TransformError.self) { try format.apply(&refused) }
    }
}
