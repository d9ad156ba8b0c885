import ChangeEvents
import Testing

/// The Avro stage on its own: the registry is asked once per schema and subject, subjects follow the strategy, and a
/// tombstone stays null.
@Suite struct AvroConversionTests {
    static let key = Array(
        #"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"p.public.t.Key"},"payload":{"id":1}}"#
            .utf8)
    static let otherKey = Array(
        #"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"p.public.t.Key"},"payload":{"id":-2}}"#
            .utf8)

    final class Registry {
        var calls: [(subject: String, schema: String)] = []
        func resolve(_ subject: String, _ schema: AvroSchema) -> Int32 {
            if let index = calls.firstIndex(where: { $0.subject == subject && $0.schema == schema.text }) {
                return Int32(index + 1)
            }
            calls.append((subject, schema.text))
            return Int32(calls.count)
        }
    }

    @Test func theRegistryIsAskedOncePerSchemaAndSubject() throws {
        var conversion = AvroConversion()
        let registry = Registry()
        var asked = 0
        let resolve: AvroConversion.Resolve = { subject, schema in
            asked += 1
            return registry.resolve(subject, schema)
        }
        let first = try conversion.convert(Self.key, topic: "p.public.t", isKey: true, resolve: resolve)
        #expect(first == [0, 0, 0, 0, 1, 2])
        for _ in 0..<3 { _ = try conversion.convert(Self.key, topic: "p.public.t", isKey: true, resolve: resolve) }
        #expect(asked == 1)
        // The same schema on another topic is another subject; a changed schema a new version.
        _ = try conversion.convert(Self.key, topic: "p.public.u", isKey: true, resolve: resolve)
        let changed = try conversion.convert(Self.otherKey, topic: "p.public.t", isKey: true, resolve: resolve)
        #expect(asked == 3)
        #expect(changed == [0, 0, 0, 0, 3, 3])
        #expect(registry.calls.map(\.subject) == ["p.public.t-key", "p.public.u-key", "p.public.t-key"])
        #expect(conversion.schemaCount == 2)
    }

    /// Escapes, \u escapes and surrogate pairs, NaN and an array: the bytes path and the tree path agree.
    @Test func theBytesPathAndTheTreePathAgree() throws {
        let schema =
            #"{"type":"struct","fields":[{"type":"string","optional":false,"field":"s"},{"type":"double","optional":true,"field":"d"},{"type":"array","items":{"type":"int64","optional":true},"optional":true,"field":"a"},{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":true},"optional":true,"field":"m"}],"optional":false,"name":"x.Value"}"#
        let payload = #"{"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00","d":"NaN","a":[1,null,-300],"m":{"k\"":"v","n":null}}"#
        let json = Array(#"{"schema":\#(schema),"payload":\#(payload)}"#.utf8)
        var conversion = AvroConversion()
        let streamed = try conversion.convert(json, topic: "t", isKey: false) { _, _ in 7 }
        #expect(conversion.treeFallbacks == 0)
        let tree = try AvroEncoder.record(
            schemaID: 7, payload: JSONTree.parse(payload), schema: ConnectSchemaNode(json: JSONTree.parse(schema)))
        #expect(streamed == tree)
    }

    @Test func aTombstoneStaysNull() throws {
        var conversion = AvroConversion()
        let converted = try conversion.convert(nil, topic: "p.public.t", isKey: false) { _, _ in 1 }
        #expect(converted == nil)
    }

    @Test func subjectsFollowTheStrategy() throws {
        let schema = try AvroSchema(ConnectSchemaNode(json: JSONTree.parse(Array(Self.key[10..<126]))))
        #expect(try AvroConversion.SubjectStrategy.topicName.subject(topic: "t", isKey: true, schema: schema) == "t-key")
        #expect(
            try AvroConversion.SubjectStrategy.recordName.subject(topic: "t", isKey: true, schema: schema) == "p.public.t.Key")
        #expect(
            try AvroConversion.SubjectStrategy.topicRecordName.subject(topic: "t", isKey: false, schema: schema)
                == "t-p.public.t.Key")
        let primitive = try AvroSchema(ConnectSchemaNode(kind: .string))
        #expect(throws: AvroConversion.Failure.self) {
            try AvroConversion.SubjectStrategy.recordName.subject(topic: "t", isKey: true, schema: primitive)
        }
    }

    @Test func aValueWithoutASchemaIsRefusedWithAReason() {
        var conversion = AvroConversion()
        #expect(throws: AvroConversion.Failure.self) {
            try conversion.convert(Array(#"{"id":1}"#.utf8), topic: "t", isKey: true) { _, _ in 1 }
        }
    }

    /// Avro's Parsing Canonical Form keeps what decides the encoding and drops the rest: two schemas that differ in docs,
    /// defaults and properties have the same form; one with another type, field or name does not.
    @Test func parsingCanonicalForm() throws {
        let schema =
            #"{"type":"record","name":"Value","namespace":"p.public.t","doc":"d","fields":[{"name":"id","type":"int"},"#
            + #"{"name":"n","type":["null",{"type":"bytes","scale":2,"precision":12,"connect.name":"x","logicalType":"decimal"}],"#
            + #""default":null},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"again","type":["null","Value"]}],"#
            + #""connect.name":"p.public.t.Value"}"#
        #expect(
            try AvroSchema.parsingCanonicalForm(schema)
                == #"{"name":"p.public.t.Value","type":"record","fields":[{"name":"id","type":"int"},"#
                + #"{"name":"n","type":["null","bytes"]},{"name":"tags","type":{"type":"array","items":"string"}},"#
                + #"{"name":"again","type":["null","p.public.t.Value"]}]}"#)
        let relabelled = schema.replacingOccurrences(of: #""doc":"d","#, with: "")
            .replacingOccurrences(of: #""connect.name":"x","#, with: #""connect.version":3,"#)
        #expect(try AvroSchema.parsingCanonicalForm(relabelled) == AvroSchema.parsingCanonicalForm(schema))
        let retyped = schema.replacingOccurrences(of: #"{"name":"id","type":"int"}"#, with: #"{"name":"id","type":"long"}"#)
        #expect(try AvroSchema.parsingCanonicalForm(retyped) != AvroSchema.parsingCanonicalForm(schema))
        let renamed = schema.replacingOccurrences(of: #""namespace":"p.public.t""#, with: #""namespace":"q.public.t""#)
        #expect(try AvroSchema.parsingCanonicalForm(renamed) != AvroSchema.parsingCanonicalForm(schema))
    }
}
