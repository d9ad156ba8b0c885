import ChangeEvents
import Connector
import Foundation
import PGOutput
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
    }

    static func config(_ events: String, errors: String = "") -> ConnectorConfig {
        PipelineTests.config(
            "events: {\(events)}\nschema_registry: {url: \"http://registry.invalid:8081\"}\(errors)")
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
