import ChangeEvents
import Connector
import Foundation
import Logging
import PGOutput
import Synchronization
import TestSupport
import Testing

/// A session clock that moves only when told: by the scripted source's reads and the holding sink's polls.
final class ManualClock: SessionClock {
    private let start = ContinuousClock.now
    private let offset = Mutex<Duration>(.zero)

    var now: ContinuousClock.Instant { start + elapsed }
    var elapsed: Duration { offset.withLock { $0 } }

    func advance(by duration: Duration) {
        offset.withLock { $0 += duration }
    }
}

/// The pipeline between a scripted source and a sink that acknowledges only when told to.
@Suite struct PipelineTests {
    final class ScriptedSource: ChangeSource, @unchecked Sendable {
        var frames: [[UInt8]]
        var statuses: [StandbyStatusUpdate] = []
        var onExhausted: () -> Void = {}
        /// Whether a status update asking for a reply gets a keepalive, as from a server that is up.
        var answersKeepaliveRequests = false
        /// The second read that finds no frame takes this long (the stream has gone quiet by then), as when the
        /// pipeline's thread is held up.
        var stallOnce: Duration?
        private var emptyReads = 0
        let start: LSN
        /// The session's time: a read that finds no frame takes its whole timeout on it, a stall takes its length.
        let clock = ManualClock()

        init(start: LSN, frames: [[UInt8]]) {
            self.start = start
            self.frames = frames
        }

        /// What `inspect` reports; by default the slot exists at `start`.
        lazy var observation = SlotObservation(
            systemIdentifier: "7000000000000000001", timeline: 1, databaseName: "db",
            slot: .init(confirmedFlush: start))
        private(set) var opened: (exportSnapshot: Bool, replacingSlot: Bool)?

        func inspect() throws(ConnectorError) -> SlotObservation { observation }

        func open(exportSnapshot: Bool, replacingSlot: Bool) throws(ConnectorError) -> SourcePosition {
            opened = (exportSnapshot, replacingSlot)
            return SourcePosition(databaseName: "db", start: start, slotCreated: observation.slot == nil || replacingSlot)
        }

        func startStreaming() throws(ConnectorError) {}

        func snapshotTables() throws(ConnectorError) -> [TableName] { [] }

        func makeSnapshotReader() throws(ConnectorError) -> any SnapshotSource {
            throw ConnectorError(.configuration, "no snapshots in this test")
        }

        func nextFrame(timeoutMilliseconds: Int) throws(ConnectorError) -> [UInt8]? {
            if frames.isEmpty, let stall = stallOnce {
                emptyReads += 1
                if emptyReads == 2 {
                    stallOnce = nil
                    clock.advance(by: stall)
                }
            }
            if frames.isEmpty {
                clock.advance(by: .milliseconds(timeoutMilliseconds))
                onExhausted()
                return nil
            }
            return frames.removeFirst()
        }

        func send(_ status: StandbyStatusUpdate) throws(ConnectorError) {
            statuses.append(status)
            if status.replyRequested && answersKeepaliveRequests { frames.append(PGOutputBytes.keepalive(LSN(0x200))) }
        }

        func tableMetadata(relationOID: UInt32) throws(ConnectorError) -> TableMetadata {
            TableMetadata(primaryKey: ["id"], notNull: ["id"])
        }

        var heartbeats: [String?] = []
        var heartbeatError: ConnectorError?
        func heartbeat(actionQuery: String?) throws(ConnectorError) {
            heartbeats.append(actionQuery)
            if let heartbeatError { throw heartbeatError }
        }

        func slotHealth() throws(ConnectorError) -> SlotHealth? { nil }

        func unpublishedTables() throws(ConnectorError) -> [TableName] { [] }

        func close() {}
    }

    final class HoldingSink: EventSink, @unchecked Sendable {
        var events: [ChangeEvent] = []
        var unacknowledged: [UInt64] = []
        var acknowledge = true
        var failure: (any Error)?
        var permanent = false
        /// When set, only tokens below it fail; the others are acknowledged.
        var failOnlyTokensBelow: UInt64?
        /// When set, a poll that reports nothing takes its whole timeout on this clock, and `onPoll` is called.
        var clock: ManualClock?
        var onPoll: () -> Void = {}

        func send(_ event: ChangeEvent, token: UInt64) throws(EventSinkError) {
            events.append(event)
            unacknowledged.append(token)
        }

