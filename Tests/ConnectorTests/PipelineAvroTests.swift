import ChangeEvents
import Connector
import Foundation
import PGOutput
import TestSupport
import Testing

/// The Avro formats in the pipeline, with a registry in memory: records in Confluent's wire format under the ids the
/// registry gave, one registration per schema and subject, and a registry's refusal or absence handled as
/// `errors.mode` and a retry say.
@Suite struct PipelineAvroTests {
    final class MemoryRegistry: SchemaRegistry {
        var schemas: [(subject: String, schema: String)] = []
        var calls = 0
        var failure: SchemaRegistryError?

        func id(subject: String, schema: String, register: Bool) throws(SchemaRegistryError) -> Int32 {
            calls += 1
            if let failure { throw failure }
            if let index = schemas.firstIndex(where: { $0.subject == subject && $0.schema == schema }) {
                return Int32(index + 1)
            }
            guard register else { throw SchemaRegistryError(.refused, "subject \(subject) has no such schema", code: 40403) }
            schemas.append((subject, schema))
            return Int32(schemas.count)
        }

        func latest(subject: String) throws(SchemaRegistryError) -> RegisteredSchema {
            calls += 1
            if let failure { throw failure }
            guard let index = schemas.lastIndex(where: { $0.subject == subject }) else {
                throw SchemaRegistryError(.refused, "subject \(subject) has no version")
            }
            let version = schemas.prefix(index + 1).filter { $0.subject == subject }.count
            return RegisteredSchema(id: Int32(index + 1), version: version, schema: schemas[index].schema)
        }
    }

    static func config(_ events: String, errors: String = "", registry: String = "") -> ConnectorConfig {
        PipelineTests.config(
            "events: {\(events)}\nschema_registry: {url: \"http://registry.invalid:8081\"\(registry)}\(errors)")
    }

    @Test func keysAndValuesGoOutInTheWireFormatUnderTheRegistrysIds() throws {
        let registry = MemoryRegistry()
        let sink = PipelineTests.HoldingSink()
        try PipelineTests().run(
            PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), sink,
            config: Self.config("key_format: avro, value_format: avro"), registry: registry)
        #expect(sink.events.count == 2)
        #expect(registry.schemas.map(\.subject) == ["p.public.items-key", "p.public.items-value"])
        #expect(registry.calls == 2, "asked once per schema and subject, not per event")
        for event in sink.events {
            #expect(event.key?.prefix(5) == [0, 0, 0, 0, 1])
            #expect(event.value?.prefix(5) == [0, 0, 0, 0, 2])
        }
        // The key {"id":1}: an int32 field, zig-zag encoded.
        #expect(sink.events.first?.key == [0, 0, 0, 0, 1, 2])
        #expect(
            registry.schemas.first?.schema
                == #"{"type":"record","name":"Key","namespace":"p.public.items","fields":[{"name":"id","type":"int"}],"connect.name":"p.public.items.Key"}"#
        )
    }

    /// `use_latest_version`: records go out under the subject's latest version when it encodes them as their own
    /// schema does (here it differs only in a doc and a property); a latest version with other fields is refused.
    @Test func theLatestVersionIsUsedWhenItEncodesTheRecordAlike() throws {
        // What the connector derives, registered beforehand with a doc added: the same encoding, another text.
        let derived = MemoryRegistry()
        let derivedSink = PipelineTests.HoldingSink()
        try PipelineTests().run(
            PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), derivedSink,
            config: Self.config("key_format: avro, value_format: avro"), registry: derived)
        let registry = MemoryRegistry()
        for (subject, schema) in derived.schemas {
            registry.schemas.append((subject, "{\"doc\":\"registered by CI\"," + schema.dropFirst()))
        }
        let sink = PipelineTests.HoldingSink()
        try PipelineTests().run(
            PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), sink,
            config: Self.config(
                "key_format: avro, value_format: avro", registry: ", auto_register: false, use_latest_version: true"),
            registry: registry)
        #expect(sink.events.count == 2)
        #expect(sink.events.allSatisfy { $0.key?.prefix(5) == [0, 0, 0, 0, 1] && $0.value?.prefix(5) == [0, 0, 0, 0, 2] })
        #expect(registry.schemas.count == 2, "nothing registered")
        // The same rows under the same ids (the times in `source` and after it are the clock's).
        func rows(_ events: [ChangeEvent]) throws -> [String] {
            try events.map { event in
                let json = try AvroReader.read(try #require(event.value), schema: try #require(derived.schemas.last?.schema)).json
                return String(json[..<(json.range(of: #","source":"#)?.lowerBound ?? json.endIndex)])
            }
        }
        #expect(try rows(sink.events) == rows(derivedSink.events))
        #expect(try rows(sink.events).first?.hasPrefix(#"{"before":null,"after":{"id":1,"#) == true)

        // A latest version with one more field would read these records wrongly: refused, through errors.mode.
        let other = MemoryRegistry()
        other.schemas = registry.schemas
        other.schemas[1].schema = other.schemas[1].schema.replacingOccurrences(
            of: #"{"name":"id","type":"int"}"#, with: #"{"name":"id","type":"long"}"#)
        let refusing = PipelineTests.HoldingSink()
        #expect {
            try PipelineTests().run(
                PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), refusing,
                config: Self.config(
                    "key_format: avro, value_format: avro", registry: ", auto_register: false, use_latest_version: true"),
                registry: other)
        } throws: { "\($0)".contains("does not encode this record as its own schema does") }
        #expect(refusing.events.isEmpty)
    }

    @Test func aJSONKeyBesideAnAvroValueKeepsItsOwnForm() throws {
        let registry = MemoryRegistry()
        let sink = PipelineTests.HoldingSink()
        try PipelineTests().run(
            PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), sink,
            config: Self.config("value_format: avro"), registry: registry)
        #expect(sink.events.first.flatMap { $0.key.map { String(decoding: $0, as: UTF8.self) } } == #"{"id":1}"#)
        #expect(registry.schemas.map(\.subject) == ["p.public.items-value"])
    }

    @Test func aRefusedSchemaGoesThroughErrorsMode() throws {
        let registry = MemoryRegistry()
        registry.failure = SchemaRegistryError(.refused, "Schema being registered is incompatible", code: 409)
        let failing = PipelineTests.HoldingSink()
        #expect(throws: PipelineError.self) {
            try PipelineTests().run(
                PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), failing,
                config: Self.config("value_format: avro"), registry: registry)
        }
        #expect(failing.events.isEmpty)
        let skipping = PipelineTests.HoldingSink()
        let source = PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream())
        try PipelineTests().run(
            source, skipping, config: Self.config("value_format: avro", errors: "\nerrors: {mode: skip}"),
            registry: registry)
        #expect(skipping.events.isEmpty)
        #expect(source.statuses.last?.flushed == LSN(0x1A0), "skipped changes are passed")
    }

    @Test func anUnreachableRegistryEndsTheSessionToRetryFromTheSlot() throws {
        let registry = MemoryRegistry()
        registry.failure = SchemaRegistryError(.unavailable, "connection refused")
        let sink = PipelineTests.HoldingSink()
        let source = PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream())
        #expect {
            try PipelineTests().run(source, sink, config: Self.config("value_format: avro"), registry: registry)
        } throws: { error in
            (error as? ConnectorError)?.kind == .transient
        }
        #expect(sink.events.isEmpty)
        #expect((source.statuses.map(\.flushed).max() ?? .zero) < LSN(0x180), "nothing of the transaction is confirmed")
    }
}
