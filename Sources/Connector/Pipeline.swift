import ChangeEvents
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
    private let sink: any EventSink
    private let status: ConnectorStatus
    private let metrics: ConnectorMetrics
    private let logger: Logger
    /// Another thread's way to stop this session.
    public let stopSignal: StopSignal

    private var tracker: CheckpointTracker
    private var builder: ChangeEventBuilder
    private var capturedRelations: Set<UInt32> = []
    private var openToken: UInt64?
    private var received = LSN.zero
    /// The server's end of WAL, from XLogData and keepalive headers.
    private var serverLSN = LSN.zero
    /// Commit time of the newest transaction read.
    private var lastCommitMicros: Int64 = 0
    /// The processing time stamped on events (`ts_ms`): read when a transaction or a batch of snapshot rows
    /// arrives, when reading had to wait, and every 64 frames, rather than once per event.
    private var eventClockNanos: Int64 = Pipeline.wallClockNanos()
    private var eventCounts: [EventCountKey: UInt64] = [:]
    private var countRun: (key: EventCountKey, count: UInt64)?
    private var bytesSinceStatus: UInt64 = 0
    private var deliveryError: PipelineError?
    /// Key and value bytes sent and not yet reported by Kafka.
    private var inFlightBytes = 0
    /// Events Kafka refused for good, waiting for `errors.mode` to deal with them.
    private var refused: [(token: UInt64, failure: SinkFailure)] = []
    private var eventsSinceStatus: UInt64 = 0
    /// When to send status updates, check the slot, run heartbeats and give a silent server up.
    private var schedule: StreamSchedule
    /// What the state directory says of the slot; saved before a status update confirms past it.
    private var slotRecord: SlotRecord?
    private var slotRecords: SlotRecordStore?
    private let tableFilter: TableFilter
    private let refusalPolicy: RefusalPolicy
    /// Reports for tokens below this belong to an earlier session: what they carried is read again from the slot.
    private let firstToken: UInt64

    /// How long shutdown waits for Kafka to acknowledge what is in flight.
    public var drainTimeout: Duration = .seconds(30)

    /// - Parameter firstToken: start of this session's delivery tokens; reports for older ones are ignored.
    public init(
        config: ConnectorConfig, source: any ChangeSource, sink: any EventSink, status: ConnectorStatus, logger: Logger,
        firstToken: UInt64 = 1, stopSignal: StopSignal = StopSignal()
    ) {
        self.stopSignal = stopSignal
        self.metrics = ConnectorMetrics(connector: config.name)
        self.config = config
        self.source = source
        self.sink = sink
        self.status = status
        self.logger = logger
        self.tracker = CheckpointTracker(start: .zero, firstToken: firstToken)
        self.firstToken = firstToken
        self.builder = ChangeEventBuilder(settings: Self.settings(config, database: ""))
        self.tableFilter = TableFilter(config.postgres)
        self.refusalPolicy = RefusalPolicy(config)
        self.schedule = StreamSchedule(
            statusInterval: config.postgres.statusInterval, receiveTimeout: config.postgres.receiveTimeout,
            heartbeatInterval: config.heartbeat.interval, now: .now)
    }

    static func settings(_ config: ConnectorConfig, database: String) -> EventSettings {
        EventSettings(
            topicPrefix: config.kafka.topicPrefix, databaseName: database, schemas: config.events.schemas,
            tombstones: config.events.tombstones, skippedOperations: config.events.skippedOperations,
            version: TributaryVersion.current, values: config.events.values)
    }

    /// The first token a following session may use.
    public var nextToken: UInt64 { tracker.tokenWatermark }

    /// Asks `run()` to stop reading, drain Kafka, confirm and return (from this thread; others use `stopSignal`).
    public func requestStop() {
        stopSignal.request()
    }

    public var isStopRequested: Bool { stopSignal.isRequested }

    /// Streams until `requestStop()` or an error. On a clean stop it waits (bounded) for Kafka,
    /// sends the final standby status and closes the stream.
    public func run() throws {
        defer { source.close() }
        let observation = try source.inspect()
        let records = SlotRecordStore(directory: config.snapshot.stateDirectory, connector: config.name)
        let record = try records.load()
        try standByIfSlotIsHeld(observation, record: record, records: records)
        let recovery = try checkSlotContinuity(observation, record: record)
        let position = try source.open(
            exportSnapshot: config.snapshot.mode != .noData || recovery.snapshot, replacingSlot: recovery.replaceSlot)
        if record == nil && position.slotCreated {
            logger.notice(
                """
                no slot record in \(records.path): taking this for the connector's first start. If it ran before, its \
                state directory was not kept and nothing can tell whether changes were missed while it had no slot: keep \
                snapshot.state_directory on a persistent volume
                """,
                metadata: ["slot": "\(config.postgres.slot)", "consistent_point": "\(position.start)"])
        }
        let started = SlotRecord(
            slot: config.postgres.slot, systemIdentifier: observation.systemIdentifier, timeline: observation.timeline,
            database: observation.databaseName, confirmedLSN: position.start,
            confirmedAt: SlotRecord.timestamp(nanos: Self.wallClockNanos()))
        try records.save(started)
        slotRecords = records
        slotRecord = started
        tracker = CheckpointTracker(start: position.start, firstToken: tracker.tokenWatermark)
        builder = ChangeEventBuilder(
            settings: Self.settings(config, database: position.databaseName),
            lastCommitLSN: position.slotCreated ? nil : position.start)
        received = position.start
        schedule.started(at: position.start)

        if let plan = try snapshotPlan(position, again: recovery.snapshot) {
            let finished = try runSnapshot(plan, at: position)
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

        var framesSincePoll = 0
        // How long to wait for a frame: only matters when none is ready, so it is worked out when one was not.
        var readTimeout = 1
        while !isStopRequested {
            if framesSincePoll >= 64 {
                pollDeliveries(timeoutMilliseconds: 0)
                framesSincePoll = 0
            }
            try checkDeliveries()
            while isBackPressured && !isStopRequested {
                // Kafka is behind (or away): stop reading until it catches up, but keep the server connection alive.
                pollDeliveries(timeoutMilliseconds: 100)
                try checkDeliveries()
                try sendStatusIfDue()
                schedule.heard()
            }
            if framesSincePoll == 0 && schedule.heartbeatDue(now: .now) { try heartbeat() }
            guard let bytes = try source.nextFrame(timeoutMilliseconds: readTimeout) else {
                eventClockNanos = Self.wallClockNanos()
                pollDeliveries(timeoutMilliseconds: 0)
                framesSincePoll = 0
                try checkDeliveries()
                try checkSilence()
                try sendStatusIfDue()
                readTimeout = schedule.readTimeoutMilliseconds(now: .now)
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

    // MARK: Slot continuity

    /// Throws `slotInUse` while another process streams from the slot (PostgreSQL lets one reader hold it). When that
    /// process is another instance of this connector, the record follows the slot, so taking over from it later is
    /// not mistaken for a gap.
    private func standByIfSlotIsHeld(_ observation: SlotObservation, record: SlotRecord?, records: SlotRecordStore) throws {
        guard let slot = observation.slot, let pid = slot.activePID else { return }
        if slot.heldBySameConnector, var record, record.slot == config.postgres.slot,
            record.systemIdentifier == observation.systemIdentifier, let position = slot.confirmedFlush
        {
            record.confirmedLSN = position
            record.timeline = observation.timeline
            record.confirmedAt = SlotRecord.timestamp(nanos: Self.wallClockNanos())
            record.peerStreaming = true
            try records.save(record)
        }
        throw ConnectorError(
            .slotInUse,
            "replication slot \(config.postgres.slot) is in use by server process \(pid) "
                + (slot.heldBySameConnector ? "(another instance of this connector)" : "(another program)")
                + "; standing by until it is released")
    }

    /// Compares the slot with what this connector last confirmed. A slot that cannot continue the stream stops the
    /// connector, or is healed by reading the tables again, or is streamed on from, as `postgres.on_slot_lost` says.
    private func checkSlotContinuity(
        _ observation: SlotObservation, record: SlotRecord?
    ) throws -> (snapshot: Bool, replaceSlot: Bool) {
        let continuity = SlotContinuity.check(record: record, slot: config.postgres.slot, server: observation)
        if let record, record.timeline != observation.timeline, continuity == .continues {
            logger.notice(
                "the server was promoted (timeline \(record.timeline) → \(observation.timeline)); its copy of the slot continues the stream",
                metadata: ["slot": "\(config.postgres.slot)"])
        }
        guard case .lost(let loss) = continuity else { return (false, false) }
        let action = config.slotLostAction
        metrics.countSlotLost(action: action.rawValue)
        switch action {
        case .fail:
            let why =
                config.postgres.onSlotLost == nil
                ? "postgres.on_slot_lost defaults to fail with snapshot.mode \(config.snapshot.mode.rawValue)"
                : "postgres.on_slot_lost is fail"
            throw ConnectorError(
                .configuration,
                "\(loss). The connector stops here (\(why)). To go on, set postgres.on_slot_lost: snapshot to read every "
                    + "captured table again and then stream, or accept_gap to stream on from the current position with "
                    + "those changes missing; then restart")
        case .snapshot:
            logger.error(
                "\(loss); reading every captured table again, as postgres.on_slot_lost is snapshot",
                metadata: ["slot": "\(config.postgres.slot)"])
            return (true, loss.slotMustBeReplaced)
        case .acceptGap:
            logger.critical(
                "\(loss); streaming on from the current position, as postgres.on_slot_lost is accept_gap: those changes stay missing",
                metadata: ["slot": "\(config.postgres.slot)"])
            return (false, loss.slotMustBeReplaced)
        }
    }

    // MARK: Snapshot

    struct SnapshotPlan {
        var tables: [TableName]
        /// Tables a previous run completed (resumed snapshots skip them).
        var done: Set<TableName>
        /// What a previous run recorded, for the ranges of tables it split.
        var previous: SnapshotState?
        /// The snapshot exported with the slot, or nil to read in a fresh one.
        var snapshotName: String?
        var store: SnapshotStateStore
    }

    /// Decides, as Debezium's snapshot modes do, whether and what to snapshot before streaming.
    ///
    /// - Parameter again: the slot was lost and `postgres.on_slot_lost` is `snapshot`: every table is read again,
    ///   whatever the mode; a snapshot so started and stopped is resumed on the next start, even in `no_data` mode.
    private func snapshotPlan(_ position: SourcePosition, again: Bool) throws -> SnapshotPlan? {
        let mode = config.snapshot.mode
        let store = SnapshotStateStore(directory: config.snapshot.stateDirectory, connector: config.name)
        var state = try store.load(slot: config.postgres.slot)
        // A new slot starts a new history: what an old snapshot completed says nothing about it.
        if position.slotCreated || mode == .always || again { state = nil }
        guard mode != .noData || again || state?.completed == false else { return nil }
        if let state, state.completed, mode != .always, !(mode == .whenNeeded && position.slotCreated) {
            status.update { $0.snapshot.completed = true }
            return nil
        }
        let done = Set((state?.tablesDone ?? []).compactMap { TableName(parsing: $0) })
        let tables = try source.snapshotTables().filter(tableFilter.captures)
        return SnapshotPlan(
            tables: tables, done: done, previous: state, snapshotName: position.slotCreated ? position.snapshotName : nil,
            store: store)
    }

    /// Emits every row of the plan's tables as `r` events; returns false when stopped before the end.
    ///
    /// `snapshot.max_threads` connections share one snapshot and read tables, and page ranges of large
    /// tables, in parallel; their rows come to this thread in bounded batches, where they are encoded
    /// and sent as streamed changes are. Each table is a transaction of the checkpoint tracker ending at
    /// the slot's start position, so snapshot reads never move the confirmed LSN; a table is recorded as
    /// done once Kafka holds all of it.
    private func runSnapshot(_ plan: SnapshotPlan, at position: SourcePosition) throws -> Bool {
        let first = try source.makeSnapshotReader()
        var readers: [any SnapshotSource] = [first]
        var handedOver = false
        defer { if !handedOver { readers.forEach { $0.close() } } }
        let xid = try first.begin(snapshotName: plan.snapshotName)
        let threads = max(1, config.snapshot.maxThreads)
        // Every reader must see the same snapshot: the slot's exported one, or one exported by the first reader.
        let shared = threads > 1 ? try plan.snapshotName ?? first.exportSnapshot() : plan.snapshotName
        let remaining = plan.tables.filter { !plan.done.contains($0) }
        var state = SnapshotState(
            slot: config.postgres.slot, completed: false, tablesDone: plan.tables.filter(plan.done.contains).map(\.description))

        // Work: whole tables, or page ranges of a table large enough to share between readers.
        let planner = SnapshotPlanner(threads: threads, rangePages: config.snapshot.rangePages)
        var work: [SnapshotWork] = []
        var estimated: Int64 = 0
        for table in remaining {
            let relation = try first.relation(for: table)
            let metadata = try source.tableMetadata(relationOID: relation.oid)
            do {
                try builder.register(relation, metadata: metadata)
            } catch {
                throw PipelineError.encode(lsn: position.start, underlying: error)
            }
            estimated += try first.estimatedRows(table)
            work += try planner.units(
                for: table, relation: relation, query: config.snapshot.selectOverrides[table], previous: plan.previous,
                state: &state
            ) { try first.pageCount(table) }
        }
        try plan.store.save(state)
        // One checkpoint transaction per unit of work: a range is recorded done once all of its rows are acknowledged.
        let tokens = work.map { _ in tracker.begin() }
        for _ in 1..<min(threads, max(work.count, 1)) {
            let reader = try source.makeSnapshotReader()
            readers.append(reader)
            _ = try reader.begin(snapshotName: shared)
        }
        status.update {
            $0.state = .snapshotting
            $0.lastError = nil
            $0.snapshot = ConnectorStatus.SnapshotProgress(
                tablesTotal: plan.tables.count, tablesDone: plan.tables.count - remaining.count, rowsEstimated: estimated)
        }
        logger.info(
            "snapshot starting",
            metadata: [
                "tables": "\(remaining.map(\.description).joined(separator: ","))", "skipped_as_done": "\(plan.done.count)",
                "rows_estimated": "\(estimated)", "readers": "\(readers.count)", "work_units": "\(work.count)",
                "exported_snapshot": "\(plan.snapshotName ?? "none (fresh snapshot)")",
            ])
        builder.beginSnapshot(xid: xid, timeMicros: Self.wallClockNanos() / 1000)

        let channel = SnapshotRowChannel(capacity: 16)
        let workers = SnapshotWorkers(readers: readers, work: work, channel: channel)
        handedOver = true
        defer {
            channel.close()
            workers.wait()
        }

        var markers = SnapshotMarkerSequencer(tables: work.map(\.table))
        /// Units read to the end whose rows are all sent: recorded once Kafka acknowledged them.
        var pendingUnits: [Int] = []
        var unitsLeft = work.count
        var rows: UInt64 = 0
        var lastReport = ContinuousClock.now
        var rowsAtReport: UInt64 = 0

        func emit(_ unit: Int, _ row: TupleData, _ marker: ChangeEventBuilder.SnapshotMarker) throws {
            let event: ChangeEvent
            do {
                event = try builder.snapshotRead(
                    row, relationOID: work[unit].relation.oid, marker: marker, at: position.start, nowNanos: eventClockNanos
                )
            } catch {
                try unwritable(error, at: position.start, token: tokens[unit])
                return
            }
            try send(event, token: tokens[unit])
        }

        func complete(_ unit: Int) {
            tracker.commit(token: tokens[unit], endLSN: position.start)
            pendingUnits.append(unit)
        }

        func recordFinishedTables() throws {
            let finished = pendingUnits.filter { tracker.isAcknowledged(token: tokens[$0]) }
            guard !finished.isEmpty else { return }
            pendingUnits.removeAll { tracker.isAcknowledged(token: tokens[$0]) }
            for unit in finished {
                let key = work[unit].table.description
                if let range = work[unit].rangeIndex {
                    state.rangesDone[key, default: []].append(range)
                    if state.rangesDone[key]?.count == state.ranges[key]?.count {
                        state.tablesDone.append(key)
                        state.ranges[key] = nil
                        state.rangesDone[key] = nil
                    }
                } else {
                    state.tablesDone.append(key)
                }
            }
            try plan.store.save(state)
            let done = state.tablesDone.count
            status.update { $0.snapshot.tablesDone = done }
        }

        func carryOut(_ steps: [SnapshotMarkerSequencer.Step]) throws {
            for step in steps {
                switch step {
                case .emit(let unit, let row, let marker): try emit(unit, row, marker)
                case .complete(let unit): complete(unit)
                }
            }
        }

        while unitsLeft > 0 && !isStopRequested {
            while isBackPressured && !isStopRequested {
                // Back pressure: Kafka is behind, so the readers wait (the channel fills) instead of rows piling up.
                pollDeliveries(timeoutMilliseconds: 100)
                try checkDeliveries()
            }
            guard let item = channel.pop(timeout: .milliseconds(100)) else {
                pollDeliveries(timeoutMilliseconds: 0)
                try checkDeliveries()
                try recordFinishedTables()
                continue
            }
            switch item {
            case .failed(let error):
                throw error
            case .finished(let index):
                unitsLeft -= 1
                try carryOut(markers.finish(unit: index))
            case .rows(let index, let lines):
                let unit = work[index]
                eventClockNanos = Self.wallClockNanos()
                for line in lines {
                    let row: TupleData
                    do {
                        row = try CopyTextRow.decode(line, columnCount: unit.relation.columns.count)
                    } catch {
                        throw PipelineError.decode(lsn: position.start, messageType: nil, payload: line, underlying: error)
                    }
                    if let previous = markers.add(row, unit: index) { try emit(index, previous.row, previous.marker) }
                }
                rows += UInt64(lines.count)
                pollDeliveries(timeoutMilliseconds: 0)
                try checkDeliveries()
                try recordFinishedTables()
                let now = ContinuousClock.now
                if now - lastReport >= .seconds(10) {
                    let rate = Double(rows - rowsAtReport) / ((now - lastReport) / .seconds(1))
                    logger.info(
                        "snapshot progress",
                        metadata: ["rows": "\(rows)", "estimated": "\(estimated)", "rows_per_second": "\(Int(rate))"])
                    let emitted = rows
                    status.update {
                        $0.snapshot.rowsEmitted = emitted
                        $0.snapshot.rowsPerSecond = rate
                        $0.heartbeat = now
                    }
                    lastReport = now
                    rowsAtReport = rows
                }
            }
        }
        let completed = unitsLeft == 0 && !isStopRequested
        if completed {
            try carryOut(markers.end())
        } else {
            // Stopped: held rows are not sent, so their units count as unfinished and are read again next time,
            // as are units not read to the end. Only completed units (in pendingUnits) are ever recorded.
            logger.info("snapshot stopped; the next start reads the unfinished tables and ranges again")
        }
        // Every table's transaction is complete now (unfinished ones too, so their sent rows can drain).
        for token in tracker.openTokens { tracker.commit(token: token, endLSN: position.start) }
        channel.close()
        // A complete snapshot waits for Kafka to hold every row; a stopped one waits as long as a shutdown does.
        let deadline = ContinuousClock.now + drainTimeout
        while tracker.inFlight > 0 && (completed ? !isStopRequested : ContinuousClock.now < deadline) {
            pollDeliveries(timeoutMilliseconds: 100)
            try checkDeliveries()
            try recordFinishedTables()
        }
        pollDeliveries(timeoutMilliseconds: 0)
        try recordFinishedTables()
        let emitted = rows
        if completed && pendingUnits.isEmpty && tracker.inFlight == 0 {
            state.completed = true
            try plan.store.save(state)
            logger.info("snapshot complete", metadata: ["rows": "\(rows)", "tables": "\(plan.tables.count)"])
        }
        let done = state.tablesDone.count
        let isComplete = state.completed
        status.update {
            $0.snapshot.rowsEmitted = emitted
            $0.snapshot.tablesDone = done
            $0.snapshot.completed = isComplete
        }
        return completed && state.completed
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
            tracker.serverSent(upTo: keepalive.walEnd)
            received = max(received, keepalive.walEnd)
            serverLSN = max(serverLSN, keepalive.walEnd)
            if keepalive.replyRequested { try sendStatus() }
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
            builder.begin(begin)
            lastCommitMicros = begin.commitTimeMicros
            openToken = tracker.begin()
        case .commit(let commit):
            builder.commit(commit)
            if let token = openToken { tracker.commit(token: token, endLSN: commit.endLSN) }
            openToken = nil
        case .origin(let origin):
            builder.setOrigin(origin)
        case .relation(let relation):
            let metadata = try source.tableMetadata(relationOID: relation.oid)
            do {
                try builder.register(relation, metadata: metadata)
            } catch {
                throw PipelineError.encode(lsn: lsn, underlying: error)
            }
            let table = TableName(schema: relation.namespace, name: relation.name)
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
            guard capturedRelations.contains(change.relationOID) else { return }
            try emit(message, at: lsn, token: try transactionToken(lsn))
        case .update(let change):
            guard capturedRelations.contains(change.relationOID) else { return }
            try emit(message, at: lsn, token: try transactionToken(lsn))
        case .delete(let change):
            guard capturedRelations.contains(change.relationOID) else { return }
            try emit(message, at: lsn, token: try transactionToken(lsn))
        case .truncate(var truncate):
            truncate.relationOIDs = truncate.relationOIDs.filter { capturedRelations.contains($0) }
            guard !truncate.relationOIDs.isEmpty else { return }
            try emit(.truncate(truncate), at: lsn, token: try transactionToken(lsn))
        case .message(let decodingMessage):
            // A heartbeat's own message only moves the position; it is not an event.
            if decodingMessage.prefix == heartbeatMessagePrefix { return }
            if decodingMessage.isTransactional {
                try emit(message, at: decodingMessage.lsn, token: try transactionToken(lsn))
            } else {
                // Sent outside any transaction: a transaction of its own, confirmable at its LSN.
                let token = tracker.begin()
                try emit(message, at: decodingMessage.lsn, token: token)
                tracker.commit(token: token, endLSN: decodingMessage.lsn)
            }
        }
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
                try send(event, token: token)
            }
        } catch let error as EventEncodingError {
            try unwritable(error, at: lsn, token: token)
        }
    }

    /// A change whose values its columns' types cannot produce goes through `errors.mode` as a refused event does;
    /// any other encoding failure (a relation never described, a row of the wrong width) ends the session.
    private func unwritable(_ error: EventEncodingError, at lsn: LSN, token: UInt64) throws {
        guard case .unparseableValue(let table, _, _, _) = error else {
            throw PipelineError.encode(lsn: lsn, underlying: error)
        }
        switch refusalPolicy.action(forUnwritable: error.description, table: table, lsn: lsn) {
        case .fail:
            throw PipelineError.unwritable(lsn: lsn, underlying: error)
        case .skip:
            logger.error(
                "a change could not be written as an event; skipped as errors.mode is skip",
                metadata: ["error": "\(error)", "lsn": "\(lsn)"])
            metrics.countRefused(mode: "skip")
            status.update { $0.eventsSkipped += 1 }
        case .deadLetter(let letter), .deadLetterWithoutValue(let letter):
            logger.error(
                "a change could not be written as an event; its facts go to the dead-letter topic",
                metadata: ["error": "\(error)", "lsn": "\(lsn)", "dead_letter_topic": "\(letter.topic)"])
            metrics.countRefused(mode: "dead_letter")
            status.update { $0.eventsDeadLettered += 1 }
            try send(letter, token: token)
        }
    }

    /// Counts per topic and operation, without hashing the topic for each event: runs of the same key are summed first.
    @inline(__always)
    private func countEvent(topic: String, op: ChangeOperation?) {
        if let key = countRun?.key, key.op == op, key.topic == topic {
            countRun!.count += 1
        } else {
            flushCountRun()
            countRun = (EventCountKey(topic: topic, op: op), 1)
        }
    }

    private func flushCountRun() {
        if let run = countRun { eventCounts[run.key, default: 0] += run.count }
        countRun = nil
    }

    /// Whether reading must wait for Kafka: too many events, or too many bytes, sent and not acknowledged.
    private var isBackPressured: Bool {
        tracker.inFlight >= config.kafka.maxInFlight || inFlightBytes >= config.kafka.maxInFlightBytes
    }

    private func send(_ event: ChangeEvent, token: UInt64) throws {
        while true {
            do {
                try sink.send(event, token: token)
                let bytes = (event.key?.count ?? 0) + (event.value?.count ?? 0)
                tracker.sent(token: token)
                inFlightBytes += bytes
                eventsSinceStatus += 1
                countEvent(topic: event.topic, op: event.operation)
                bytesSinceStatus += UInt64(bytes)
                return
            } catch EventSinkError.queueFull {
                // librdkafka's queue is full: wait for deliveries to make room (back pressure).
                pollDeliveries(timeoutMilliseconds: 100)
                try checkDeliveries()
            } catch EventSinkError.refused(let failure) {
                // Refused before it was queued (larger than message.max.bytes): counts as sent, then refused.
                tracker.sent(token: token)
                refused.append((token, failure))
                try checkDeliveries()
                return
            }
        }
    }

    // MARK: Deliveries and checkpoints

    private func pollDeliveries(timeoutMilliseconds: Int) {
        sink.poll(timeoutMilliseconds: timeoutMilliseconds) { delivery in
            guard delivery.token >= firstToken else { return }
            inFlightBytes -= delivery.bytes
            guard let failure = delivery.failure else {
                tracker.delivered(token: delivery.token)
                return
            }
            metrics.countDeliveryError()
            status.update { $0.deliveryErrors += 1 }
            if failure.isPermanent {
                refused.append((delivery.token, failure))
            } else if deliveryError == nil {
                // Timed out or the cluster is gone: a new session reads the event again from the slot.
                deliveryError = .delivery(underlying: failure)
            }
        }
    }

    /// Throws the first delivery failure; deals with refused events as `errors.mode` says.
    private func checkDeliveries() throws {
        if let deliveryError { throw deliveryError }
        while !refused.isEmpty {
            let (token, failure) = refused.removeFirst()
            // An event refused before it was queued has its facts; one Kafka refused later comes back as bytes, and its
            // table is known by its topic, its position by its transaction.
            let lsn = failure.event.lsn ?? tracker.endLSN(token: token)
            let table =
                (failure.event.table ?? builder.table(forTopic: failure.event.topic))?.description ?? failure.event.topic
            switch refusalPolicy.action(for: failure, lsn: lsn, table: table) {
            case .fail:
                deliveryError = .refused(lsn: lsn, table: table, underlying: failure)
                throw deliveryError!
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

    /// Runs `heartbeat.action_query` (or emits a logical message); the schedule says when.
    private func heartbeat() throws {
        do {
            try source.heartbeat(actionQuery: config.heartbeat.actionQuery)
        } catch let error as ConnectorError where error.kind == .transient {
            throw error  // the catalog connection is gone: a new session opens another
        } catch {
            logger.warning(
                "heartbeat failed; check heartbeat.action_query and that the connector's role may run it",
                metadata: ["error": "\(error)"])
        }
    }

    /// Carries out what the schedule says is due: the liveness tick, the slot check, the status update.
    private func sendStatusIfDue() throws {
        let now = ContinuousClock.now
        let due = schedule.due(now: now, flush: tracker.flushPosition)
        if due.contains(.liveness) { status.update { $0.heartbeat = now } }
        if due.contains(.slotCheck) { try checkSlot() }
        if due.contains(.status) { try sendStatus() }
    }

    /// A quiet stream is normal; a silent server is not: the schedule says when to ask for a keepalive, and when
    /// to give the connection up.
    private func checkSilence() throws {
        switch schedule.quiet(now: .now) {
        case .wait: break
        case .askForKeepalive: try sendStatus(replyRequested: true)
        case .giveUp: throw PipelineError.silentServer(timeout: config.postgres.receiveTimeout)
        }
    }

    private func sendStatus(replyRequested: Bool = false) throws {
        let flush = tracker.flushPosition
        if let records = slotRecords, var record = slotRecord, flush > record.confirmedLSN {
            // Recorded first: the record never falls behind the slot, so a slot found further on was moved by another.
            record.confirmedLSN = flush
            record.confirmedAt = SlotRecord.timestamp(nanos: Self.wallClockNanos())
            try records.save(record)
            slotRecord = record
        }
        try source.send(
            StandbyStatusUpdate(
                written: max(received, flush), flushed: flush, applied: flush,
                clockMicros: Self.wallClockNanos() / 1000, replyRequested: replyRequested))
        schedule.statusSent(now: .now, flush: flush)
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
        } catch let error as ConnectorError where error.kind == .transient {
            throw error
        } catch {
            logger.debug("cannot read the slot's WAL retention", metadata: ["error": "\(error)"])
        }
    }

    /// Copies the counters to the shared status and the metrics.
    private func publishStatus() {
        let flush = tracker.flushPosition
        let events = eventsSinceStatus
        eventsSinceStatus = 0
        let received = self.received
        let server = max(serverLSN, received)
        let caughtUp = tracker.inFlight == 0 && tracker.openTransactions == 0 && received >= serverLSN
        let lag = caughtUp || lastCommitMicros == 0 ? 0 : max(0, Self.wallClockNanos() / 1_000_000 - lastCommitMicros / 1000)
        let inFlight = tracker.inFlight
        let snapshot = status.update {
            $0.receivedLSN = max(received, flush)
            $0.flushedLSN = flush
            $0.serverLSN = server
            $0.lagMilliseconds = lag
            $0.eventsTotal += events
            $0.bytesProduced += bytesSinceStatus
            $0.inFlight = inFlight
            $0.inFlightBytes = inFlightBytes
            $0.heartbeat = .now
            return $0
        }
        flushCountRun()
        let prefix = config.kafka.topicPrefix + "."
        for (key, count) in eventCounts {
            // A table's own name (its topic may have lost characters a topic cannot hold); for other topics (logical
            // messages, dead letters) what follows the prefix.
            let table =
                builder.table(forTopic: key.topic)?.description
                ?? (key.topic.hasPrefix(prefix) ? String(key.topic.dropFirst(prefix.count)) : key.topic)
            metrics.countEvents(table: table, op: key.op?.rawValue ?? "tombstone", count: count)
        }
        eventCounts.removeAll(keepingCapacity: true)
        metrics.countBytes(bytesSinceStatus)
        bytesSinceStatus = 0
        metrics.record(snapshot)
    }

    /// Waits (bounded) for Kafka to acknowledge what is in flight, then confirms it.
    private func drain() throws {
        let deadline = ContinuousClock.now + drainTimeout
        while sink.outstanding > 0 && tracker.inFlight > 0 && ContinuousClock.now < deadline {
            pollDeliveries(timeoutMilliseconds: 100)
            if deliveryError != nil { break }
            do { try checkDeliveries() } catch { break }
        }
        pollDeliveries(timeoutMilliseconds: 0)
        try sendStatus()
        if tracker.inFlight > 0 {
            logger.warning(
                "stopped with events unacknowledged; they will be sent again on restart",
                metadata: ["in_flight": "\(tracker.inFlight)", "confirmed": "\(tracker.flushPosition)"])
        } else {
            logger.info("stopped", metadata: ["confirmed": "\(tracker.flushPosition)"])
        }
    }

    static func wallClockNanos() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}

/// Events counted by topic and operation (nil = tombstone) between two status ticks.
struct EventCountKey: Hashable {
    var topic: String
    var op: ChangeOperation?
}

public enum TributaryVersion {
    public static let current = "0.1.0"
}