        func poll(timeoutMilliseconds: Int, _ onDelivery: (Delivery) -> Void) {
            onPoll()
            guard acknowledge || failure != nil else {
                clock?.advance(by: .milliseconds(timeoutMilliseconds))
                return
            }
            for (token, event) in zip(unacknowledged, events.suffix(unacknowledged.count)) {
                let bytes = (event.key?.count ?? 0) + (event.value?.count ?? 0)
                onDelivery(
                    Delivery(
                        token: token, bytes: bytes,
                        failure: failOnlyTokensBelow.map { token >= $0 } == true
                            ? nil : failure.map { SinkFailure(message: "\($0)", isPermanent: permanent, event: event) }))
            }
            unacknowledged.removeAll()
        }

        var outstanding: Int { unacknowledged.count }

        /// What `lastPositions` reports: the last position of this connector's records per partition, by topic.
        var tails: [String: [EventPosition?]] = [:]
        /// The topics the pipeline asked to read back, and how many events were outstanding when it settled.
        var readBack: [[String]] = []
        var settledWith: [Int] = []

        /// Reports an earlier session's events give while the next one settles.
        var settleReports: [Delivery] = []

        func settle(timeoutMilliseconds: Int, _ onDelivery: (Delivery) -> Void) {
            settledWith.append(unacknowledged.count)
            settleReports.forEach(onDelivery)
        }

        func lastPositionHeaders(topics: [String]) throws(ConnectorError) -> [String: [[UInt8]?]] {
            readBack.append(topics)
            return tails.filter { topics.contains($0.key) }.mapValues { $0.map { $0?.headerValue(connector: "test") } }
        }
    }

    struct Failure: Error {}

    /// A connector file of its own for each use: its state directory (the slot record) is a fresh one.
    static var config: ConnectorConfig { config("") }

