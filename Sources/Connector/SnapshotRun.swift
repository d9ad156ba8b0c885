import ChangeEvents
import Logging
import PGOutput

/// One snapshot before streaming: decides, as Debezium's snapshot modes do, whether and what to read, then emits
/// every row of those tables as `r` events through the session's delivery, and records what Kafka holds so that an
/// interrupted snapshot resumes where it stopped.
///
/// `snapshot.max_threads` connections share one snapshot and read tables, and page ranges of large tables
/// (`SnapshotPlanner`), in parallel; their rows come to this thread in bounded batches, where they are encoded and
/// sent as streamed changes are. Each unit of work is a transaction of the checkpoint tracker ending at the slot's
/// start position, so snapshot reads never move the confirmed LSN; a table is recorded as done once Kafka holds all
/// of it. Used on the session's thread; not shared.
final class SnapshotRun {
    struct Plan {
        var tables: [TableName]
        /// Tables a previous run completed (resumed snapshots skip them).
        var done: Set<TableName>
        /// What a previous run recorded, for the ranges of tables it split.
        var previous: SnapshotState?
        /// Whether this snapshot continues one this connector began for the same slot (here, or on another instance
        /// whose state this one does not have): rows Kafka holds of it are then not sent again.
        var continues = false
        /// The snapshot exported with the slot, or nil to read in a fresh one.
        var snapshotName: String?
        var store: SnapshotStateStore
    }

    private let config: ConnectorConfig
    private let source: any ChangeSource
    private let delivery: EventDelivery
    private let status: ConnectorStatus
    private let logger: Logger
    private let stopSignal: StopSignal
    private let drainTimeout: Duration
    private let clock: any SessionClock

    init(
        config: ConnectorConfig, source: any ChangeSource, delivery: EventDelivery, status: ConnectorStatus,
        logger: Logger, stopSignal: StopSignal, drainTimeout: Duration, clock: any SessionClock
    ) {
        self.clock = clock
        self.config = config
        self.source = source
        self.delivery = delivery
        self.status = status
        self.logger = logger
        self.stopSignal = stopSignal
        self.drainTimeout = drainTimeout
    }

    /// What to snapshot before streaming, or nil for nothing.
    ///
    /// - Parameter again: the slot was lost and `postgres.on_slot_lost` is `snapshot`: every table is read again,
    ///   whatever the mode; a snapshot so started and stopped is resumed on the next start, even in `no_data` mode.
    func plan(_ position: SourcePosition, again: Bool, filter: TableFilter) throws -> Plan? {
        let mode = config.snapshot.mode
        let store = SnapshotStateStore(directory: config.snapshot.stateDirectory, connector: config.name)
        var state = try store.load(slot: config.postgres.slot)
        if state?.completed != true, !position.slotCreated, !again, mode == .initial || mode == .whenNeeded,
            delivery.hasStreamed
        {
            // Kafka holds records this connector streamed from this slot, so a snapshot before them completed: the
            // instance that wrote them (another host's, or this one's before its state directory was lost) kept the
            // record of it. As Debezium's offsets in Kafka would, that says the snapshot is done.
            logger.notice(
                """
                \(state == nil ? "no snapshot state" : "an unfinished snapshot") in \(store.path), but Kafka holds records \
                this connector streamed from slot \(config.postgres.slot): its snapshot was completed (by another \
                instance, or before the state directory was lost); not snapshotting again
                """)
            let done = SnapshotState(slot: config.postgres.slot, completed: true, tablesDone: [])
            try store.save(done)
            state = done
        }
        // Without a state of its own, a snapshot on a slot that was there before may continue another instance's.
        let continues =
            (state != nil && state?.completed == false) || (state == nil && !position.slotCreated && mode != .always)
        // A new slot starts a new history: what an old snapshot completed says nothing about it.
        if position.slotCreated || mode == .always || again { state = nil }
        guard mode != .noData || again || state?.completed == false else { return nil }
        if let state, state.completed, mode != .always, !(mode == .whenNeeded && position.slotCreated) {
            status.update { $0.snapshot.completed = true }
            return nil
        }
        let done = Set((state?.tablesDone ?? []).compactMap { TableName(parsing: $0) })
        let tables = try source.snapshotTables().filter(filter.captures)
        return Plan(
            tables: tables, done: done, previous: state, continues: continues && !again,
            snapshotName: position.slotCreated ? position.snapshotName : nil, store: store)
    }

