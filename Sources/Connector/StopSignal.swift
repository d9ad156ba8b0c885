import Synchronization

/// Asks a session running on another thread to stop: the one part of a pipeline other threads may touch.
public final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)

    public init() {}

    /// Asks the session to stop reading, drain Kafka, confirm and return. Safe from any thread.
    public func request() {
        requested.store(true, ordering: .relaxed)
    }

    public var isRequested: Bool { requested.load(ordering: .relaxed) }
}