    /// A fresh directory for a pipeline's state files.
    static func stateDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tributary-pipeline-\(UUID().uuidString)").path
    }

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

    static func config(
        _ extra: String, kafka: String = "", postgres: String = "", stateDirectory: String = stateDirectory()
    ) -> ConnectorConfig {
        try! ConnectorConfigLoader(environment: [:]).parse(
            """
            name: test
            postgres: {url: "postgresql://x/db", status_interval: 10ms, tables: [public.items]\(postgres)}
            kafka: {bootstrap_servers: embedded, topic_prefix: p\(kafka)}
            snapshot: {mode: no_data, state_directory: \(stateDirectory)}
            \(extra)
            """, file: "test.yaml")
    }

    func run(
        _ source: ScriptedSource, _ sink: HoldingSink, config: ConnectorConfig = Self.config,
        registry: (any SchemaRegistry)? = nil
    ) throws {
        let pipeline = Pipeline(
            config: config, source: source, sink: sink, status: ConnectorStatus(name: "test", slot: "s"),
            logger: Logger(label: "test"), drainTimeout: .milliseconds(200), registry: registry)
        source.onExhausted = { pipeline.requestStop() }
        try pipeline.run()
    }

    /// A quiet stream gets keepalive requests; a server that answers none of them is given up after receive_timeout.
    @Test(arguments: [false, true])
    func aSilentServerIsAskedForKeepalivesAndGivenUpOnlyIfItNeverAnswers(answers: Bool) throws {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream())
        source.answersKeepaliveRequests = answers
        let sink = HoldingSink()
        let pipeline = Pipeline(
            config: Self.config("", postgres: ", receive_timeout: 300ms"), source: source, sink: sink,
            status: ConnectorStatus(name: "test", slot: "s"), logger: Logger(label: "test"), drainTimeout: .milliseconds(200),
            clock: source.clock)
        if answers {
            // Stopped after three timeouts' worth of quiet that the keepalives answered.
            source.onExhausted = { if source.clock.elapsed > .milliseconds(900) { pipeline.requestStop() } }
            try pipeline.run()
        } else {
            #expect {
                try pipeline.run()
            } throws: { error in
                guard case .silentServer(let timeout) = error as? PipelineError else { return false }
                return timeout == .milliseconds(300) && "\(error)".contains("raise postgres.receive_timeout")
            }
            let elapsed = source.clock.elapsed
            #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(400), "given up at the timeout: \(elapsed)")
        }
        let requests = source.statuses.filter(\.replyRequested).count
        // Asked once per half timeout of quiet; when answered, never given up.
        #expect(answers ? requests >= 3 : requests >= 1, "\(requests) keepalive requests")
        #expect(sink.events.count == 2)
    }

    /// A pipeline thread held up for longer than the timeout asks for a keepalive before it gives the server up.
    @Test func aHeldUpPipelineAsksBeforeGivingTheServerUp() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream())
        source.answersKeepaliveRequests = true
        source.stallOnce = .milliseconds(500)
        let pipeline = Pipeline(
            config: Self.config("", postgres: ", receive_timeout: 300ms"), source: source, sink: HoldingSink(),
            status: ConnectorStatus(name: "test", slot: "s"), logger: Logger(label: "test"), drainTimeout: .milliseconds(200),
            clock: source.clock)
        source.onExhausted = { if source.clock.elapsed > .milliseconds(1200) { pipeline.requestStop() } }
        try pipeline.run()
        #expect(source.statuses.contains { $0.replyRequested })
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
        // The server asks for a status while the events are in flight: it must not confirm them.
        let source = ScriptedSource(
            start: LSN(0x50), frames: Self.stream() + [PGOutputBytes.keepalive(LSN(0x900), replyRequested: true)])
        let sink = HoldingSink()
        sink.failure = Failure()
        #expect(throws: PipelineError.self) { try run(source, sink) }
        #expect(!source.statuses.isEmpty, "statuses were sent, so the next check can fail")
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

    @Test func errorsModeFailStopsWithoutConfirmingARefusedEvent() {
        // The server asks for a status while the events are in flight: it must not confirm them.
        let source = ScriptedSource(
            start: LSN(0x50), frames: Self.stream() + [PGOutputBytes.keepalive(LSN(0x900), replyRequested: true)])
        let sink = HoldingSink()
        sink.failure = Failure()
        sink.permanent = true
        do {
            try run(source, sink)
            Issue.record("expected the pipeline to stop")
        } catch let error as PipelineError {
            #expect(error.isPermanent)
            #expect("\(error)".contains("errors.mode"))
            #expect("\(error)".contains("public.items"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(!source.statuses.isEmpty, "statuses were sent, so the next check can fail")
        #expect(source.statuses.allSatisfy { $0.flushed == LSN(0x50) })
    }

    @Test func errorsModeSkipConfirmsPastRefusedEvents() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream())
        let sink = HoldingSink()
        sink.failure = Failure()
        sink.permanent = true
        try run(source, sink, config: Self.config("errors: {mode: skip}"))
        #expect(sink.events.count == 2)
        #expect(source.statuses.last?.flushed == LSN(0x1A0))
    }

    @Test func errorsModeDeadLetterSendsACopyWithTheReasonBeforeConfirming() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream())
        let sink = RefusingSink(refusedTopic: "p.public.items")
        let pipeline = Pipeline(
            config: Self.config("errors: {mode: dead_letter, dead_letter_topic: p.errors}"), source: source, sink: sink,
            status: ConnectorStatus(name: "test", slot: "s"), logger: Logger(label: "test"), drainTimeout: .milliseconds(200))
        source.onExhausted = { pipeline.requestStop() }
        try pipeline.run()
        let letters = sink.accepted.filter { $0.topic == "p.errors" }
        #expect(letters.count == 2)
        let headers = Dictionary(
            (letters.first?.headers ?? []).map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) },
            uniquingKeysWith: { a, _ in a })
        #expect(headers["__connect.errors.topic"] == "p.public.items")
        #expect(headers["__tributary.errors.table"] == "public.items")
        #expect(headers["__tributary.errors.lsn"] == "\(LSN(0x110))")
        #expect(headers["__connect.errors.exception.message"]?.contains("too large") == true)
        #expect(letters.first?.key == Array("{\"id\":1}".utf8))
        #expect(source.statuses.last?.flushed == LSN(0x1A0))
    }

    @Test func aTimedOutDeliveryRestartsTheSessionInsteadOfSkipping() {
        // The server asks for a status while the events are in flight: it must not confirm them.
        let source = ScriptedSource(
            start: LSN(0x50), frames: Self.stream() + [PGOutputBytes.keepalive(LSN(0x900), replyRequested: true)])
        let sink = HoldingSink()
        sink.failure = Failure()
        do {
            try run(source, sink, config: Self.config("errors: {mode: skip}"))
            Issue.record("expected the pipeline to stop")
        } catch let error as PipelineError {
            #expect(!error.isPermanent)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(!source.statuses.isEmpty, "statuses were sent, so the next check can fail")
        #expect(source.statuses.allSatisfy { $0.flushed == LSN(0x50) })
    }

    @Test func reportsForAnEarlierSessionAreIgnored() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream())
        let sink = HoldingSink()
        // A timed-out event of the previous session (token 3) must not end this one (tokens from 10).
        sink.unacknowledged = [3]
        sink.events = [
            ChangeEvent(topic: "p.public.items", key: nil, value: Array(repeating: 0x20, count: 100), operation: .create)
        ]
        sink.failure = Failure()
        sink.failOnlyTokensBelow = 10
        let pipeline = Pipeline(
            config: Self.config, source: source, sink: sink, status: ConnectorStatus(name: "test", slot: "s"),
            logger: Logger(label: "test"), firstToken: 10, drainTimeout: .milliseconds(200))
        source.onExhausted = { pipeline.requestStop() }
        try pipeline.run()
        #expect(source.statuses.last?.flushed == LSN(0x1A0))
    }

    @Test func readingPausesAtTheInFlightByteLimit() throws {
        var frames = [PGOutputBytes.xLogData(LSN(0x100), PGOutputBytes.begin(finalLSN: LSN(0x9000), xid: 7))]
        frames.append(
            PGOutputBytes.xLogData(
                LSN(0x100),
                PGOutputBytes.relation(
                    oid: 1, schema: "public", table: "items", columns: [("id", 23, true), ("label", 25, false)])))
        let label = String(repeating: "x", count: 1000)
        for id in 1...50 {
            frames.append(PGOutputBytes.xLogData(LSN(UInt64(0x100 + id)), PGOutputBytes.insert(oid: 1, ["\(id)", label])))
        }
        let source = ScriptedSource(start: LSN(0x50), frames: frames)
        let sink = HoldingSink()
        sink.acknowledge = false
        sink.clock = source.clock
        let pipeline = Pipeline(
            config: Self.config("", kafka: ", max_in_flight_bytes: 10kB"),
            source: source, sink: sink, status: ConnectorStatus(name: "test", slot: "s"), logger: Logger(label: "test"),
            drainTimeout: .milliseconds(50), clock: source.clock)
        // Half a second of Kafka saying nothing: reading stays paused all along.
        sink.onPoll = { if source.clock.elapsed > .milliseconds(500) { pipeline.requestStop() } }
        try pipeline.run()
        // Each event is over 1 kB: reading stops once 10 kB are unacknowledged.
        #expect(sink.events.count == 9, "the ninth event (over 1.1 kB each) crosses the limit")
        #expect(source.frames.count == 41, "nothing more was read while paused")
    }

    @Test func heartbeatRunsTheActionQueryEveryInterval() throws {
        let source = ScriptedSource(start: LSN(0x50), frames: [])
        let pipeline = Pipeline(
            config: Self.config("heartbeat: {interval: 100ms, action_query: \"UPDATE beat SET at = now()\"}"), source: source,
            sink: HoldingSink(), status: ConnectorStatus(name: "test", slot: "s"), logger: Logger(label: "test"),
            clock: source.clock)
        source.onExhausted = { if source.clock.elapsed >= .milliseconds(550) { pipeline.requestStop() } }
        try pipeline.run()
        #expect(source.heartbeats.count == 5, "one per 100 ms of 550")
        #expect(source.heartbeats.allSatisfy { $0 == "UPDATE beat SET at = now()" })
    }

    /// A heartbeat the role may not run is a warning; a heartbeat that lost the catalog connection ends the session.
    @Test(arguments: [ConnectorError.Kind.configuration, .transient])
    func aFailedHeartbeatEndsTheSessionOnlyWhenTheConnectionIsGone(kind: ConnectorError.Kind) throws {
        let source = ScriptedSource(start: LSN(0x50), frames: [])
        source.heartbeatError = ConnectorError(kind, "heartbeat failed")
        let pipeline = Pipeline(
            config: Self.config("heartbeat: {interval: 50ms}"), source: source, sink: HoldingSink(),
            status: ConnectorStatus(name: "test", slot: "s"), logger: Logger(label: "test"), clock: source.clock)
        source.onExhausted = { if source.clock.elapsed >= .milliseconds(300) { pipeline.requestStop() } }
        if kind == .transient {
            #expect(throws: ConnectorError.self) { try pipeline.run() }
            #expect(source.heartbeats.count == 1)
        } else {
            try pipeline.run()
            // Due every 50 ms and run between reads, which wait up to the next one due: five in 300 ms.
            #expect(source.heartbeats.count == 5, "each failing with a warning, and the session going on")
        }
    }

    /// Runs a first session so the state directory holds a slot record; returns the directory.
    func recordedRun() throws -> (directory: String, record: SlotRecord) {
        let directory = Self.stateDirectory()
        let source = ScriptedSource(start: LSN(0x50), frames: Self.stream())
        try run(source, HoldingSink(), config: Self.config("", stateDirectory: directory))
        let record = try #require(try SlotRecordStore(directory: directory, connector: "test").load())
        return (directory, record)
    }

    /// The record is saved before the server hears of a position, so it is never behind the slot.
    @Test func theSlotRecordIsWrittenBeforeAPositionIsConfirmed() throws {
        let (_, record) = try recordedRun()
        #expect(record.slot == "tributary_test")
        #expect(record.systemIdentifier == "7000000000000000001")
        #expect(record.confirmedLSN == LSN(0x1A0), "the commit's end, confirmed once Kafka had both events")
    }

    /// A slot gone since the last run stops the connector (no_data's default) before any slot is created.
    @Test func aLostSlotStopsTheConnectorWithWhatWasLost() throws {
        let (directory, _) = try recordedRun()
        let source = ScriptedSource(start: LSN(0x900), frames: Self.stream())
        source.observation.slot = nil
        let sink = HoldingSink()
        #expect {
            try run(source, sink, config: Self.config("", stateDirectory: directory))
        } throws: { error in
            guard let error = error as? ConnectorError, error.kind == .configuration else { return false }
            return error.message.contains("replication slot tributary_test does not exist")
                && error.message.contains("after 0/1A0") && error.message.contains("on_slot_lost: snapshot")
                && error.message.contains("accept_gap") && error.message.contains("defaults to fail with snapshot.mode no_data")
        }
        #expect(source.opened == nil, "no slot is created: the next start finds the same gap")
        #expect(sink.events.isEmpty)
        #expect(try SlotRecordStore(directory: directory, connector: "test").load()?.confirmedLSN == LSN(0x1A0))
    }

    /// accept_gap streams on from the new slot and records it, so the following start continues without a word.
    @Test func anAcceptedGapStreamsOnFromTheNewSlot() throws {
        let (directory, _) = try recordedRun()
        let config = Self.config("", postgres: ", on_slot_lost: accept_gap", stateDirectory: directory)
        let source = ScriptedSource(start: LSN(0x900), frames: Self.stream())
        source.observation.slot = .init(confirmedFlush: LSN(0x40), invalidation: "wal_removed")
        let sink = HoldingSink()
        try run(source, sink, config: config)
        #expect(source.opened?.replacingSlot == true, "an invalidated slot is dropped and created again")
        #expect(sink.events.count == 2)
        let record = try #require(try SlotRecordStore(directory: directory, connector: "test").load())
        #expect(record.confirmedLSN >= LSN(0x900))
        let again = ScriptedSource(start: record.confirmedLSN, frames: [])
        try run(again, HoldingSink(), config: config)
        #expect(again.opened?.replacingSlot == false)
    }

    /// A standby whose peer (another instance of this connector) streams from the slot keeps its record with the
    /// slot, and takes over where the peer stopped without calling that a gap.
    @Test func aStandbyFollowsItsPeerAndTakesOverWithoutAGap() throws {
        let (directory, _) = try recordedRun()
        let config = Self.config("", stateDirectory: directory)
        let standing = ScriptedSource(start: LSN(0x5000), frames: [])
        standing.observation.slot = .init(confirmedFlush: LSN(0x4000), activePID: 4242, heldBySameConnector: true)
        #expect {
            try run(standing, HoldingSink(), config: config)
        } throws: { error in
            (error as? ConnectorError)?.kind == .slotInUse && "\(error)".contains("4242")
                && "\(error)".contains("another instance of this connector")
        }
        #expect(standing.opened == nil)
        let record = try #require(try SlotRecordStore(directory: directory, connector: "test").load())
        #expect(record.confirmedLSN == LSN(0x4000) && record.peerStreaming)

        // The peer confirmed a little more before it stopped; the slot is free now.
        let takeover = ScriptedSource(start: LSN(0x4800), frames: [])
        takeover.observation.slot = .init(confirmedFlush: LSN(0x4800))
        try run(takeover, HoldingSink(), config: config)
        #expect(takeover.opened?.replacingSlot == false)
        let after = try #require(try SlotRecordStore(directory: directory, connector: "test").load())
        #expect(!after.peerStreaming && after.confirmedLSN >= LSN(0x4800))

        // Another program holding the slot is no peer: what it confirms is a gap for this connector.
        let other = ScriptedSource(start: LSN(0x9000), frames: [])
        other.observation.slot = .init(confirmedFlush: LSN(0x9000), activePID: 7, heldBySameConnector: false)
        #expect(throws: ConnectorError.self) { try run(other, HoldingSink(), config: config) }
        other.observation.slot = .init(confirmedFlush: LSN(0x9000))
        #expect {
            try run(other, HoldingSink(), config: config)
        } throws: { "\($0)".contains("confirms 0/9000, past what this connector confirmed") }
    }

    /// A row with a value its column's type cannot produce (text in an int column): errors.mode decides, as for an
    /// event Kafka refuses; the rest of the stream goes on under skip and dead_letter.
    @Test(arguments: ["fail", "skip", "dead_letter"])
    func anUnwritableValueGoesThroughErrorsMode(mode: String) throws {
        var frames = Self.stream()
        frames[2] = PGOutputBytes.xLogData(LSN(0x110), PGOutputBytes.insert(oid: 1, ["one", "bad id"]))
        let source = ScriptedSource(start: LSN(0x50), frames: frames)
        let sink = HoldingSink()
        let config = Self.config("errors: {mode: \(mode)}")
        if mode == "fail" {
            #expect {
                try run(source, sink, config: config)
            } throws: { error in
                guard let error = error as? PipelineError, case .unwritable(let lsn, _) = error else { return false }
                return lsn == LSN(0x110) && error.isPermanent && "\(error)".contains("public.items.id")
                    && "\(error)".contains("errors.mode")
            }
            #expect(sink.events.isEmpty)
            return
        }
        try run(source, sink, config: config)
        #expect(source.statuses.last?.flushed == LSN(0x1A0), "the transaction is confirmed once what it sent is in Kafka")
        let regular = sink.events.filter { $0.topic == "p.public.items" }
        #expect(regular.count == 1 && regular.first?.lsn == LSN(0x120))
        let letters = sink.events.filter { $0.topic == "p.dlq" }
        if mode == "skip" {
            #expect(letters.isEmpty)
        } else {
            try #require(letters.count == 1)
            let headers = Dictionary(letters[0].headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) }) { $1 }
            #expect(letters[0].key == nil && letters[0].value == nil)
            #expect(headers["__tributary.errors.table"] == "public.items")
            #expect(headers["__tributary.errors.lsn"] == "0/110")
            #expect(headers["__connect.errors.exception.message"]?.contains("cannot encode \"one\"") == true)
        }
    }

    /// A transaction's context message puts its members on the transaction's following events as headers, and is
    /// not emitted itself; the next transaction starts without it.
    @Test(arguments: [false, true])
    func aContextMessageBecomesHeadersOfItsTransactionsEvents(renamed: Bool) throws {
        let context = #"{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "correlation_id": "order-17"}"#
        var frames = [
            PGOutputBytes.xLogData(LSN(0x100), PGOutputBytes.begin(finalLSN: LSN(0x180), xid: 7)),
            PGOutputBytes.xLogData(
                LSN(0x100),
                PGOutputBytes.relation(
                    oid: 1, schema: "public", table: "items", columns: [("id", 23, true), ("label", 25, false)])),
            PGOutputBytes.xLogData(
                LSN(0x108),
                PGOutputBytes.message(transactional: true, lsn: LSN(0x108), prefix: "tributary.context", content: context)),
            PGOutputBytes.xLogData(LSN(0x110), PGOutputBytes.insert(oid: 1, ["1", "one"])),
            PGOutputBytes.xLogData(LSN(0x1A0), PGOutputBytes.commit(commitLSN: LSN(0x180), endLSN: LSN(0x1A0))),
        ]
        frames += [
            PGOutputBytes.xLogData(LSN(0x200), PGOutputBytes.begin(finalLSN: LSN(0x280), xid: 8)),
            PGOutputBytes.xLogData(LSN(0x210), PGOutputBytes.insert(oid: 1, ["2", "two"])),
            PGOutputBytes.xLogData(LSN(0x2A0), PGOutputBytes.commit(commitLSN: LSN(0x280), endLSN: LSN(0x2A0))),
        ]
        let sink = HoldingSink()
        let mapping = renamed ? ", headers: {traceparent: traceparent, correlation_id: x-correlation-id}" : ""
        try run(
            ScriptedSource(start: LSN(0x50), frames: frames), sink,
            config: Self.config("correlation: {message_prefix: tributary.context\(mapping)}"))
        try #require(sink.events.count == 2, "the context message is not an event")
        let first = Dictionary(sink.events[0].headers.map { ($0.name, String(decoding: $0.value ?? [], as: UTF8.self)) }) {
            a, _ in a
        }
        #expect(first["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        #expect(first[renamed ? "x-correlation-id" : "correlation_id"] == "order-17")
        #expect(!sink.events[1].headers.contains { $0.name == "traceparent" }, "the next transaction has no context")
    }

    /// Acknowledges every event except those to one topic, which it refuses as Kafka refuses an event too large.
    final class RefusingSink: EventSink, @unchecked Sendable {
        let refusedTopic: String
        var accepted: [ChangeEvent] = []
        var reports: [Delivery] = []

        init(refusedTopic: String) { self.refusedTopic = refusedTopic }

        func send(_ event: ChangeEvent, token: UInt64) throws(EventSinkError) {
            let bytes = (event.key?.count ?? 0) + (event.value?.count ?? 0)
            if event.topic == refusedTopic {
                reports.append(
                    Delivery(
                        token: token, bytes: bytes,
                        failure: SinkFailure(message: "Broker: Message size too large", isPermanent: true, event: event)))
            } else {
                accepted.append(event)
                reports.append(Delivery(token: token, bytes: bytes))
            }
        }

        func poll(timeoutMilliseconds: Int, _ onDelivery: (Delivery) -> Void) {
            let ready = reports
            reports.removeAll()
            ready.forEach(onDelivery)
        }

        var outstanding: Int { reports.count }

        func settle(timeoutMilliseconds: Int, _ onDelivery: (Delivery) -> Void) {}

        func lastPositionHeaders(topics: [String]) throws(ConnectorError) -> [String: [[UInt8]?]] { [:] }
    }
}

