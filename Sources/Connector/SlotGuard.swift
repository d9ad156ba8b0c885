import Logging
import PGOutput

/// Keeps the slot record and acts on what it says: before a session opens the slot, whether another process holds
/// it and whether it still continues the stream this connector confirmed (`postgres.on_slot_lost` decides what a
/// lost slot leads to); while it streams, the record is saved before every status update that confirms further.
///
/// Used on the session's thread; not shared.
struct SlotGuard {
    /// What a lost slot leads to for this session.
    struct Recovery: Equatable {
        /// Read every captured table again before streaming.
        var snapshot = false
        /// Drop the slot and create it again (it exists but cannot be streamed from).
        var replaceSlot = false
    }

    private let config: ConnectorConfig
    private let metrics: ConnectorMetrics
    private let logger: Logger
    let records: SlotRecordStore
    /// The record as saved last; nil before the first start.
    private(set) var record: SlotRecord?

    init(config: ConnectorConfig, metrics: ConnectorMetrics, logger: Logger) throws {
        self.config = config
        self.metrics = metrics
        self.logger = logger
        records = SlotRecordStore(directory: config.snapshot.stateDirectory, connector: config.name)
        record = try records.load()
    }

    /// Judges the slot the server has against the record. Throws `slotInUse` while another process streams from the
    /// slot, and a configuration error when the slot is lost and `on_slot_lost` is `fail`.
    mutating func admit(_ observation: SlotObservation, nowNanos: Int64) throws -> Recovery {
        try standByIfHeld(observation, nowNanos: nowNanos)
        return try continuity(observation)
    }

    /// Records the position the session starts from, on the slot the server has.
    mutating func started(_ observation: SlotObservation, at position: SourcePosition, nowNanos: Int64) throws {
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
            confirmedAt: SlotRecord.timestamp(nanos: nowNanos))
        try records.save(started)
        record = started
    }

    /// Saves `flush` before a status update confirms it: the record never falls behind the slot, so a slot found
    /// further on was moved by another.
    mutating func confirming(_ flush: LSN, nowNanos: Int64) throws {
        guard var record, flush > record.confirmedLSN else { return }
        record.confirmedLSN = flush
        record.confirmedAt = SlotRecord.timestamp(nanos: nowNanos)
        try records.save(record)
        self.record = record
    }

    /// When another instance of this connector streams from the slot, the record follows the slot, so taking over
    /// from it later is not mistaken for a gap.
    private mutating func standByIfHeld(_ observation: SlotObservation, nowNanos: Int64) throws {
        if observation.slot?.activePID == nil, let holder = observation.lockHolderPID {
            // Two instances starting at once would both snapshot and both write: one waits.
            throw ConnectorError(
                .slotInUse,
                "another instance of this connector (server process \(holder)) is starting or snapshotting and holds the "
                    + "connector's lock until it streams; standing by until it is released")
        }
        guard let slot = observation.slot, let pid = slot.activePID else { return }
        if slot.heldBySameConnector, var record, record.slot == config.postgres.slot,
            record.systemIdentifier == observation.systemIdentifier, let position = slot.confirmedFlush
        {
            record.confirmedLSN = position
            record.timeline = observation.timeline
            record.confirmedAt = SlotRecord.timestamp(nanos: nowNanos)
            record.peerStreaming = true
            try records.save(record)
            self.record = record
        }
        throw ConnectorError(
            .slotInUse,
            "replication slot \(config.postgres.slot) is in use by server process \(pid) "
                + (slot.heldBySameConnector ? "(another instance of this connector)" : "(another program)")
                + "; standing by until it is released")
    }

    private func continuity(_ observation: SlotObservation) throws -> Recovery {
        let continuity = SlotContinuity.check(record: record, slot: config.postgres.slot, server: observation)
        if let record, record.timeline != observation.timeline, continuity == .continues {
            logger.notice(
                "the server was promoted (timeline \(record.timeline) → \(observation.timeline)); its copy of the slot continues the stream",
                metadata: ["slot": "\(config.postgres.slot)"])
        }
        guard case .lost(let loss) = continuity else { return Recovery() }
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
            return Recovery(snapshot: true, replaceSlot: loss.slotMustBeReplaced)
        case .acceptGap:
            logger.critical(
                "\(loss); streaming on from the current position, as postgres.on_slot_lost is accept_gap: those changes stay missing",
                metadata: ["slot": "\(config.postgres.slot)"])
            return Recovery(snapshot: false, replaceSlot: loss.slotMustBeReplaced)
        }
    }
}
