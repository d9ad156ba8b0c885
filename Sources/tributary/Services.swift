import Connector
import Dispatch
import Foundation
import KafkaSink
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The connectors as one service: started together, stopped together. Each runs on a thread of its own; a graceful
/// shutdown drains and confirms, a cancellation stops them at once.
struct ConnectorsService: Service {
    let runners: [ConnectorRunner]

    func run() async throws {
        runners.forEach { $0.start() }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    for runner in runners { group.addTask { await runner.finished() } }
                }
            } onGracefulShutdown: {
                runners.forEach { $0.stop() }
            }
        } onCancel: {
            runners.forEach { $0.stop(urgently: true) }
        }
    }
}

/// The Kafka producers and the embedded cluster: closed once every connector has stopped (so nothing still sends
/// through them), the cluster after the producers (so they do not log its disappearance), within 10 s. Every
/// connector has confirmed what Kafka acknowledged by then, so a client stuck in its own shutdown is left behind.
struct KafkaClientsService: Service {
    let runners: [ConnectorRunner]
    private let clients: Clients
    let logger: Logger

    init(
        runners: [ConnectorRunner], sinks: [KafkaEventSink], registries: [RegistryAdapter] = [], embedded: EmbeddedKafka?,
        logger: Logger
    ) {
        self.runners = runners
        self.clients = Clients(sinks: sinks, registries: registries, embedded: embedded)
        self.logger = logger
    }

    func run() async throws {
        // Until the group shuts down: gracefully (this returns) or cancelled (this throws).
        let cancelled = (try? await gracefulShutdown()) == nil
        // The connectors stop first (graceful shutdown goes in reverse order; a cancellation stops them at once).
        for runner in runners { await runner.finished() }
        // Cancelled means stopping at once: the process ends, and the clients with it.
        guard !cancelled else { return }
        let clients = self.clients
        // Whichever comes first, the closing thread or the deadline, resumes the wait, once; nothing waits on a
        // thread stuck in librdkafka after that (a task group would: it waits for all of its children).
        let outcome = Outcome()
        let closed = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            outcome.set(continuation)
            Thread {
                clients.sinks.forEach { $0.close() }
                clients.registries.forEach { $0.close() }
                clients.embedded?.close()
                outcome.resume(true)
            }.start()
            DispatchQueue.global().asyncAfter(deadline: .now() + 10) { outcome.resume(false) }
        }
        if !closed {
            logger.warning("the Kafka client did not close within 10 s; exiting anyway (what Kafka acknowledged is confirmed)")
        }
    }

    /// Resumes a continuation once, with the first value given.
    private final class Outcome: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<Bool, Never>?, value: Bool?)>((nil, nil))

        func set(_ continuation: CheckedContinuation<Bool, Never>) {
            let ready = state.withLock { state -> Bool? in
                if let value = state.value { return value }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }

        func resume(_ value: Bool) {
            let waiting = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard state.value == nil else { return nil }
                state.value = value
                defer { state.continuation = nil }
                return state.continuation
            }
            waiting?.resume(returning: value)
        }
    }

    /// The connectors' threads use the producers while they run; this service closes them, on a thread of its own,
    /// only once every connector has stopped.
    private struct Clients: @unchecked Sendable {
        let sinks: [KafkaEventSink]
        let registries: [RegistryAdapter]
        let embedded: EmbeddedKafka?
    }
}

/// Counts SIGTERM and SIGINT while the group runs (the group itself reacts to the first): the first starts the
/// drain, a second stops every connector at once, confirming only what Kafka acknowledged, and the process ends with
/// a failure status. Shut down last, so it listens until everything else has stopped.
final class SecondSignalService: Service, Sendable {
    let runners: [ConnectorRunner]
    let logger: Logger
    private let count = Atomic<Int>(0)

    init(runners: [ConnectorRunner], logger: Logger) {
        self.runners = runners
        self.logger = logger
    }

    /// Whether a second signal stopped the connectors without waiting for Kafka.
    var stoppedUrgently: Bool { count.load(ordering: .relaxed) > 1 }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        try await cancelWhenGracefulShutdown {
            for await _ in signals {
                if self.count.add(1, ordering: .relaxed).newValue == 1 {
                    self.logger.info("stopping: draining Kafka and confirming; send the signal again to exit at once")
                } else {
                    self.logger.warning("second signal: exiting at once")
                    // Ends the group: the connectors stop at once (a cancellation), the Kafka clients are left as they are.
                    self.runners.forEach { $0.stop(urgently: true) }
                    throw CancellationError()
                }
            }
        }
    }
}
