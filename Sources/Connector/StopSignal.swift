import Synchronization

/// Asks a session running on another thread to stop: the one part of a pipeline other threads may touch.
public final class StopSignal: Sendable {
    /// 0 running, 1 stop after draining Kafka, 2 stop without waiting for Kafka.
    private let level = Atomic<Int>(0)

    public init() {}

    /// Asks the session to stop reading and confirm what Kafka acknowledged: after waiting (bounded) for what is in
    /// flight, or, `urgently`, without waiting. Safe from any thread; an urgent request is never made patient again.
    public func request(urgently: Bool = false) {
        let wanted = urgently ? 2 : 1
        var current = level.load(ordering: .relaxed)
        while current < wanted {
            let (exchanged, original) = level.compareExchange(
                expected: current, desired: wanted, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    public var isRequested: Bool { level.load(ordering: .relaxed) > 0 }

    /// The stop must not wait for Kafka: what is unacknowledged stays unconfirmed and is read again on restart.
    public var isUrgent: Bool { level.load(ordering: .relaxed) > 1 }
}
