public import PGOutput

/// What the server says of the connector's slot before streaming starts; nothing has been created or changed yet.
public struct SlotObservation: Sendable, Equatable {
    /// `IDENTIFY_SYSTEM`'s systemid.
    public var systemIdentifier: String
    public var timeline: Int
    public var databaseName: String
    /// The configured slot as `pg_replication_slots` shows it; nil when there is none.
    public var slot: Slot?
    /// The server process of another instance of this connector that holds the connector's lock while it starts or
    /// snapshots (before its slot is active); nil when this session holds it.
    public var lockHolderPID: Int?

    public struct Slot: Sendable, Equatable {
        public var confirmedFlush: LSN?
        /// Why the server invalidated the slot (`wal_removed`, `rows_removed`, …), or nil while it can stream.
        public var invalidation: String?
        /// The server process streaming from the slot now, if any.
        public var activePID: Int?
        /// Whether that process serves another instance of this connector (its `application_name` is this one's).
        public var heldBySameConnector: Bool

        public init(confirmedFlush: LSN?, invalidation: String? = nil, activePID: Int? = nil, heldBySameConnector: Bool = false) {
            self.confirmedFlush = confirmedFlush
            self.invalidation = invalidation
            self.activePID = activePID
            self.heldBySameConnector = heldBySameConnector
        }
    }

    public init(systemIdentifier: String, timeline: Int, databaseName: String, slot: Slot?, lockHolderPID: Int? = nil) {
        self.lockHolderPID = lockHolderPID
        self.systemIdentifier = systemIdentifier
        self.timeline = timeline
        self.databaseName = databaseName
        self.slot = slot
    }
}

/// Whether streaming from the configured slot continues what the connector last confirmed, or leaves a gap.
public enum SlotContinuity: Sendable, Equatable {
    /// No record: the connector's first start (or its state directory was not kept).
    case firstStart
    /// The slot is there, on the same cluster, at or before the recorded position: nothing is skipped.
    case continues
    /// Streaming on would skip changes the connector never published.
    case lost(SlotLoss)

    /// Compares the record of the last run with what the server has now.
    public static func check(record: SlotRecord?, slot: String, server: SlotObservation) -> SlotContinuity {
        guard let record else { return .firstStart }
        func lost(_ reason: SlotLoss.Reason) -> SlotContinuity {
            .lost(SlotLoss(reason: reason, slot: slot, record: record, server: server))
        }
        // Positions of another cluster say nothing about this one's, even where a slot of the same name exists.
        if record.systemIdentifier != server.systemIdentifier { return lost(.otherSystem) }
        guard let existing = server.slot else { return lost(.missing) }
        if let reason = existing.invalidation { return lost(.invalidated(reason)) }
        // A slot seen in the hands of another instance of this connector moved on with it: that is no gap.
        if let position = existing.confirmedFlush, position > record.confirmedLSN, !record.peerStreaming {
            return lost(.advanced(position))
        }
        return .continues
    }
}

/// A slot that cannot continue the connector's stream, with the facts an operator needs.
public struct SlotLoss: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// No slot of the configured name on the server.
        case missing
        /// The server invalidated the slot (its WAL was removed, or rows it needed were vacuumed away).
        case invalidated(String)
        /// The slot confirms a position past the recorded one: someone else advanced it, or created it anew.
        case advanced(LSN)
        /// The server is another cluster than the one the connector streamed from.
        case otherSystem
    }

    public var reason: Reason
    /// The configured slot.
    public var slot: String
    public var record: SlotRecord
    public var server: SlotObservation

    /// Whether the slot must be dropped before a new one of the same name can stream.
    public var slotMustBeReplaced: Bool {
        if case .invalidated = reason { return true }
        return false
    }

    /// What the server's invalidation reason means and what keeps it from happening again.
    static func explanation(_ reason: String) -> String {
        switch reason {
        case "wal_removed":
            return ": the WAL it needed was removed, as max_slot_wal_keep_size allows while the connector is behind or "
                + "stopped; raise it, and alert on tributary_slot_retained_wal_bytes"
        case "rows_removed":
            return ": rows its decoding needed were vacuumed away (on a standby, turn hot_standby_feedback on)"
        case "wal_level_insufficient":
            return ": wal_level fell below logical (on the primary, for a standby's slot); set it back to logical"
        case "idle_timeout":
            return ": it was unused for longer than idle_replication_slot_timeout; raise that setting (0 turns it off) "
                + "above the longest time the connector may be stopped"
        default:
            return ""
        }
    }

    /// What happened and what is missing, in one sentence.
    public var description: String {
        let since = "after \(record.confirmedLSN), which this connector confirmed at \(record.confirmedAt)"
        let renamed =
            record.slot == slot ? "" : " (postgres.slot was \(record.slot) when the connector last streamed; it is \(slot) now)"
        let promoted =
            record.timeline == server.timeline
            ? "" : "; the server's timeline went from \(record.timeline) to \(server.timeline), so it was promoted"
        switch reason {
        case .missing:
            return "replication slot \(slot) does not exist on the server\(renamed)\(promoted): every change committed "
                + "\(since), is missing from Kafka and cannot be read from WAL any more"
        case .invalidated(let why):
            return "replication slot \(slot) was invalidated by the server (\(why)\(Self.explanation(why)))\(promoted): "
                + "the changes committed \(since), can no longer be read from it and are missing from Kafka"
        case .advanced(let position):
            return "replication slot \(slot) confirms \(position), past what this connector confirmed\(renamed)\(promoted): "
                + "something else advanced or re-created it, so the changes committed \(since), up to \(position) "
                + "are missing from Kafka"
        case .otherSystem:
            return "the server is another PostgreSQL cluster (system identifier \(server.systemIdentifier)) than the one "
                + "this connector streamed from (\(record.systemIdentifier), slot \(record.slot)): its positions cannot "
                + "continue that stream, so changes committed \(since), may be missing from Kafka"
        }
    }
}
