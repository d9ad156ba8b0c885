import ChangeEvents
import Connector
import Logging
import PGOutput
import Synchronization
import TestSupport
import Testing

/// The pipeline between a scripted source and a sink that acknowledges only when told to.
@Suite struct PipelineTests {
    final class ScriptedSource: ChangeSource, @unchecked Sendable {
        var frames: [[UInt8]]
        var statuses: [StandbyStatusUpdate] = []
        var onExhausted: () -> Void = {}
        let start: LSN

        init(start: LSN, frames: [[UInt8]]) {
            self.start = start
            self.frames = frames
        }

        func open(exportSnapshot: Bool) throws -> SourcePosition {
            SourcePosition(databaseName: "db", start: start, slotCreated: false)
        }

        func startStreaming() throws {}

        func snapshotTables() throws -> [TableName] { [] }

        func makeSnapshotReader() throws -> any SnapshotSource {
            throw ConnectorError(.configuration, "no snapshots in this test")
        }

        func nextFrame(timeoutMilliseconds: Int) throws -> [UInt8]? {
            if frames.isEmpty {
                onExhausted()
                return nil
            }
            return frames.removeFirst()
        }

        func send(_ status: StandbyStatusUpdate) throws { statuses.append(status) }

        func tableMetadata(relationOID: UInt32) throws -> TableMetadata {
            TableMetadata(primaryKey: ["id"], notNull: ["id"])
        }

        func close() {}
    }

    final class HoldingSink: EventSink, @unchecked Sendable {
        var events: [ChangeEvent] = []
        var unacknowledged: [UInt64] = []
        var acknowledge = true
        var failure: (any Error)?

        func send(_ event: ChangeEvent, token: UInt64) throws {
            events.append(event)
            unacknowledged.append(token)
        }

        func poll(timeoutMilliseconds: Int, _ onDelivery: (UInt64, (any Error)?) -> Void) {
            guard acknowledge || failure != nil else { return }
            for token in unacknowledged { onDelivery(token, failure) }
            unacknowledged.removeAll()
        }

        var outstanding: Int { unacknowledged.count }
    }

    struct Failure: Error {}

    static let config = try! ConnectorConfigLoader(environment: [:]).parse(
        """
        name: test
        postgres: {url: "postgresql://x/db", status_interval: 10ms, tables: [public.items]}
        kafka: {bootstrap_servers: embedded, topic_prefix: p}
        snapshot: {mode: no_data}
        """, file: "test.yaml")

    static func stream(table: String = "items") -> [[UInt8]] {
        [
            PGOutputBytes.xLogData(LSN(0x100), PGOutputBytes.begin(finalLSN: LSN(0x180), xid: 7)),
            PGOutputBytes.xLogData(
                LSN(0x100),
                PGOutputBytes.relation(oid: 1, schema: "public", table: table, columns: [("id", 23, true), ("label", 25, false)])),
            PGOutputBytes.xLogData(LSN(0x110), PGOutputBytes.insert(oid: 1, ["1", "one"])),
            PGOutputBytes.xLogData(LSN(0x120), PGOutputBytes.insert(oid: 1, ["2", "two"])),
            PGOutputBytes.xLogData(LSN(0x1A0), PGOutputBytes.commit(commitLSN: LSN(0x180), endLSN: LSN(0x1A0))),
        ]
    }

    func run(_ source: ScriptedSource, _ sink: HoldingSink) throws {
        let pipeline = Pipeline(
            config: Self.config, source: source, sink: sink, status: ConnectorStatus(name: "test", slot: "s"),
            logger: Logger(label: "test"))
        pipeline.drainTimeout = .milliseconds(200)
        source.onExhausted = { pipeline.requestStop() }
        try pipeline.run()
    }

    @Test func confirmsTheCommitOnceKafkaAcknowledgedItsEvents() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream())
        let sink = HoldingSink()
        try run(source, sink)
        #expect(sink.events.map(\.topic) == ["p.public.items", "p.public.items"])
        #expect(sink.events.map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == ["{\"id\":1}", "{\"id\":2}"])
        #expect(source.statuses.last?.flushed == LSN(0x1A0))
    }

    @Test func nothingUnacknowledgedIsEverConfirmed() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream() + [PGOutputBytes.keepalive(LSN(0x900))])
        let sink = HoldingSink()
        sink.acknowledge = false
        try run(source, sink)
        #expect(sink.events.count == 2)
        #expect(!source.statuses.isEmpty)
        #expect(source.statuses.allSatisfy { $0.flushed == LSN(0x50) })
    }

    @Test func aRefusedEventStopsThePipelineWithoutConfirmingIt() {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream())
        let sink = HoldingSink()
        sink.failure = Failure()
        #expect(throws: PipelineError.self) { try run(source, sink) }
        #expect(source.statuses.allSatisfy { $0.flushed == LSN(0x50) })
    }

    @Test func tablesOutsideTheListAreNotEmittedButStillAdvanceTheSlot() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream(table: "other"))
        let sink = HoldingSink()
        try run(source, sink)
        #expect(sink.events.isEmpty)
        #expect(source.statuses.last?.flushed == LSN(0x1A0))
    }

    @Test func idleStreamFollowsKeepalives() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: [PGOutputBytes.keepalive(LSN(0x700), replyRequested: true)])
        let sink = HoldingSink()
        try run(source, sink)
        #expect(source.statuses.first?.flushed == LSN(0x700))
    }

    @Test func malformedMessageNamesItsLSNAndKeepsThePayload() {
        let bad: [UInt8] = [UInt8(ascii: "I"), 0, 0]
        let source = ScriptedSource(start: LSN(0x50), frames: [PGOutputBytes.xLogData(LSN(0x77), bad)])
        do {
            try run(source, HoldingSink())
            Issue.record("expected a decode error")
        } catch let PipelineError.decode(lsn, type, payload, _) {
            #expect(lsn == LSN(0x77))
            #expect(type == UInt8(ascii: "I"))
            #expect(payload == bad)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