/// `events.transaction_metadata`: the records join their transaction, and only transactions the server sent with a
/// change in them get records.
@Suite struct PipelineTransactionMetadataTests {
    typealias Source = PipelineTests.ScriptedSource

    /// A fresh state directory for each test: they run in parallel, and each writes its slot record.
    static var config: ConnectorConfig { PipelineTests.config("events: {transaction_metadata: true}") }

    func run(_ frames: [[UInt8]], acknowledge: Bool = true) throws -> (Source, PipelineTests.HoldingSink) {
        let source = Source(start: LSN(0x50), frames: frames)
        let sink = PipelineTests.HoldingSink()
        sink.acknowledge = acknowledge
        try PipelineTests().run(source, sink, config: Self.config)
        return (source, sink)
    }

    static func text(_ bytes: [UInt8]?) -> String { bytes.map { String(decoding: $0, as: UTF8.self) } ?? "null" }

    @Test func aTransactionGetsBeginAndEndAroundItsEventsWhoseBlocksCountThem() throws {
        let (source, sink) = try run(PipelineTests.stream())
        #expect(sink.events.map(\.topic) == ["p.transaction", "p.public.items", "p.public.items", "p.transaction"])
        #expect(Self.text(sink.events[0].key) == #"{"id":"7:256"}"#)
        #expect(Self.text(sink.events[0].value).hasPrefix(#"{"status":"BEGIN","id":"7:256","event_count":null"#))
        #expect(
            Self.text(sink.events[1].value).contains(#""transaction":{"id":"7:272","total_order":1,"data_collection_order":1}"#))
        #expect(
            Self.text(sink.events[2].value).contains(#""transaction":{"id":"7:288","total_order":2,"data_collection_order":2}"#))
        #expect(
            Self.text(sink.events[3].value).hasPrefix(
                #"{"status":"END","id":"7:416","event_count":2,"data_collections":[{"data_collection":"public.items","event_count":2}]"#
            ))
        #expect(sink.events.allSatisfy { $0.transactionID == 7 })
        #expect(source.statuses.last?.flushed == LSN(0x1A0))
    }

    @Test func theEndRecordHoldsThePositionBackUntilKafkaHasIt() throws {
        let (source, sink) = try run(PipelineTests.stream(), acknowledge: false)
        #expect(sink.events.count == 4)
        #expect(source.statuses.allSatisfy { $0.flushed == LSN(0x50) })
    }

    /// Debezium writes records for every transaction the server sends, its changes captured or not; Tributary's own
    /// heartbeat message is no change of the source's, so its transaction gets none.
    @Test func aLeftOutTableGetsEmptyRecordsAndAHeartbeatNone() throws {
        let heartbeat = [
            PGOutputBytes.xLogData(LSN(0x200), PGOutputBytes.begin(finalLSN: LSN(0x240), xid: 8)),
            PGOutputBytes.xLogData(
                LSN(0x210),
                PGOutputBytes.message(transactional: true, lsn: LSN(0x210), prefix: heartbeatMessagePrefix, content: "")),
            PGOutputBytes.xLogData(LSN(0x260), PGOutputBytes.commit(commitLSN: LSN(0x240), endLSN: LSN(0x260))),
        ]
        let (source, sink) = try run(PipelineTests.stream(table: "other") + heartbeat)
        #expect(sink.events.map(\.topic) == ["p.transaction", "p.transaction"])
        #expect(Self.text(sink.events[1].value).contains(#""event_count":0,"data_collections":[]"#))
        #expect(source.statuses.last?.flushed == LSN(0x260))
    }
}

/// Exactly once: a session replaying from the slot reads back the topics earlier sessions wrote and leaves out what
/// Kafka holds.
@Suite struct PipelineReplayTests {
    @Test func aReplayLeavesOutWhatKafkaHoldsAndWritesTheRest() throws {
        let directory = PipelineTests.stateDirectory()
        let config = PipelineTests.config("events: {transaction_metadata: true}", stateDirectory: directory)
        // A first session sends the transaction; Kafka acknowledges nothing before it dies.
        let first = PipelineTests.HoldingSink()
        first.acknowledge = false
        try PipelineTests().run(
            PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), first, config: config)
        #expect(first.readBack == [["p.message", "p.transaction"]], "nothing written before: the topics it would write")
        let positions = first.events.map(\.position)
        #expect(positions == (0..<4).map { EventPosition(lsn: LSN(0x180), order: $0) })

