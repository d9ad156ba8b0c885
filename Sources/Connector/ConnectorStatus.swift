public import PGOutput
import Synchronization

/// What a connector is doing, readable from any thread (the HTTP endpoint, logs, tests).
public final class ConnectorStatus: Sendable {
    public enum State: String, Sendable {
        case starting, snapshotting, streaming, reconnecting, standby, failed, stopped
    }

    public struct Snapshot: Sendable {
        public var name: String
        public var state: State
        public var slot: String
        public var receivedLSN: LSN
        public var flushedLSN: LSN
        public var eventsTotal: UInt64
        public var lastError: String?
    }

    private let storage: Mutex<Snapshot>

    public init(name: String, slot: String) {
        storage = Mutex(
            Snapshot(
                name: name, state: .starting, slot: slot, receivedLSN: .zero, flushedLSN: .zero, eventsTotal: 0,
                lastError: nil))
    }

    public var snapshot: Snapshot {
        storage.withLock { $0 }
    }

    public func update(_ body: (inout Snapshot) -> Void) {
        storage.withLock { body(&$0) }
    }
}
