import ChangeEvents
import Foundation
public import Logging
import PGOutput
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One streaming session: reads the slot, writes events to the sink, confirms what Kafka acknowledged.
///
/// Runs on the thread that calls `run()`: decode, encode and produce happen there with no
/// hop between tasks. Not `Sendable`: other threads reach it only through its `stopSignal`.
public final class Pipeline {
    public let config: ConnectorConfig
    private let source: any ChangeSource
    private let status: ConnectorStatus
    private let metrics: ConnectorMetrics
    private let logger: Logger
    /// Another thread's way to stop this session.
    public let stopSignal: StopSignal
    /// How long shutdown waits for Kafka to acknowledge what is in flight.
    private let drainTimeout: Duration
    /// The time the schedule and the bounded waits go by.
    private let clock: any SessionClock

    /// Sends events, follows their deliveries and keeps the checkpoint tracker.
    private let delivery: EventDelivery
    private var builder: ChangeEventBuilder
    private var capturedRelations: Set<UInt32> = []
    private var openToken: UInt64?
    private var received = LSN.zero
    /// The server's end of WAL, from XLogData and keepalive headers.
    private var serverLSN = LSN.zero
    /// Commit time of the newest transaction read.
    private var lastCommitMicros: Int64 = 0
    /// The processing time stamped on events (`ts_ms`): read when a transaction arrives, when reading had to wait,
    /// and every 64 frames, rather than once per event.
    private var eventClockNanos: Int64 = Pipeline.wallClockNanos()
    /// When to send status updates, check the slot, run heartbeats and give a silent server up.
    private var schedule: StreamSchedule
    /// The slot record, saved before a status update confirms past it; nil until the session has opened the slot.
    private var slotGuard: SlotGuard?
    private let tableFilter: TableFilter
    /// Names this session in Debezium's `__debezium.context.runId` header.
    private let runID: String
    /// Reads transactions' context messages, when `correlation` is set.
    private let context: TransactionContext?
    /// The open transaction's context headers, from its context message.
    private var contextHeaders: [ChangeEvent.Header] = []
    /// The incremental snapshot under way (signals), its reader connection, and the signal table's relation.
    private var incremental = IncrementalSnapshot()
    private var incrementalReader: (any SnapshotSource)?
    private var incrementalRelation: Relation?
    private var incrementalChunkCount = 0
    private var signalRelationOID: UInt32?
    /// The incremental snapshot as far as Kafka acknowledged it (what a restart resumes from), the file it is kept in,
    /// and the states after chunks whose rows are not acknowledged yet.
    private var incrementalConfirmed = IncrementalSnapshot()
    private lazy var incrementalFile = StateFile<IncrementalSnapshot.Saved>(
        directory: config.snapshot.stateDirectory, name: "\(config.name).incremental.json",
        what: "incremental snapshot state")
    private var incrementalCheckpoints: [(token: UInt64, state: IncrementalSnapshot)] = []
    /// The current table's planner estimate, for progress.
    private var incrementalEstimate: Int64 = 0
    /// Signals from the HTTP endpoint.
    private let signalInbox: SignalInbox?
    /// The read-only incremental snapshot's window (`incremental_snapshot.read_only`): the chunk's snapshot, whose unseen
    /// transactions' changes drop rows from it, and the WAL position the stream must pass before it goes out.
    private var readOnlyWindow: (id: String, visibility: ChunkVisibility, until: LSN)?
    /// When a keepalive was last asked for so that a read-only window can close on a quiet stream.
    private var readOnlyKeepaliveAsked = ContinuousClock.now
    /// The open transaction's id, and the ids of the last transactions read (a chunk's snapshot that still counts one
    /// of them as running is taken again).
    private var openXid: UInt32 = 0
    /// The open transaction's commit position (its Begin's final LSN).
    private var openCommitLSN: LSN = .zero
    private var recentXids: [UInt32] = []
    private var recentXidsNext = 0

    /// - Parameters:
    ///   - firstToken: start of this session's delivery tokens; reports for older ones are ignored.
    ///   - drainTimeout: how long a stop waits for Kafka to acknowledge what is in flight.
    ///   - clock: the time the status schedule, heartbeats, silence and the drain go by.
    public init(
        config: ConnectorConfig, source: any ChangeSource, sink: any EventSink, status: ConnectorStatus, logger: Logger,
        firstToken: UInt64 = 1, stopSignal: StopSignal = StopSignal(), drainTimeout: Duration = .seconds(30),
        clock: any SessionClock = SystemSessionClock(), registry: (any SchemaRegistry)? = nil,
        signals: SignalInbox? = nil
    ) {
        self.registry = registry
        self.signalInbox = signals
        self.stopSignal = stopSignal
        self.drainTimeout = drainTimeout
        self.clock = clock
        self.metrics = ConnectorMetrics(connector: config.name)
        self.config = config
        self.source = source
        self.status = status
        self.logger = logger
        self.delivery = EventDelivery(
            sink: sink, config: config, metrics: metrics, status: status, logger: logger, firstToken: firstToken,
            clock: clock)
        self.runID = RunIdentifier.make()
        self.context = config.correlation.map { TransactionContext(correlation: $0) }
        self.avroIDs = AvroFormat.builderWritesAvro(config) ? AvroSchemaIDs() : nil
        self.builder = ChangeEventBuilder(settings: Self.settings(config, database: "", runID: runID, avro: avroIDs))
        self.tableFilter = TableFilter(config.postgres)
        self.schedule = StreamSchedule(
            statusInterval: config.postgres.statusInterval, receiveTimeout: config.postgres.receiveTimeout,
            heartbeatInterval: config.heartbeat.interval, now: clock.now)
    }

