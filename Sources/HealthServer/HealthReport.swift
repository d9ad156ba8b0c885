public import Connector

/// The answers of the health routes, decided from the connectors' status snapshots.
public struct HealthReport: Sendable {
    public var connectors: [ConnectorStatus.Snapshot]
    public var now: ContinuousClock.Instant
    /// A connector whose thread has not shown progress for this long makes the process not live.
    public var stuckAfter: Duration

    public init(connectors: [ConnectorStatus.Snapshot], now: ContinuousClock.Instant = .now, stuckAfter: Duration = .seconds(120))
    {
        self.connectors = connectors
        self.now = now
        self.stuckAfter = stuckAfter
    }

    /// Connectors that make `/health` fail: failed, reconnecting or stopped.
    public var unhealthy: [ConnectorStatus.Snapshot] {
        connectors.filter { [.failed, .reconnecting, .stopped].contains($0.state) }
    }

    /// Connectors that make `/health/ready` fail: anything but streaming, snapshotting or standby.
    ///
    /// A standby is ready: it is a healthy instance waiting for the slot, and a rolling update can only
    /// stop the old instance once the new one is ready. `/health/ready` lists it with its state.
    public var notReady: [ConnectorStatus.Snapshot] {
        connectors.filter { ![.streaming, .snapshotting, .standby].contains($0.state) }
    }

    /// Connectors waiting for another instance to release their slot.
    public var standby: [ConnectorStatus.Snapshot] {
        connectors.filter { $0.state == .standby }
    }

    /// Connectors whose thread looks stuck: `/health/live` fails only for these.
    public var stuck: [ConnectorStatus.Snapshot] {
        connectors.filter { $0.state != .stopped && now - $0.heartbeat > stuckAfter }
    }
}
