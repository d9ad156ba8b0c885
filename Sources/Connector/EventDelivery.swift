import ChangeEvents
import Logging
import PGOutput

/// Sends events to the sink and follows each until Kafka reports it: the checkpoint rule (through the tracker),
/// back pressure, refused and unwritable events through `errors.mode`, and the counters the status tick publishes.
///
/// Used by the streaming loop and the snapshot run on the session's thread; not shared.
final class EventDelivery {
    /// Which positions may be confirmed; the loop begins and commits its transactions here.
    var tracker: CheckpointTracker
    private let sink: any EventSink
    private let refusalPolicy: RefusalPolicy
    private let metrics: ConnectorMetrics
    private let status: ConnectorStatus
    private let logger: Logger
    private let maxInFlight: Int
    private let maxInFlightBytes: Int
    /// Reports for tokens below this belong to an earlier session: what they carried is read again from the slot.
    private let firstToken: UInt64
    private let clock: any SessionClock

    /// Key and value bytes sent and not yet reported by Kafka.
    private(set) var inFlightBytes = 0
    /// Events Kafka refused for good, waiting for `errors.mode` to deal with them.
    private var refused: [(token: UInt64, failure: SinkFailure)] = []
    /// The first failure that ends the session (Kafka away or timed out, or a refusal under `errors.mode: fail`).
    private(set) var failure: PipelineError?
    /// Events and bytes sent since the counters were last taken, by topic and operation.
    private var eventCounts: [EventCountKey: UInt64] = [:]
    private var countRun: (key: EventCountKey, count: UInt64)?
    private var events: UInt64 = 0
    private var bytes: UInt64 = 0
    /// The connector file's transforms, applied by `submit`; set when the session starts.
    var transforms = EventTransforms()
    /// The Avro formats, applied by `submit` after the transforms; nil when both sides are JSON.
    var avro: AvroFormat?
    /// The table each data topic carries, learned from the events sent: a refused event comes back as bytes, and
    /// a topic may have lost characters of its table's name.
    private var topicTables: [String: TableName] = [:]

    /// The position the next record sent takes: its transaction's commit LSN and its order in it (snapshot rows: all
    /// `.snapshot`).
    private var nextPosition = EventPosition.snapshot
    /// While a session replays what Kafka may already hold: which records to leave out. Dropped once a record passes
    /// the highest position Kafka holds, so streaming pays nothing for it.
    var replay: ReplayGuard?
    /// Records left out because Kafka already held them, since the counters were last taken.
    private var alreadyDelivered: UInt64 = 0
    /// The topics written and the first unconfirmed failed position, kept for the next session's replay guard.
    private var ledger = ReplayLedger()
    private let ledgerFile: StateFile<ReplayLedger>
    private var knownTopics: Set<String> = []
    /// The topic of the last record sent, known to be in the ledger.
    private var lastTopic = ""
    /// Records the running replay left out so far.
    private var replaySkipped: UInt64 = 0
    /// Whether Kafka holds a record this connector streamed (not a snapshot row), as read when the session started.
    private(set) var hasStreamed = false
    /// The position headers read back when the session started, by topic and partition.
    private var tailHeaders: [String: [[UInt8]?]] = [:]
    private var partitioner: (known: Bool, keyless: Bool) = (true, true)
    private let connectorName: String
    /// `kafka.exactly_once`: records carry their position, and a replay leaves out what Kafka holds. Off, none of it.
    private let exactlyOnce: Bool
    /// The progress of the snapshot's units, carried by every snapshot row's position header.
    private var snapshotMarks = SnapshotProgressMarks()
    /// While a snapshot resumes: the rows of its unfinished units that Kafka already holds.
    private var snapshotResume: SnapshotResume?

    init(
        sink: any EventSink, config: ConnectorConfig, metrics: ConnectorMetrics, status: ConnectorStatus, logger: Logger,
        firstToken: UInt64, clock: any SessionClock
    ) {
        self.sink = sink
        self.clock = clock
        self.refusalPolicy = RefusalPolicy(config)
        self.metrics = metrics
        self.status = status
        self.logger = logger
        self.maxInFlight = config.kafka.maxInFlight
        self.maxInFlightBytes = config.kafka.maxInFlightBytes
        self.firstToken = firstToken
        self.tracker = CheckpointTracker(start: .zero, firstToken: firstToken)
        connectorName = config.name
        exactlyOnce = config.kafka.exactlyOnce
        ledgerFile = StateFile(
            directory: config.snapshot.stateDirectory, name: "\(config.name).kafka.json",
            what: "record of the topics written")
    }