    /// `avro`: where the builder finds the ids of the Avro schemas it writes, when it writes Avro itself.
    static func settings(
        _ config: ConnectorConfig, database: String, runID: String, avro: AvroSchemaIDs? = nil
    ) -> EventSettings {
        EventSettings(
            topicPrefix: config.kafka.topicPrefix, databaseName: database,
            schemas: config.events.schemas || config.events.usesAvro,
            tombstones: config.events.tombstones, skippedOperations: config.events.skippedOperations,
            version: TributaryVersion.current, values: config.events.values,
            contextHeaders: config.events.contextHeaders
                ? ChangeEvent.Header.debeziumContext(logicalName: config.kafka.topicPrefix, runID: runID) : [],
            envelopeLayouts: !config.transforms.isEmpty || config.events.format == .cloudevents,
            transactionTopic: config.events.transactionMetadata
                ? config.events.transactionTopic ?? "\(config.kafka.topicPrefix).transaction" : nil,
            avro: avro)
    }

    /// Where the Avro formats register their schemas.
    private let registry: (any SchemaRegistry)?
    /// The schema ids the builder writes into the events it writes in Avro itself (nil when it writes JSON).
    private let avroIDs: AvroSchemaIDs?

    /// The first token a following session may use.
    public var nextToken: UInt64 { delivery.tracker.tokenWatermark }

    /// Asks `run()` to stop reading, drain Kafka, confirm and return (from this thread; others use `stopSignal`).
    public func requestStop() {
        stopSignal.request()
    }

    public var isStopRequested: Bool { stopSignal.isRequested }

    /// Streams until `requestStop()` or an error. On a clean stop it waits (bounded) for Kafka,
    /// sends the final standby status and closes the stream.
    public func run() throws {
        defer {
            incrementalReader?.close()
            source.close()
        }
        delivery.transforms = try EventTransforms(
            config.transforms, schemas: config.events.schemas || config.events.usesAvro,
            cloudEvents: config.events.format == .cloudevents ? config.events.cloudEvents : nil)
        if config.events.usesAvro {
            guard let registry else {
                throw ConnectorError(.configuration, "events use Avro but no schema registry client was given")
            }
            delivery.avro = AvroFormat(config: config, registry: registry, metrics: metrics, builderIDs: avroIDs)
        }
        let observation = try source.inspect()
        var slotGuard = try SlotGuard(config: config, metrics: metrics, logger: logger)
        let recovery = try slotGuard.admit(observation, nowNanos: Self.wallClockNanos())
        let position = try source.open(
            exportSnapshot: config.snapshot.mode != .noData || recovery.snapshot, replacingSlot: recovery.replaceSlot)
        try slotGuard.started(observation, at: position, nowNanos: Self.wallClockNanos())
        self.slotGuard = slotGuard
        if !config.postgres.messageKeyColumns.isEmpty || !config.postgres.columnFilter.isEmpty { try checkTableSettings() }
        delivery.tracker = CheckpointTracker(start: position.start, firstToken: delivery.tracker.tokenWatermark)
        try startReplay()
        builder = ChangeEventBuilder(
            settings: Self.settings(config, database: position.databaseName, runID: runID, avro: avroIDs),
            lastCommitLSN: position.slotCreated ? nil : position.start)
        received = position.start
        schedule.started(at: position.start)

        let snapshot = SnapshotRun(
            config: config, source: source, delivery: delivery, status: status, logger: logger, stopSignal: stopSignal,
            drainTimeout: drainTimeout, clock: clock)
        if let plan = try snapshot.plan(position, again: recovery.snapshot, filter: tableFilter) {
            let finished = try snapshot.run(plan, at: position, builder: &builder)
            builder.endSnapshot(lastCommitLSN: position.slotCreated ? nil : position.start)
            if !finished || isStopRequested {
                try drain()
                return
            }
            if config.snapshot.mode == .initialOnly {
                logger.info("snapshot complete; snapshot.mode is initial_only, so the connector stops here")
                return
            }
        } else if config.snapshot.mode == .initialOnly {
            logger.info("snapshot already complete; snapshot.mode is initial_only, so the connector stops here")
            return
        }
        try source.startStreaming()
        status.update {
            $0.state = .streaming
            $0.receivedLSN = position.start
            $0.flushedLSN = position.start
            $0.lastError = nil
        }
        logger.info(
            "streaming",
            metadata: [
                "slot": "\(config.postgres.slot)", "from": "\(position.start)",
                "slot_created": "\(position.slotCreated)",
            ])
        try resumeIncrementalSnapshot()

        var framesSincePoll = 0
        // How long to wait for a frame: only matters when none is ready, so it is worked out when one was not.
        var readTimeout = 1
        while !isStopRequested {
            if framesSincePoll >= 64 {
                delivery.poll(timeoutMilliseconds: 0)
                framesSincePoll = 0
            }
            try delivery.check()
            while delivery.isBackPressured && !isStopRequested {
                // Kafka is behind (or away): stop reading until it catches up, but keep the server connection alive.
                delivery.poll(timeoutMilliseconds: 100)
                try delivery.check()
                try sendStatusIfDue()
                schedule.heard()
            }
            if framesSincePoll == 0 && schedule.heartbeatDue(now: clock.now) { try heartbeat() }
            guard let bytes = try source.nextFrame(timeoutMilliseconds: readTimeout) else {
                eventClockNanos = Self.wallClockNanos()
                delivery.poll(timeoutMilliseconds: 0)
                framesSincePoll = 0
                try delivery.check()
                try checkSilence()
                try sendStatusIfDue()
                try askForReadOnlyWatermark()
                readTimeout = schedule.readTimeoutMilliseconds(
                    now: clock.now, awaitingAcknowledgements: delivery.tracker.inFlight > 0)
                continue
            }
            framesSincePoll += 1
            schedule.heard()
            try handle(frame: bytes)
            // Reading the clock for every frame shows in profiles: while frames keep coming, check every 64.
            if framesSincePoll & 63 == 0 {
                eventClockNanos = Self.wallClockNanos()
                try sendStatusIfDue()
            }
        }
        try drain()
    }