        // Kafka holds the BEGIN record and the first row: the replay sends the second row and the END record only.
        let second = PipelineTests.HoldingSink()
        second.tails = ["p.transaction": [positions[0]], "p.public.items": [positions[1]]]
        let source = PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream())
        try PipelineTests().run(source, second, config: config)
        #expect(second.readBack.map { $0.sorted() } == [["p.message", "p.public.items", "p.transaction"]])
        #expect(second.events.map(\.position) == [positions[2], positions[3]])
        #expect(second.events.map(\.topic) == ["p.public.items", "p.transaction"])
        #expect(source.statuses.last?.flushed == LSN(0x1A0), "what was left out counts as delivered")
    }

    /// `kafka.exactly_once: false`: no position header, no read-back, nothing noted in the state directory; a replay
    /// sends everything again.
    @Test func exactlyOnceOffSendsNoPositionsAndReadsNothingBack() throws {
        let directory = PipelineTests.stateDirectory()
        let config = PipelineTests.config(
            "events: {transaction_metadata: true}", kafka: ", exactly_once: false", stateDirectory: directory)
        #expect(!config.kafka.exactlyOnce)
        for _ in 0..<2 {
            let sink = PipelineTests.HoldingSink()
            sink.tails = ["p.public.items": [EventPosition(lsn: LSN(0x180), order: 1)]]
            try PipelineTests().run(
                PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), sink, config: config)
            #expect(sink.readBack.isEmpty)
            #expect(sink.events.count == 4)
            #expect(sink.events.allSatisfy { $0.position == nil })
        }
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/test.kafka.json"))
    }

    /// An earlier session's event failing only while the next session settles is a gap like any other.
    @Test func aFailureReportedWhileSettlingIsAGapToo() throws {
        let config = PipelineTests.config("", stateDirectory: PipelineTests.stateDirectory())
        let first = EventPosition(lsn: LSN(0x180), order: 0)
        var failed = ChangeEvent(topic: "p.public.items", key: nil, value: nil, operation: nil)
        failed.position = first
        let sink = PipelineTests.HoldingSink()
        sink.settleReports = [
            Delivery(token: 1, bytes: 0, failure: SinkFailure(message: "timed out", isPermanent: false, event: failed))
        ]
        // Kafka holds the second row, but the first failed: both are sent.
        sink.tails = ["p.public.items": [EventPosition(lsn: LSN(0x180), order: 1)]]
        try PipelineTests().run(
            PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), sink, config: config)
        #expect(sink.events.count == 2)
    }

    @Test func aFailedDeliveryStopsTheNextReplayFromLeavingOutAnythingAfterIt() throws {
        let directory = PipelineTests.stateDirectory()
        let config = PipelineTests.config("", stateDirectory: directory)
        let first = PipelineTests.HoldingSink()
        first.failure = PipelineTests.Failure()
        first.failOnlyTokensBelow = nil
        #expect(throws: PipelineError.self) {
            try PipelineTests().run(
                PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), first, config: config)
        }
        // Kafka says it holds the second row (written after the first one failed): the replay still sends both.
        let second = PipelineTests.HoldingSink()
        second.tails = ["p.public.items": [first.events[1].position]]
        let source = PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream())
        try PipelineTests().run(source, second, config: config)
        #expect(second.events.count == 2)
        // Once confirmed past the failure, the record of it is gone: a third replay leaves out what Kafka holds.
        let third = PipelineTests.HoldingSink()
        third.tails = ["p.public.items": [first.events[1].position]]
        try PipelineTests().run(
            PipelineTests.ScriptedSource(start: LSN(0x50), frames: PipelineTests.stream()), third, config: config)
        #expect(third.events.isEmpty)
    }
}