    // MARK: Positions and the replay guard

    /// The records that follow belong to the transaction committing at `lsn` (or are the logical message at `lsn`).
    func startPositions(at lsn: LSN) {
        nextPosition = EventPosition(lsn: lsn, order: 0)
    }

    /// Like `startPositions`, but when the records before were at `lsn` too their order goes on: read-only incremental
    /// chunks that close at one keepalive's position each get positions of their own.
    func continuePositions(at lsn: LSN) {
        if nextPosition.isSnapshot || nextPosition.lsn != lsn { nextPosition = EventPosition(lsn: lsn, order: 0) }
    }

    /// The records that follow are snapshot rows.
    func snapshotPositions() {
        nextPosition = .snapshot
    }

    /// Records a failed delivery at `position`: until the slot is confirmed past it, no replay skips from it on (Kafka
    /// may hold records after it in the same partition, so a partition's last record no longer says what it holds).
    private func noteGap(_ position: EventPosition?) throws(ConnectorError) {
        guard let position, !position.isSnapshot else { return }
        if let gap = ledger.gapPosition, gap <= position { return }
        ledger.gapFrom = ReplayLedger.text(position)
        try ledgerFile.save(ledger)
    }

    /// The slot is confirmed up to `flush`: a failure before it no longer matters to a replay.
    func confirmed(_ flush: LSN) throws(ConnectorError) {
        guard let gap = ledger.gapPosition, flush > gap.lsn else { return }
        ledger.gapFrom = nil
        try ledgerFile.save(ledger)
    }

    /// Saves a topic not written before, before its first record goes out.
    private func noteTopic(_ topic: String) throws(ConnectorError) {
        if knownTopics.insert(topic).inserted {
            ledger.topics.append(topic)
            try ledgerFile.save(ledger)
        }
        lastTopic = topic
    }

    /// Records left out of a replay since the last call.
    func takeAlreadyDelivered() -> UInt64 {
        defer { alreadyDelivered = 0 }
        return alreadyDelivered
    }

    /// Whether reading must wait for Kafka: too many events, or too many bytes, sent and not acknowledged.
    var isBackPressured: Bool {
        tracker.inFlight >= maxInFlight || inFlightBytes >= maxInFlightBytes
    }

    /// Messages the sink holds that Kafka has not reported.
    var outstanding: Int { sink.outstanding }

    /// Before reading Kafka back: lets what earlier sessions sent land (or drops it), then reads the position of this
    /// connector's last record in each partition of the topics it has written, and guards the replay with them.
    /// Returns the guard's facts for the log; nil when there is nothing to guard.
    func startReplay(
        partitioner: (known: Bool, keyless: Bool), derivedTopics: () throws(ConnectorError) -> [String]
    ) throws(ConnectorError) -> (topics: Int, partitions: Int, highest: EventPosition)? {
        replay = nil
        snapshotResume = nil
        tailHeaders = [:]
        hasStreamed = false
        self.partitioner = partitioner
        // The record of the topics written (those a replay reads back) and of the first failed position.
        ledger = try ledgerFile.load() ?? ReplayLedger()
        knownTopics = Set(ledger.topics)
        lastTopic = ""
        // An earlier session's event that fails now may leave a gap in its partition, as one failing in its session.
        var settleError: ConnectorError?
        sink.settle(timeoutMilliseconds: 10_000) { delivery in
            guard let failure = delivery.failure, settleError == nil else { return }
            do throws(ConnectorError) { try noteGap(failure.event.position) } catch { settleError = error }
        }
        if let settleError { throw settleError }
        guard exactlyOnce, partitioner.known else { return nil }
        // The topics this connector wrote, as its state directory lists them, and those it would write to without
        // routing each row: a standby with a state directory of its own knows only those.
        var topics = ledger.topics
        for topic in try derivedTopics() where !knownTopics.contains(topic) { topics.append(topic) }
        guard !topics.isEmpty else { return nil }
        tailHeaders = try sink.lastPositionHeaders(topics: topics)
        let connector = connectorName
        let tails = tailHeaders.mapValues { $0.map { $0.flatMap { EventPosition(header: $0, connector: connector) } } }
        let guarded = ReplayGuard(tails: tails, gapFrom: ledger.gapPosition, keylessPartitionKnown: partitioner.keyless)
        guard !guarded.highest.isSnapshot else { return nil }
        hasStreamed = true
        replay = guarded
        replaySkipped = 0
        return (tails.count, tails.values.map(\.count).reduce(0, +), guarded.highest)
    }

