/// Where a session reads the time for its schedule and its bounded waits: the system's monotonic clock, or in tests a
/// clock they move, so that silence, heartbeats and drains are checked at exact instants without waiting.
public protocol SessionClock: Sendable {
    var now: ContinuousClock.Instant { get }
}

/// The system's monotonic clock.
public struct SystemSessionClock: SessionClock {
    public init() {}

    public var now: ContinuousClock.Instant { .now }
}