    // MARK: Frames

    private func handle(frame bytes: [UInt8]) throws {
        let frame: ReplicationFrame
        do {
            frame = try ReplicationFrame.decode(bytes)
        } catch {
            throw PipelineError.decode(lsn: nil, messageType: bytes.first, payload: bytes, underlying: error)
        }
        switch frame {
        case .keepalive(let keepalive):
            delivery.tracker.serverSent(upTo: keepalive.walEnd)
            received = max(received, keepalive.walEnd)
            serverLSN = max(serverLSN, keepalive.walEnd)
            if keepalive.replyRequested { try sendStatus() }
            if openToken == nil { try closeReadOnlyWindow(at: keepalive.walEnd) }
        case .xLogData(let data):
            received = max(received, data.walStart)
            serverLSN = max(serverLSN, data.walEnd)
            let message: LogicalMessage
            do {
                message = try data.message()
            } catch {
                throw PipelineError.decode(
                    lsn: data.walStart, messageType: data.bytes.count > data.messageStart ? data.bytes[data.messageStart] : nil,
                    payload: Array(data.bytes[data.messageStart...]), underlying: error)
            }
            try handle(message, at: data.walStart)
        }
    }

    private func handle(_ message: LogicalMessage, at lsn: LSN) throws {
        switch message {
        case .begin(let begin):
            // Events of a transaction are never stamped before it arrived.
            eventClockNanos = Self.wallClockNanos()
            builder.begin(begin, at: lsn)
            openXid = begin.xid
            openCommitLSN = begin.finalLSN
            delivery.startPositions(at: begin.finalLSN)
            lastCommitMicros = begin.commitTimeMicros
            openToken = delivery.tracker.begin()
        case .commit(let commit):
            contextHeaders = []
            let end = builder.commit(commit, at: lsn)
            if let token = openToken {
                if let end { try delivery.submit(end, token: token) }
                delivery.tracker.commit(token: token, endLSN: commit.endLSN)
            }
            openToken = nil
            if config.incrementalSnapshot.readOnly {
                noteCommitted(openXid)
                try closeReadOnlyWindow(at: max(lsn, commit.endLSN))
            }
        case .origin(let origin):
            builder.setOrigin(origin)
        case .relation(let relation):
            let metadata = try config.postgres.shaped(
                source.tableMetadata(relationOID: relation.oid), relation: relation)
            do {
                try builder.register(relation, metadata: metadata)
            } catch {
                throw PipelineError.encode(lsn: lsn, underlying: error)
            }
            let table = TableName(schema: relation.namespace, name: relation.name)
            if table == config.signals.dataCollection { signalRelationOID = relation.oid }
            if table == incremental.current?.name, let known = incrementalRelation,
                known.columns.map({ "\($0.name) \($0.typeOID) \($0.typeModifier)" })
                    != relation.columns.map({ "\($0.name) \($0.typeOID) \($0.typeModifier)" })
            {
                // The table changed under a waiting chunk: read it again with the new columns.
                incremental.discardWindow()
                readOnlyWindow = nil
                incrementalRelation = nil
                try readChunks()
            }
            if tableFilter.captures(table) {
                capturedRelations.insert(relation.oid)
            } else {
                capturedRelations.remove(relation.oid)
            }
            logger.debug(
                "relation", metadata: ["table": "\(table)", "primary_key": "\(metadata.primaryKey)", "oid": "\(relation.oid)"])
        case .type:
            break
        case .insert(let change):
            try beginRecord(at: lsn)
            if change.relationOID == signalRelationOID { try readSignal(change.new, at: lsn) }
            guard capturedRelations.contains(change.relationOID) else { return }
            if incremental.window?.isOpen == true, changeIsNewerThanChunk { dropFromWindow(change.relationOID, [change.new]) }
            try emit(message, at: lsn, token: try transactionToken(lsn))
        case .update(let change):
            try beginRecord(at: lsn)
            guard capturedRelations.contains(change.relationOID) else { return }
            if incremental.window?.isOpen == true, changeIsNewerThanChunk {
                switch change.old {
                case .key(let old), .full(let old): dropFromWindow(change.relationOID, [old, change.new])
                case nil: dropFromWindow(change.relationOID, [change.new])
                }
            }
            try emit(message, at: lsn, token: try transactionToken(lsn))
        case .delete(let change):
            try beginRecord(at: lsn)
            guard capturedRelations.contains(change.relationOID) else { return }
            if incremental.window?.isOpen == true, changeIsNewerThanChunk {
                switch change.old {
                case .key(let old), .full(let old): dropFromWindow(change.relationOID, [old])
                }
            }
            try emit(message, at: lsn, token: try transactionToken(lsn))
        case .truncate(var truncate):
            try beginRecord(at: lsn)
            truncate.relationOIDs = truncate.relationOIDs.filter { capturedRelations.contains($0) }
            guard !truncate.relationOIDs.isEmpty else { return }
            try emit(.truncate(truncate), at: lsn, token: try transactionToken(lsn))
        case .message(let decodingMessage):
            // A heartbeat's own message only moves the position; it is not an event.
            if decodingMessage.prefix == heartbeatMessagePrefix { return }
            if decodingMessage.prefix == incrementalSnapshotOpenPrefix
                || decodingMessage.prefix == incrementalSnapshotClosePrefix
            {
                return try watermark(decodingMessage, at: decodingMessage.lsn)
            }
            if let context, decodingMessage.prefix == context.correlation.messagePrefix {
                return readContext(decodingMessage, context)
            }
            if decodingMessage.isTransactional {
                try beginRecord(at: lsn)
                try emit(message, at: decodingMessage.lsn, token: try transactionToken(lsn))
            } else {
                // Sent outside any transaction: a transaction of its own, confirmable at its LSN.
                let token = delivery.tracker.begin()
                delivery.startPositions(at: decodingMessage.lsn)
                try emit(message, at: decodingMessage.lsn, token: token)
                delivery.tracker.commit(token: token, endLSN: decodingMessage.lsn)
            }
        }
    }