    /// A snapshot resumes after an interruption: rows Kafka holds of its unfinished units are not sent again. Returns
    /// whether Kafka held any.
    func resumeSnapshot() -> Bool {
        guard exactlyOnce, partitioner.known else { return false }
        let resume = SnapshotResume(headers: tailHeaders, connector: connectorName, keylessPartitionKnown: partitioner.keyless)
        snapshotResume = resume.isEmpty ? nil : resume
        return snapshotResume != nil
    }

    /// The snapshot recorded `unit` done: later rows need not say how far it got.
    func snapshotUnitRecorded(_ unit: UInt64) {
        snapshotMarks.recorded(unit: unit)
    }

    /// Passes a written event through the transforms and sends what they make; an event they cannot make a record of
    /// goes through `errors.mode`.
    @inline(__always)
    func submit(_ event: consuming ChangeEvent, token: UInt64) throws {
        if transforms.isEmpty && avro == nil { return try send(event, token: token) }
        var transformed = event
        if !transforms.isEmpty {
            let kept: Bool
            do {
                kept = try transforms.apply(&transformed)
            } catch {
                return try untransformable(error, transformed, token: token)
            }
            guard kept else {
                if let warning = transforms.warning {
                    logger.warning("\(warning)", metadata: ["lsn": "\(transformed.lsn.map(\.description) ?? "?")"])
                }
                return
            }
        }
        if avro != nil {
            do throws(AvroFormat.Failure) {
                try avro?.apply(to: &transformed)
            } catch {
                switch error {
                case .refused(let reason):
                    return try refuse(
                        error, reason: reason, table: transformed.table?.description ?? transformed.topic,
                        at: transformed.lsn ?? .zero, token: token, what: "written in Avro")
                case .unavailable(let underlying):
                    throw ConnectorError(
                        .transient, "the schema registry cannot be reached (\(underlying.message)); retrying from the slot")
                case .unauthorized(let underlying):
                    throw ConnectorError(
                        .configuration,
                        "the schema registry refused the connector's credentials (\(underlying.message)); check "
                            + "schema_registry.basic_auth or bearer_token")
                }
            }
        }
        try send(transformed, token: token)
    }

    /// Gives the event the next position unless it has one (a dead letter keeps its original's), and notes its topic.
    @inline(__always)
    private func mark(_ event: inout ChangeEvent) throws(ConnectorError) {
        if event.position == nil {
            event.position = nextPosition
            if !nextPosition.isSnapshot { nextPosition.order &+= 1 }
        }
        if event.topic != lastTopic { try noteTopic(event.topic) }
    }

    /// Sends one event as part of `token`'s transaction; waits for room when librdkafka's queue is full. The event takes
    /// the next position unless it has one (a dead letter keeps its original's); one a replay finds in Kafka already is
    /// left out.
    func send(_ event: consuming ChangeEvent, token: UInt64) throws {
        if exactlyOnce { try mark(&event) }
        if let row = event.snapshotRow, exactlyOnce {
            snapshotMarks.sent(row)
            if let snapshotResume {
                // What the partition's last record said stays true of it: carried on, so that the next resume knows it.
                let inherited = snapshotResume.marks(topic: event.topic, key: event.key, partition: event.partition) ?? [:]
                if let mark = inherited[row.unit], row <= mark {
                    alreadyDelivered += 1
                    return
                }
                event.snapshotMark = snapshotMarks.bytes(merging: inherited)
            } else {
                event.snapshotMark = snapshotMarks.bytes
            }
        } else if let replay, let position = event.position {
            if position > replay.highest {
                self.replay = nil
                logger.info(
                    "replay over: records Kafka already held were not written again; every record from here on is new",
                    metadata: ["left_out": "\(replaySkipped)", "at": "\(position)"])
            } else if replay.holds(topic: event.topic, key: event.key, partition: event.partition, at: position) {
                alreadyDelivered += 1
                replaySkipped += 1
                return
            }
        }
        while true {
            do {
                try sink.send(event, token: token)
                let size = (event.key?.count ?? 0) + (event.value?.count ?? 0)
                tracker.sent(token: token)
                inFlightBytes += size
                events += 1
                count(event)
                bytes += UInt64(size)
                return
            } catch .queueFull {
                // librdkafka's queue is full: wait for deliveries to make room (back pressure).
                poll(timeoutMilliseconds: 100)
                try check()
            } catch .refused(let failure) {
                // Refused before it was queued (larger than message.max.bytes): counts as sent, then refused.
                try noteGap(event.position)
                tracker.sent(token: token)
                refused.append((token, failure))
                try check()
                return
            } catch .failed(let error) {
                throw error
            }
        }
    }

