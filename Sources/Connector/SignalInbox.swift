import Synchronization

/// Signals sent to a connector from outside its stream (the HTTP endpoint): posted from any thread, taken by the
/// connector's pipeline on its own.
public final class SignalInbox: Sendable {
    private let signals = Mutex<[Signal]>([])
    private let waiting = Atomic<Int>(0)

    public init() {}

    public func post(_ signal: Signal) {
        signals.withLock { $0.append(signal) }
        waiting.add(1, ordering: .releasing)
    }

    /// The signals posted since the last call, in order; cheap when there are none.
    func take() -> [Signal] {
        guard waiting.load(ordering: .acquiring) > 0 else { return [] }
        let taken = signals.withLock { signals in
            defer { signals.removeAll() }
            return signals
        }
        waiting.subtract(taken.count, ordering: .relaxed)
        return taken
    }
}