    /// Takes a transaction's context message: its headers go on every event of the transaction that follows it.
    private func readContext(_ message: DecodingMessage, _ context: TransactionContext) {
        guard message.isTransactional, openToken != nil else {
            logger.warning(
                """
                a context message was sent outside a transaction, so no event carries it; send it with \
                pg_logical_emit_message(true, …) inside the transaction
                """,
                metadata: ["lsn": "\(message.lsn)", "prefix": "\(message.prefix)"])
            return
        }
        do {
            contextHeaders = try context.headers(from: message.content)
        } catch {
            logger.warning(
                "a context message cannot be read, so the transaction's events carry no context: \(error)",
                metadata: ["lsn": "\(message.lsn)", "prefix": "\(message.prefix)"])
        }
    }

    /// Stops at the start when `message_key_columns` names a column a captured table does not have, or a column filter
    /// leaves out a key column or has a pattern that matches no column.
    private func checkTableSettings() throws {
        let reader = try source.makeSnapshotReader()
        defer { reader.close() }
        var columns: [(table: TableName, columns: [String])] = []
        for table in try source.snapshotTables().filter(tableFilter.captures) {
            let relation = try reader.relation(for: table)
            _ = try config.postgres.shaped(source.tableMetadata(relationOID: relation.oid), relation: relation)
            columns.append((table, try reader.allColumns(of: table)))
        }
        if let (key, pattern) = config.postgres.columnFilter.unmatchedPattern(columns) {
            throw ConnectorError(
                .configuration,
                "postgres.\(key): '\(pattern)' matches no column of the captured tables (patterns are matched whole "
                    + "against schema.table.column, ignoring case); fix or remove it")
        }
    }

    /// Reads back where this connector's records end in Kafka, so that the replay from the slot leaves out what Kafka
    /// already holds (see `ReplayGuard`).
    private func startReplay() throws {
        let partitioner = ReplayGuard.partitioner(config.kafka.properties)
        if !partitioner.known {
            logger.warning(
                """
                kafka.properties sets a partitioner whose choices Tributary cannot work out, so a replay from the slot \
                writes again what Kafka already holds (duplicates after a crash); use murmur2 (the default) or \
                murmur2_random for exactly-once delivery
                """)
        }
        let started = ContinuousClock.now
        let derived = { () throws(ConnectorError) -> [String] in try self.derivedTopics() }
        guard let replay = try delivery.startReplay(partitioner: partitioner, derivedTopics: derived) else { return }
        logger.info(
            "read back this connector's last record in each partition; records at or below it are not written again",
            metadata: [
                "topics": "\(replay.topics)", "partitions": "\(replay.partitions)", "highest": "\(replay.highest)",
                "milliseconds": "\((ContinuousClock.now - started) / .milliseconds(1))",
            ])
    }

    /// The topics this connector writes that follow from its file and the captured tables (after the routers): every
    /// captured table's, the logical messages', the transaction records' and the dead letters'.
    private func derivedTopics() throws(ConnectorError) -> [String] {
        let prefix = config.kafka.topicPrefix
        var topics = try source.snapshotTables().filter(tableFilter.captures).map {
            TableSchema.topicName("\(prefix).\($0.schema).\($0.name)")
        }
        topics.append("\(prefix).message")
        if config.events.transactionMetadata { topics.append(config.events.transactionTopic ?? "\(prefix).transaction") }
        var seen: Set<String> = []
        var result: [String] = []
        for topic in topics.map({ delivery.transforms.routedTopic($0) }) where seen.insert(topic).inserted {
            result.append(topic)
        }
        if config.errors.mode == .deadLetter { result.append(config.errors.deadLetterTopic ?? "\(prefix).dlq") }
        return result
    }

    /// Sends the open transaction's `BEGIN` record (transaction metadata on) before its first change, captured or not,
    /// as Debezium writes one for every transaction the server sends; a transaction holding only Tributary's heartbeat
    /// or context messages gets none. The record joins the transaction: the slot passes it only once Kafka has it.
    private func beginRecord(at lsn: LSN) throws {
        guard let record = builder.transactionBegin() else { return }
        try delivery.submit(record, token: try transactionToken(lsn))
    }

    private func transactionToken(_ lsn: LSN) throws -> UInt64 {
        guard let openToken else {
            throw PipelineError.decode(
                lsn: lsn, messageType: nil, payload: [],
                underlying: .invalidLength(field: "change outside a transaction", value: 0, offset: 0))
        }
        return openToken
    }

    private func emit(_ message: LogicalMessage, at lsn: LSN, token: UInt64) throws {
        do {
            try builder.events(for: message, at: lsn, nowNanos: eventClockNanos) { event in
                if contextHeaders.isEmpty { return try delivery.submit(event, token: token) }
                var withContext = event
                withContext.headers += contextHeaders
                try delivery.submit(withContext, token: token)
            }
        } catch let error as EventEncodingError {
            try delivery.unwritable(error, at: lsn, token: token)
        }
    }

    /// Runs `heartbeat.action_query` (or emits a logical message); the schedule says when.
    private func heartbeat() throws {
        do {
            try source.heartbeat(actionQuery: config.heartbeat.actionQuery)
        } catch let error where error.kind == .transient {
            throw error  // the catalog connection is gone: a new session opens another
        } catch {
            logger.warning(
                "heartbeat failed; check heartbeat.action_query and that the connector's role may run it",
                metadata: ["error": "\(error)"])
        }
    }

