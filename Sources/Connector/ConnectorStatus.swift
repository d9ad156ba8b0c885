public import PGOutput
import Synchronization

/// What a connector is doing, readable from any thread (the HTTP endpoint, logs, tests).
public final class ConnectorStatus: Sendable {
    public enum State: String, Sendable, CaseIterable {
        case starting, snapshotting, streaming, reconnecting, standby, failed, stopped
    }

    public struct Snapshot: Sendable {
        public var name: String
        public var state: State
        public var slot: String
        /// Newest position received from the server.
        public var receivedLSN: LSN = .zero
        /// Position confirmed to the server: everything before it is in Kafka.
        public var flushedLSN: LSN = .zero
        /// The server's current end of WAL, as it last said in the stream.
        public var serverLSN: LSN = .zero
        /// How far the newest event read is behind its commit on the server; 0 when caught up.
        public var lagMilliseconds: Int64 = 0
        public var eventsTotal: UInt64 = 0
        public var bytesProduced: UInt64 = 0
        public var inFlight: Int = 0
        public var inFlightBytes: Int = 0
        /// Events Kafka refused for good that `errors.mode` skipped or sent to the dead-letter topic.
        public var eventsSkipped: UInt64 = 0
        public var eventsDeadLettered: UInt64 = 0
        /// Records a session replaying from the slot left out because Kafka already held them (exactly once).
        public var eventsAlreadyDelivered: UInt64 = 0
        /// The slot's WAL retention as last read from the server.
        public var slotHealth: SlotHealth?
        public var deliveryErrors: UInt64 = 0
        public var reconnects: UInt64 = 0
        public var lastError: String?
        /// Snapshot progress; zero when no snapshot ran in this process.
        public var snapshot = SnapshotProgress()
        /// The incremental snapshot under way (signals); nil when none is.
        public var incrementalSnapshot: IncrementalSnapshotProgress?
        /// Last time the connector's thread showed it is not stuck.
        public var heartbeat: ContinuousClock.Instant = .now

        /// WAL the slot holds back: the server's end minus the confirmed position.
        public var lagBytes: UInt64 {
            serverLSN.rawValue > flushedLSN.rawValue ? serverLSN.rawValue - flushedLSN.rawValue : 0
        }
    }

    /// How far an incremental snapshot has come.
    public struct IncrementalSnapshotProgress: Sendable, Equatable {
        /// The table being read (`schema.table`), and the tables waiting after it.
        public var table: String
        public var tablesWaiting: Int
        public var chunks: Int
        public var rowsRead: Int
        /// The table's planner estimate (`pg_class.reltuples`).
        public var rowsEstimated: Int64
        public var paused: Bool

        public init(table: String, tablesWaiting: Int, chunks: Int, rowsRead: Int, rowsEstimated: Int64, paused: Bool) {
            self.table = table
            self.tablesWaiting = tablesWaiting
            self.chunks = chunks
            self.rowsRead = rowsRead
            self.rowsEstimated = rowsEstimated
            self.paused = paused
        }
    }

    /// How far a snapshot has come.
    public struct SnapshotProgress: Sendable, Equatable {
        public var tablesTotal = 0
        public var tablesDone = 0
        public var rowsEmitted: UInt64 = 0
        /// Sum of `pg_class.reltuples` of the tables to read.
        public var rowsEstimated: Int64 = 0
        /// Rows per second over the last progress interval.
        public var rowsPerSecond: Double = 0
        public var completed = false
    }

    private let storage: Mutex<Snapshot>

    public init(name: String, slot: String) {
        storage = Mutex(Snapshot(name: name, state: .starting, slot: slot))
    }

    public var snapshot: Snapshot {
        storage.withLock { $0 }
    }

    @discardableResult
    public func update<R>(_ body: (inout Snapshot) -> R) -> R {
        storage.withLock { body(&$0) }
    }
}