    /// Reads the sink's delivery reports (waiting up to the timeout for the first) into the tracker.
    func poll(timeoutMilliseconds: Int) {
        sink.poll(timeoutMilliseconds: timeoutMilliseconds) { delivery in
            guard delivery.token >= firstToken else { return }
            inFlightBytes -= delivery.bytes
            guard let failure = delivery.failure else {
                tracker.delivered(token: delivery.token)
                return
            }
            metrics.countDeliveryError()
            status.update { $0.deliveryErrors += 1 }
            do {
                try noteGap(failure.event.position)
            } catch {
                if self.failure == nil { self.failure = .delivery(underlying: error) }
            }
            if failure.isPermanent {
                refused.append((delivery.token, failure))
            } else if self.failure == nil {
                // Timed out or the cluster is gone: a new session reads the event again from the slot.
                self.failure = .delivery(underlying: failure)
            }
        }
    }

    /// Throws the first delivery failure; deals with refused events as `errors.mode` says.
    func check() throws {
        if let failure { throw failure }
        while !refused.isEmpty {
            let (token, failure) = refused.removeFirst()
            // An event refused before it was queued has its facts; one Kafka refused later comes back as bytes, and its
            // table is known by its topic, its position by its transaction.
            let lsn = failure.event.lsn ?? tracker.endLSN(token: token)
            let table = (failure.event.table ?? topicTables[failure.event.topic])?.description ?? failure.event.topic
            switch refusalPolicy.action(for: failure, lsn: lsn, table: table) {
            case .fail:
                let error = PipelineError.refused(lsn: lsn, table: table, underlying: failure)
                self.failure = error
                throw error
            case .skip:
                logger.error(
                    "Kafka refused an event; skipped as errors.mode is skip",
                    metadata: [
                        "error": "\(failure.message)", "topic": "\(failure.event.topic)",
                        "lsn": "\(lsn.map(\.description) ?? "?")",
                    ])
                metrics.countRefused(mode: "skip")
                status.update { $0.eventsSkipped += 1 }
                tracker.delivered(token: token)
            case .deadLetter(let letter):
                logger.error(
                    "Kafka refused an event; sent to the dead-letter topic",
                    metadata: [
                        "error": "\(failure.message)", "topic": "\(failure.event.topic)",
                        "dead_letter_topic": "\(letter.topic)", "lsn": "\(lsn.map(\.description) ?? "?")",
                    ])
                metrics.countRefused(mode: "dead_letter")
                status.update { $0.eventsDeadLettered += 1 }
                // The copy joins the event's transaction before the original leaves it, so the slot cannot move past both.
                try send(letter, token: token)
                tracker.delivered(token: token)
            case .deadLetterWithoutValue(let letter):
                // The copy joins the event's transaction before the original leaves it, so the slot cannot move past both.
                try send(letter, token: token)
                tracker.delivered(token: token)
            }
        }
    }

    /// A change whose values its columns' types cannot produce goes through `errors.mode` as a refused event does;
    /// any other encoding failure (a relation never described, a row of the wrong width) ends the session.
    func unwritable(_ error: EventEncodingError, at lsn: LSN, token: UInt64) throws {
        let table: String
        switch error {
        case .unparseableValue(let name, _, _, _), .unrepresentable(let name, _, _): table = name
        default: throw PipelineError.encode(lsn: lsn, underlying: error)
        }
        try refuse(error, reason: error.description, table: table, at: lsn, token: token, what: "written as an event")
    }