    /// Carries out what the schedule says is due: the liveness tick, the slot check, the status update; and signals
    /// posted from outside the stream.
    private func sendStatusIfDue() throws {
        if let signalInbox {
            for signal in signalInbox.take() { try act(on: signal, at: received) }
        }
        let now = clock.now
        let due = schedule.due(now: now, flush: delivery.tracker.flushPosition)
        if due.contains(.liveness) { status.update { $0.heartbeat = now } }
        if due.contains(.slotCheck) { try checkSlot() }
        if due.contains(.status) { try sendStatus() }
    }

    /// A quiet stream is normal; a silent server is not: the schedule says when to ask for a keepalive, and when
    /// to give the connection up.
    private func checkSilence() throws {
        switch schedule.quiet(now: clock.now) {
        case .wait: break
        case .askForKeepalive: try sendStatus(replyRequested: true)
        case .giveUp: throw PipelineError.silentServer(timeout: config.postgres.receiveTimeout)
        }
    }

    private func sendStatus(replyRequested: Bool = false) throws {
        let flush = delivery.tracker.flushPosition
        // Recorded first: the record never falls behind the slot, so a slot found further on was moved by another.
        try slotGuard?.confirming(flush, nowNanos: Self.wallClockNanos())
        try delivery.confirmed(flush)
        try recordIncrementalProgress()
        try source.send(
            StandbyStatusUpdate(
                written: max(received, flush), flushed: flush, applied: flush,
                clockMicros: Self.wallClockNanos() / 1000, replyRequested: replyRequested))
        schedule.statusSent(now: clock.now, flush: flush)
        publishStatus()
    }

    /// A `filtered` publication set from regular-expression lists holds the tables that matched at the start; a table
    /// created since that matches ends the session, so that the next one adds it to the publication within seconds
    /// instead of leaving it out until someone restarts the connector.
    private func checkPublication() throws {
        guard config.postgres.publicationMode == .filtered, tableFilter.hasPatterns else { return }
        let missing = try source.unpublishedTables()
        guard !missing.isEmpty else { return }
        let names = missing.map(\.description).joined(separator: ", ")
        logger.error(
            """
            \(names) match the connector's table lists but are not in publication \(config.postgres.publication), which \
            publication_mode filtered sets at each start: the session restarts to add them. Their changes committed \
            before that are not captured; publication_mode all_tables captures new tables from their first row
            """)
        throw ConnectorError(
            .transient, "tables created since the start match the connector's lists (\(names)): restarting to publish them")
    }

    /// Reads how much WAL the slot holds back and whether the server may drop it, for `/status` and `/metrics`.
    /// Throws when the catalog connection is gone, or a new table must join the publication: both end the session.
    private func checkSlot() throws {
        try checkPublication()
        do {
            guard let health = try source.slotHealth() else { return }
            status.update { $0.slotHealth = health }
            metrics.record(health)
            if health.walStatus == "lost" || health.walStatus == "unreserved" {
                logger.error(
                    "the server is dropping WAL this slot needs (wal_status \(health.walStatus)); raise max_slot_wal_keep_size",
                    metadata: ["retained_bytes": "\(health.retainedBytes)"])
            }
        } catch let error where error.kind == .transient {
            throw error
        } catch {
            logger.debug("cannot read the slot's WAL retention", metadata: ["error": "\(error)"])
        }
    }

    /// Copies the counters to the shared status and the metrics.
    private func publishStatus() {
        let flush = delivery.tracker.flushPosition
        let counts = delivery.takeCounts(topicPrefix: config.kafka.topicPrefix)
        let alreadyDelivered = delivery.takeAlreadyDelivered()
        metrics.countAlreadyDelivered(alreadyDelivered)
        let received = self.received
        let server = max(serverLSN, received)
        let caughtUp = delivery.tracker.inFlight == 0 && delivery.tracker.openTransactions == 0 && received >= serverLSN
        let lag = caughtUp || lastCommitMicros == 0 ? 0 : max(0, Self.wallClockNanos() / 1_000_000 - lastCommitMicros / 1000)
        let inFlight = delivery.tracker.inFlight
        let inFlightBytes = delivery.inFlightBytes
        let snapshot = status.update {
            $0.receivedLSN = max(received, flush)
            $0.flushedLSN = flush
            $0.serverLSN = server
            $0.lagMilliseconds = lag
            $0.eventsTotal += counts.events
            $0.bytesProduced += counts.bytes
            $0.eventsAlreadyDelivered += alreadyDelivered
            $0.inFlight = inFlight
            $0.inFlightBytes = inFlightBytes
            $0.heartbeat = clock.now
            return $0
        }
        for count in counts.perTable { metrics.countEvents(table: count.table, op: count.op, count: count.count) }
        metrics.countBytes(counts.bytes)
        metrics.record(snapshot)
    }

    /// Waits (bounded) for Kafka to acknowledge what is in flight, then confirms it.
    private func drain() throws {
        delivery.drain(until: clock.now + drainTimeout, stop: stopSignal)
        try sendStatus()
        if delivery.tracker.inFlight > 0 {
            logger.warning(
                "stopped with events unacknowledged; they will be sent again on restart",
                metadata: ["in_flight": "\(delivery.tracker.inFlight)", "confirmed": "\(delivery.tracker.flushPosition)"])
        } else {
            logger.info("stopped", metadata: ["confirmed": "\(delivery.tracker.flushPosition)"])
        }
    }

    static func wallClockNanos() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}

public enum TributaryVersion {
    public static let current = "0.1.0"
}

// MARK: Signals and incremental snapshots