    /// Emits every row of the plan's tables as `r` events; returns false when stopped before the end.
    func run(_ plan: Plan, at position: SourcePosition, builder: inout ChangeEventBuilder) throws -> Bool {
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
            let metadata = try config.postgres.shaped(
                source.tableMetadata(relationOID: relation.oid), relation: relation)
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
        let tokens = work.map { _ in delivery.tracker.begin() }
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
        builder.beginSnapshot(xid: xid, timeMicros: Pipeline.wallClockNanos() / 1000)
        delivery.snapshotPositions()
        // Each unit's id in the position headers, stable across runs (its table, and its range when split).
        // A range's id holds its bounds, so that a snapshot split another way (by another instance) shares none.
        let unitIDs = work.map { unit in
            SnapshotRowMark.unitID(
                unit.pages.map { "\(unit.table)#\($0.lower)-\($0.upper.map(String.init) ?? "")" } ?? unit.table.description)
        }
        if plan.continues && delivery.resumeSnapshot() {
            logger.info("resuming the snapshot: rows of its unfinished tables and ranges that Kafka holds are not sent again")
        }

        let channel = SnapshotRowChannel(capacity: 16)
        let workers = SnapshotWorkers(readers: readers, work: work, channel: channel)
        handedOver = true
        defer {
            channel.close()
            workers.wait()
        }

        var markers = SnapshotMarkerSequencer<SnapshotRow>(tables: work.map(\.table))
        /// Units read to the end whose rows are all sent: recorded once Kafka acknowledged them.
        var pendingUnits: [Int] = []
        var unitsLeft = work.count
        var rows: UInt64 = 0
        var lastReport = clock.now
        var rowsAtReport: UInt64 = 0
        var clockNanos = Pipeline.wallClockNanos()

        func emit(_ unit: Int, _ row: SnapshotRow, _ marker: ChangeEventBuilder.SnapshotMarker) throws {
            var event: ChangeEvent
            do {
                event = try builder.snapshotRead(
                    row.values, relationOID: work[unit].relation.oid, marker: marker, at: position.start,
                    nowNanos: clockNanos)
            } catch {
                try delivery.unwritable(error, at: position.start, token: tokens[unit])
                return
            }
            event.snapshotRow = row.mark
            try delivery.submit(event, token: tokens[unit])
        }

        func recordFinishedTables() throws {
            let finished = pendingUnits.filter { delivery.tracker.isAcknowledged(token: tokens[$0]) }
            guard !finished.isEmpty else { return }
            pendingUnits.removeAll { delivery.tracker.isAcknowledged(token: tokens[$0]) }
            for unit in finished { state.markDone(work[unit]) }
            try plan.store.save(state)
            for unit in finished { delivery.snapshotUnitRecorded(unitIDs[unit]) }
            let done = state.tablesDone.count
            status.update { $0.snapshot.tablesDone = done }
        }

        func carryOut(_ steps: [SnapshotMarkerSequencer<SnapshotRow>.Step]) throws {
            for step in steps {
                switch step {
                case .emit(let unit, let row, let marker):
                    try emit(unit, row, marker)
                case .complete(let unit):
                    delivery.tracker.commit(token: tokens[unit], endLSN: position.start)
                    pendingUnits.append(unit)
                }
            }
        }

        func pollAndRecord() throws {
            delivery.poll(timeoutMilliseconds: 0)
            try delivery.check()
            try recordFinishedTables()
        }

        while unitsLeft > 0 && !stopSignal.isRequested {
            while delivery.isBackPressured && !stopSignal.isRequested {
                // Back pressure: Kafka is behind, so the readers wait (the channel fills) instead of rows piling up.
                delivery.poll(timeoutMilliseconds: 100)
                try delivery.check()
            }
            guard let item = channel.pop(timeout: .milliseconds(100)) else {
                try pollAndRecord()
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
                let columnCount = unit.relation.columns.count
                clockNanos = Pipeline.wallClockNanos()
                for line in lines {
                    let row: SnapshotRow
                    do {
                        if unit.query == nil {
                            // A table's rows end with their ctid: their place in the unit, kept apart from the values.
                            let (values, tid) = try CopyTextRow.decodeWithTrailing(line, columnCount: columnCount)
                            let place = tid.kind == .text ? SnapshotRowMark.parseTID(values.storage[tid.range]) : nil
                            row = SnapshotRow(
                                values: values,
                                mark: place.map { SnapshotRowMark(unit: unitIDs[index], page: $0.page, item: $0.item) })
                        } else {
                            row = SnapshotRow(values: try CopyTextRow.decode(line, columnCount: columnCount), mark: nil)
                        }
                    } catch {
                        throw PipelineError.decode(lsn: position.start, messageType: nil, payload: line, underlying: error)
                    }
                    if let previous = markers.add(row, unit: index) { try emit(index, previous.row, previous.marker) }
                }
                rows += UInt64(lines.count)
                try pollAndRecord()
                let now = clock.now
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
        let completed = unitsLeft == 0 && !stopSignal.isRequested
        if completed {
            try carryOut(markers.end())
        } else {
            // Stopped: held rows are not sent, so their units count as unfinished and are read again next time,
            // as are units not read to the end. Only completed units (in pendingUnits) are ever recorded.
            logger.info("snapshot stopped; the next start reads the unfinished tables and ranges again")
        }
        // Every unit's transaction is complete now (unfinished ones too, so their sent rows can drain).
        for token in delivery.tracker.openTokens { delivery.tracker.commit(token: token, endLSN: position.start) }
        channel.close()
        // A complete snapshot waits for Kafka to hold every row; a stopped one waits as long as a shutdown does.
        let deadline = clock.now + drainTimeout
        while delivery.tracker.inFlight > 0 && !stopSignal.isUrgent
            && (completed ? !stopSignal.isRequested : clock.now < deadline)
        {
            delivery.poll(timeoutMilliseconds: 100)
            try delivery.check()
            try recordFinishedTables()
        }
        delivery.poll(timeoutMilliseconds: 0)
        try recordFinishedTables()
        let emitted = rows
        if completed && pendingUnits.isEmpty && delivery.tracker.inFlight == 0 {
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
}

/// A snapshot row on its way to the marker sequencer: its values and, for a table's rows (a query's have none), its
/// ctid's place in its unit.
struct SnapshotRow {
    var values: TupleData
    var mark: SnapshotRowMark?
}

extension SnapshotState {
    /// Records that Kafka holds every row of `work`: its range, and its table once every range of it is done.
    mutating func markDone(_ work: SnapshotWork) {
        let key = work.table.description
        guard let range = work.rangeIndex else {
            tablesDone.append(key)
            return
        }
        rangesDone[key, default: []].append(range)
        if rangesDone[key]?.count == ranges[key]?.count {
            tablesDone.append(key)
            ranges[key] = nil
            rangesDone[key] = nil
        }
    }
}