    /// An event a transform cannot make its record of: through `errors.mode`, as an unwritable change.
    private func untransformable(_ error: TransformError, _ event: ChangeEvent, token: UInt64) throws {
        try refuse(
            error, reason: error.message, table: event.table?.description ?? event.topic, at: event.lsn ?? .zero,
            token: token, what: "made a record by a transform")
    }

    /// Carries out `errors.mode` for a change that cannot go out: stop, skip it, or send its facts as a dead letter
    /// under its transaction's token.
    private func refuse(
        _ error: any Error, reason: String, table: String, at lsn: LSN, token: UInt64, what: String
    ) throws {
        switch refusalPolicy.action(forUnwritable: reason, table: table, lsn: lsn) {
        case .fail:
            throw PipelineError.unwritable(lsn: lsn, underlying: error)
        case .skip:
            logger.error(
                "a change could not be \(what); skipped as errors.mode is skip",
                metadata: ["error": "\(error)", "lsn": "\(lsn)"])
            metrics.countRefused(mode: "skip")
            status.update { $0.eventsSkipped += 1 }
        case .deadLetter(let letter), .deadLetterWithoutValue(let letter):
            logger.error(
                "a change could not be \(what); its facts go to the dead-letter topic",
                metadata: ["error": "\(error)", "lsn": "\(lsn)", "dead_letter_topic": "\(letter.topic)"])
            metrics.countRefused(mode: "dead_letter")
            status.update { $0.eventsDeadLettered += 1 }
            try send(letter, token: token)
        }
    }

    /// Waits until Kafka has reported everything in flight, or the deadline passes, or a delivery fails, or the stop
    /// becomes urgent.
    func drain(until deadline: ContinuousClock.Instant, stop: StopSignal) {
        while sink.outstanding > 0 && tracker.inFlight > 0 && clock.now < deadline && !stop.isUrgent {
            poll(timeoutMilliseconds: 100)
            if failure != nil { break }
            do { try check() } catch { break }
        }
        poll(timeoutMilliseconds: 0)
    }

    /// What was sent since the last call: event and byte totals, and events per table (or topic) and operation.
    func takeCounts(topicPrefix: String) -> (events: UInt64, bytes: UInt64, perTable: [EventCount]) {
        flushCountRun()
        let prefix = topicPrefix + "."
        let perTable = eventCounts.map { key, count in
            // A table's own name (its topic may have lost characters a topic cannot hold); for other topics (logical
            // messages, dead letters) what follows the prefix.
            let table =
                topicTables[key.topic]?.description
                ?? (key.topic.hasPrefix(prefix) ? String(key.topic.dropFirst(prefix.count)) : key.topic)
            // Without an operation: a tombstone, or a record of no change (a transaction's BEGIN or END).
            return EventCount(
                table: table, op: key.op?.rawValue ?? (key.hasValue ? "transaction" : "tombstone"), count: count)
        }
        eventCounts.removeAll(keepingCapacity: true)
        defer {
            events = 0
            bytes = 0
        }
        return (events, bytes, perTable)
    }

    /// Counts per topic and operation, without hashing the topic for each event: runs of the same key are summed first.
    @inline(__always)
    private func count(_ event: ChangeEvent) {
        if let key = countRun?.key, key.op == event.operation, key.topic == event.topic,
            key.hasValue == (event.value != nil)
        {
            countRun!.count += 1
        } else {
            flushCountRun()
            countRun = (EventCountKey(topic: event.topic, op: event.operation, hasValue: event.value != nil), 1)
            if let table = event.table { topicTables[event.topic] = table }
        }
    }

    private func flushCountRun() {
        if let run = countRun { eventCounts[run.key, default: 0] += run.count }
        countRun = nil
    }
}

/// Events of one table (or topic) and operation, as the metrics count them.
struct EventCount {
    var table: String
    var op: String
    var count: UInt64
}

/// Events counted by topic and operation between two status ticks.
struct EventCountKey: Hashable {
    var topic: String
    /// nil for a tombstone, and for a transaction's `BEGIN` or `END` record.
    var op: ChangeOperation?
    /// False for a tombstone.
    var hasValue: Bool
}