extension Pipeline {
    /// A row of the signal table: the signal it holds, acted on; a malformed one is logged with its id, counted and
    /// skipped.
    private func readSignal(_ sent: TupleData, at lsn: LSN) throws {
        guard let oid = signalRelationOID, let relation = builder.table(oid: oid)?.relation else { return }
        // Its values as text (pgoutput's binary mode sends them in their send format).
        let row: TupleData
        do {
            row = try builder.textual(sent, relationOID: oid)
        } catch {
            throw PipelineError.encode(lsn: lsn, underlying: error)
        }
        func column(_ name: String) -> String? {
            relation.columns.firstIndex { $0.name == name }.flatMap { $0 < row.count ? row.text($0) : nil }
        }
        let signal = Signal(id: column("id") ?? "", type: column("type") ?? "", data: column("data"))
        try act(on: signal, at: lsn)
    }

    /// Resumes an incremental snapshot a previous run left (from its last chunk Kafka acknowledged).
    private func resumeIncrementalSnapshot() throws {
        guard let saved = try incrementalFile.load(), saved.current != nil else { return }
        incremental = IncrementalSnapshot(saved)
        incrementalConfirmed = incremental
        logger.info(
            "incremental snapshot resumes",
            metadata: [
                "table": "\(incremental.current.map { "\($0.name)" } ?? "")",
                "after_key": "\(incremental.lastKey.map { "\($0)" } ?? "start")",
                "tables_waiting": "\(incremental.pending.count)",
            ])
        try readChunks()
    }

    /// The incremental snapshot's progress on `/status`.
    private func publishIncrementalProgress() {
        let progress = incremental.current.map { table in
            ConnectorStatus.IncrementalSnapshotProgress(
                table: "\(table.name)", tablesWaiting: incremental.pending.count, chunks: incremental.chunks,
                rowsRead: incremental.rowsRead, rowsEstimated: incrementalEstimate, paused: incremental.paused)
        }
        status.update { $0.incrementalSnapshot = progress }
    }

    /// Chunks whose rows Kafka acknowledged become the state a restart resumes from.
    private func recordIncrementalProgress() throws {
        if incrementalCheckpoints.isEmpty && !incremental.isRunning && incrementalConfirmed.isRunning {
            // Done, and every chunk acknowledged.
            incrementalConfirmed = incremental
            return try saveIncremental()
        }
        guard let index = incrementalCheckpoints.lastIndex(where: { delivery.tracker.isAcknowledged(token: $0.token) })
        else { return }
        incrementalConfirmed = incrementalCheckpoints[index].state
        incrementalCheckpoints.removeFirst(index + 1)
        try saveIncremental()
    }

    private func saveIncremental() throws {
        guard incrementalConfirmed.isRunning || FileManager.default.fileExists(atPath: incrementalFile.path) else {
            return
        }
        try incrementalFile.save(incrementalConfirmed.saved)
    }

    /// Carries out a signal (from any channel); a signal topic's position moves past it once it is done.
    func act(on signal: Signal, at lsn: LSN) throws {
        defer {
            if let offset = signal.kafkaOffset {
                do {
                    try SignalTopicPosition.file(config).save(SignalTopicPosition(offset: offset))
                } catch {
                    logger.warning("\(error)")
                }
            }
        }
        let metadata: Logger.Metadata = ["signal": "\(signal.id)", "type": "\(signal.type)", "lsn": "\(lsn)"]
        let action: SignalAction
        do {
            action = try SignalAction(signal)
        } catch {
            logger.warning("signal skipped: \(error.description)", metadata: metadata)
            metrics.countSignal(acted: false)
            return
        }
        switch action {
        case .log(let message):
            logger.info("\(message)", metadata: metadata)
        case .pauseSnapshot:
            incremental.paused = true
            incrementalConfirmed.paused = true
            try saveIncremental()
            publishIncrementalProgress()
            logger.info("incremental snapshot paused", metadata: metadata)
        case .resumeSnapshot:
            incremental.paused = false
            incrementalConfirmed.paused = false
            try saveIncremental()
            logger.info("incremental snapshot resumed", metadata: metadata)
            try readChunks()
        case .stopSnapshot(let patterns):
            let tables = try patterns.map { try tablesMatching($0, signal: signal) }
            incremental.stop(tables)
            incrementalConfirmed.stop(tables)
            // Chunks sent before the stop would bring the stopped tables back if their acknowledgement saved them.
            incrementalCheckpoints.removeAll()
            try saveIncremental()
            logger.info(
                "incremental snapshot stopped",
                metadata: metadata.merging(["tables": "\(tables.map { "\($0)" } ?? "all")"]) { $1 })
            try readChunks()
        case .executeSnapshot(let request):
            let tables = try tablesMatching(request.patterns, signal: signal)
            guard !tables.isEmpty else {
                logger.warning(
                    "signal skipped: data-collections \(request.patterns) name no captured table", metadata: metadata)
                metrics.countSignal(acted: false)
                return
            }
            let plans = tables.map { table in
                IncrementalSnapshot.Table(
                    name: table,
                    condition: request.conditions.first { SignalAction.matches($0.pattern, table) == true }?.filter,
                    surrogateKey: request.surrogateKey)
            }
            let added = incremental.add(plans).map { $0.name.description }.joined(separator: ",")
            incrementalConfirmed.add(plans)
            try saveIncremental()
            logger.info("incremental snapshot requested", metadata: metadata.merging(["tables": "\(added)"]) { $1 })
            try readChunks()
        }
        metrics.countSignal(acted: true)
    }

    /// The captured tables the patterns name.
    private func tablesMatching(_ patterns: [String], signal: Signal) throws -> [TableName] {
        let captured = try source.snapshotTables().filter(tableFilter.captures)
        return captured.filter { table in patterns.contains { SignalAction.matches($0, table) == true } }
    }

    /// Reads chunks until one waits for its watermarks (or the snapshot is paused or done).
    private func readChunks() throws {
        defer {
            publishIncrementalProgress()
            if !incremental.isRunning || incremental.paused {
                // Its transaction (the last chunk's snapshot) would hold back vacuum while nothing is read.
                incrementalReader?.close()
                incrementalReader = nil
            }
        }
        while incremental.isRunning, !incremental.paused, incremental.window == nil, let table = incremental.current {
            do {
                try readChunk(table)
            } catch let error as ConnectorError where error.kind == .transient {
                throw error
            } catch {
                let hint =
                    !config.incrementalSnapshot.readOnly && "\(error)".contains("pg_logical_emit_message")
                    ? "; a role that may not write the watermarks can read with incremental_snapshot.read_only: true" : ""
                logger.warning(
                    "incremental snapshot of \(table.name) ends: \(error)\(hint)", metadata: ["table": "\(table.name)"])
                incremental.nextTable()
                incrementalRelation = nil
            }
        }
    }

    private func readChunk(_ table: IncrementalSnapshot.Table) throws {
        let reader = try incrementalReader ?? source.makeSnapshotReader()
        incrementalReader = reader
        if incrementalRelation == nil || incremental.keyColumns.isEmpty {
            if !config.incrementalSnapshot.readOnly, try reader.isStandby() {
                throw ConnectorError(
                    .configuration,
                    "the server is a standby, which takes no writes and so cannot hold the watermarks; incremental "
                        + "snapshots on a standby read with incremental_snapshot.read_only: true")
            }
            let relation = try reader.relation(for: table.name)
            let facts = try source.tableMetadata(relationOID: relation.oid)
            let metadata = try config.postgres.shaped(facts, relation: relation)
            // Chunks go by the primary key (unique, never null) even when message_key_columns key the records by
            // others; by those only for a table without one.
            let keys = table.surrogateKey.map { [$0] } ?? (facts.primaryKey.isEmpty ? metadata.primaryKey : facts.primaryKey)
            guard !keys.isEmpty else {
                throw ConnectorError(
                    .configuration,
                    "\(table.name) has no primary key; name a column to read it by with the signal's surrogate-key")
            }
            if builder.table(oid: relation.oid) == nil { try builder.register(relation, metadata: metadata) }
            incrementalRelation = relation
            incremental.keyColumns = keys
            incremental.rowFilter = try reader.rowFilter(for: table.name)
            incrementalEstimate = (try? reader.estimatedRows(table.name)) ?? 0
            logger.info(
                "incremental snapshot of \(table.name) starting",
                metadata: ["table": "\(table.name)", "rows_estimated": "\(incrementalEstimate)"])
        }
        guard let relation = incrementalRelation else { return }
        let quote: (String) -> String = { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        let keyIndexes = incremental.keyColumns.compactMap { name in relation.columns.firstIndex { $0.name == name } }
        if incremental.maximumKey == nil {
            guard let query = incremental.maximumKeyQuery(quote: quote) else { return }
            if config.incrementalSnapshot.readOnly {
                _ = try reader.beginVisible()
            } else {
                _ = try reader.begin(snapshotName: nil)
            }
            let keyRelation = Relation(
                oid: relation.oid, namespace: relation.namespace, name: relation.name,
                replicaIdentity: relation.replicaIdentity,
                columns: keyIndexes.map { relation.columns[$0] })
            try reader.startCopy(keyRelation, pages: nil, query: query)
            var maximum: IncrementalSnapshot.Key?
            while let line = try reader.nextRow() {
                let row = try CopyTextRow.decode(line, columnCount: keyIndexes.count)
                maximum = (0..<keyIndexes.count).map { row.text($0) }
            }
            guard let maximum else {
                logger.info("incremental snapshot of \(table.name): the table is empty", metadata: ["table": "\(table.name)"])
                incremental.nextTable()
                incrementalRelation = nil
                return
            }
            incremental.maximumKey = maximum
        }
        guard
            let query = incremental.chunkQuery(
                columns: relation.columns.map(\.name), chunkSize: config.incrementalSnapshot.chunkSize, quote: quote)
        else { return }
        let id = "\(config.name)-\(UUID().uuidString)"
        var visibility: ChunkVisibility?
        if config.incrementalSnapshot.readOnly {
            visibility = try chunkVisibility(reader)
        } else {
            try source.emitWatermark(prefix: incrementalSnapshotOpenPrefix, content: id)
            _ = try reader.begin(snapshotName: nil)
        }
        try reader.startCopy(relation, pages: nil, query: query)
        var rows: [(key: IncrementalSnapshot.Key, row: TupleData)] = []
        while let line = try reader.nextRow() {
            let row = try CopyTextRow.decode(line, columnCount: relation.columns.count)
            rows.append((keyIndexes.map { row.text($0) }, row))
        }
        incrementalChunkCount = rows.count
        guard !rows.isEmpty else {
            logger.info(
                "incremental snapshot of \(table.name) complete",
                metadata: ["table": "\(table.name)", "rows": "\(incremental.rowsRead)"])
            incremental.nextTable()
            incrementalRelation = nil
            return
        }
        incremental.chunkRead(id: id, rows: rows)
        if let visibility {
            // Every transaction the read saw had committed before this position: once the stream has passed it, the
            // chunk goes out; until then a change by a transaction the read did not see drops its row.
            let until = try reader.walPosition()
            _ = incremental.watermark(id: id, closing: false)
            readOnlyWindow = (id, visibility, until)
            readOnlyKeepaliveAsked = .now
        } else {
            try source.emitWatermark(prefix: incrementalSnapshotClosePrefix, content: id)
        }
    }

    /// What a read-only chunk's read sees. On a primary, its snapshot: one that does not see a transaction the stream
    /// has already brought (one of the last ones, or the open one, when a signal or a new table shape reads a chunk in
    /// the middle of a transaction) is taken again, as the chunk would hold rows older than changes already sent; a
    /// transaction ends in the server's list of running ones just after its commit is written and streamed. On a
    /// standby, the replay position read before the snapshot is taken.
    private func chunkVisibility(_ reader: any SnapshotSource) throws -> ChunkVisibility {
        if try reader.isStandby() {
            let replayed = try reader.walPosition()
            _ = try reader.beginVisible()
            return .replayedBefore(replayed)
        }
        for attempt in 1...50 {
            let text = try reader.beginVisible()
            guard let snapshot = TransactionSnapshot(text) else {
                throw ConnectorError(.transient, "pg_current_snapshot() returned '\(text)', which is not a snapshot")
            }
            if snapshot.seesAll(recentXids), openToken == nil || snapshot.sees(openXid) { return .snapshot(snapshot) }
            Thread.sleep(forTimeInterval: 0.001 * Double(attempt))
        }
        throw ConnectorError(
            .transient, "the incremental snapshot's read kept missing a transaction the stream had brought; reading again")
    }

    /// Whether the change the stream brings is newer than the waiting chunk: always with watermarks; read-only, when
    /// the chunk's snapshot did not see its transaction.
    private var changeIsNewerThanChunk: Bool {
        guard let readOnlyWindow else { return true }
        return !readOnlyWindow.visibility.sees(openXid, commitLSN: openCommitLSN)
    }

    /// Notes a transaction the stream brought (for `chunkVisibility`).
    private func noteCommitted(_ xid: UInt32) {
        if recentXids.count < 256 {
            recentXids.append(xid)
        } else {
            recentXids[recentXidsNext] = xid
            recentXidsNext = (recentXidsNext + 1) % 256
        }
    }

    /// The stream has reached `position` between transactions: a read-only chunk waiting for it goes out.
    private func closeReadOnlyWindow(at position: LSN) throws {
        guard let window = readOnlyWindow, position >= window.until else { return }
        readOnlyWindow = nil
        try closeWindow(id: window.id, at: position)
    }

    /// A quiet stream: a read-only chunk waiting for a position asks the server where it is (a keepalive answers).
    private func askForReadOnlyWatermark() throws {
        guard let window = readOnlyWindow, openToken == nil else { return }
        guard incremental.window?.id == window.id else {
            readOnlyWindow = nil  // stopped
            return
        }
        if received >= window.until { return try closeReadOnlyWindow(at: received) }
        guard ContinuousClock.now - readOnlyKeepaliveAsked >= .milliseconds(20) else { return }
        readOnlyKeepaliveAsked = .now
        try sendStatus(replyRequested: true)
    }

    /// A change the stream brought while a window is open: the rows of the chunk it touches are dropped.
    private func dropFromWindow(_ relationOID: UInt32, _ tuples: [TupleData]) {
        guard let current = incremental.current, let relation = builder.table(oid: relationOID)?.relation,
            relation.namespace == current.name.schema, relation.name == current.name.name
        else { return }
        let indexes = incremental.keyColumns.compactMap { name in relation.columns.firstIndex { $0.name == name } }
        guard indexes.count == incremental.keyColumns.count else { return }
        for sent in tuples where sent.count == relation.columns.count {
            // A row that cannot be read as text stops the stream when its change is written.
            guard let tuple = try? builder.textual(sent, relationOID: relationOID) else { continue }
            let key = indexes.map { tuple.columns[$0].kind == .text ? tuple.text($0) : nil }
            incremental.changed(current.name, key: key)
        }
    }

    /// A watermark came back from the stream: the opening one opens its chunk's window; at the closing one the rows left
    /// go out as reads, confirmable at the watermark's position, and the next chunk is read.
    private func watermark(_ message: DecodingMessage, at lsn: LSN) throws {
        let id = String(decoding: message.content, as: UTF8.self)
        if message.prefix == incrementalSnapshotClosePrefix {
            try closeWindow(id: id, at: lsn)
        } else {
            _ = incremental.watermark(id: id, closing: false)
        }
    }

    /// The chunk `id`'s window closes at `lsn`: its rows left go out as reads, confirmable there, and the next chunk is
    /// read.
    private func closeWindow(id: String, at lsn: LSN) throws {
        guard let rows = incremental.watermark(id: id, closing: true) else { return }
        if let relation = incrementalRelation, !rows.isEmpty {
            let token = delivery.tracker.begin()
            delivery.continuePositions(at: lsn)
            for row in rows {
                let event: ChangeEvent
                do {
                    // Debezium stamps each read with the clock when it sends it.
                    event = try builder.incrementalSnapshotRead(
                        row, relationOID: relation.oid, at: lsn, nowNanos: Self.wallClockNanos())
                } catch {
                    try delivery.unwritable(error, at: lsn, token: token)
                    continue
                }
                try delivery.submit(event, token: token)
            }
            delivery.tracker.commit(token: token, endLSN: lsn)
            metrics.countIncrementalRows(rows.count)
            incrementalCheckpoints.append((token, incremental))
            if incremental.chunks % 100 == 0, let table = incremental.current {
                logger.info(
                    "incremental snapshot of \(table.name) in progress",
                    metadata: [
                        "table": "\(table.name)", "rows": "\(incremental.rowsRead)",
                        "rows_estimated": "\(incrementalEstimate)", "chunks": "\(incremental.chunks)",
                    ])
            }
        }
        if incrementalChunkCount < config.incrementalSnapshot.chunkSize, let table = incremental.current {
            logger.info(
                "incremental snapshot of \(table.name) complete",
                metadata: ["table": "\(table.name)", "rows": "\(incremental.rowsRead)"])
            incremental.nextTable()
            incrementalRelation = nil
        }
        try readChunks()
    }
}
