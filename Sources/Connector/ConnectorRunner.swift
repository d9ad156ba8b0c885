import Dispatch
import Foundation
public import Logging
import Synchronization

/// Runs one connector on a thread of its own: a pipeline session, and on failure a new one after a back-off.
///
/// A failing connector never stops the others of the process; it reports `reconnecting` or
/// `failed` with its error and tries again.
/// - Important: `@unchecked` because the sink and the metrics are used by the connector's own thread only; other
///   threads call `stop`, `wait` and `finished`, which go through a `Mutex`, an `Atomic` and semaphores.
public final class ConnectorRunner: @unchecked Sendable {
    public let config: ConnectorConfig
    public let status: ConnectorStatus
    private let logger: Logger
    private let makeSource: @Sendable () throws -> any ChangeSource
    private let sink: any EventSink
    /// The running session's stop signal: the only part of a pipeline another thread touches.
    private let current = Mutex<StopSignal?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let urgent = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let completion = Mutex<(started: Bool, done: Bool, waiters: [CheckedContinuation<Void, Never>])>(
        (false, false, []))
    private let metrics: ConnectorMetrics
    private let registry: (any SchemaRegistry & Sendable)?
    /// Signals from outside the stream (the HTTP endpoint), for the session that runs.
    public let signals = SignalInbox()

    /// Back-off after a failed session: doubles from `initialBackoff` up to `maximumBackoff`, with jitter.
    public let initialBackoff: Duration
    public let maximumBackoff: Duration
    /// How often a standby instance asks whether the slot is free.
    public let standbyPollInterval: Duration = .seconds(1)

    public init(
        config: ConnectorConfig, sink: any EventSink, logger: Logger, registry: (any SchemaRegistry & Sendable)? = nil,
        makeSource: @escaping @Sendable () throws -> any ChangeSource
    ) {
        self.registry = registry
        self.config = config
        self.status = ConnectorStatus(name: config.name, slot: config.postgres.slot)
        self.sink = sink
        self.logger = logger
        self.makeSource = makeSource
        self.metrics = ConnectorMetrics(connector: config.name)
        self.initialBackoff = config.errors.retryBackoff
        self.maximumBackoff = config.errors.retryMaxBackoff
    }

    /// Starts the connector's thread; does nothing once stopped (a runner stopped before it started is finished).
    public func start() {
        let starts = completion.withLock { state in
            guard !state.started, !state.done else { return false }
            state.started = true
            return true
        }
        guard starts else { return }
        let thread = Thread { [self] in
            runLoop()
            complete()
        }
        thread.name = "connector-\(config.name)"
        thread.start()
    }

    private func complete() {
        finished.signal()
        let waiters = completion.withLock { state in
            state.done = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Stops the current session and the retry loop. The session confirms what Kafka acknowledged, after waiting
    /// (bounded) for what is in flight, or, `urgently`, at once.
    public func stop(urgently: Bool = false) {
        stopping.store(true, ordering: .relaxed)
        if urgently { urgent.store(true, ordering: .relaxed) }
        current.withLock { $0?.request(urgently: urgently) }
        wake.signal()
        let neverStarted = completion.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        if neverStarted { complete() }
    }

    /// Blocks until the runner has stopped.
    public func wait() {
        finished.wait()
        finished.signal()
    }

    /// Suspends until the runner has stopped.
    public func finished() async {
        await withCheckedContinuation { continuation in
            let done = completion.withLock { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    static func classify(_ error: any Error) -> ConnectorError.Kind {
        if let error = error as? ConnectorError { return error.kind }
        if let error = error as? PipelineError, error.isPermanent { return .configuration }
        return .transient
    }

    private func runLoop() {
        var backoff = initialBackoff
        var nextToken: UInt64 = 1
        while !stopping.load(ordering: .relaxed) {
            let started = ContinuousClock.now
            do {
                let source = try makeSource()
                let pipeline = Pipeline(
                    config: config, source: source, sink: sink, status: status, logger: logger, firstToken: nextToken,
                    registry: registry, signals: signals)
                current.withLock { $0 = pipeline.stopSignal }
                if stopping.load(ordering: .relaxed) {
                    pipeline.stopSignal.request(urgently: urgent.load(ordering: .relaxed))
                }
                defer {
                    nextToken = pipeline.nextToken
                    current.withLock { $0 = nil }
                }
                try pipeline.run()
                metrics.record(
                    status.update {
                        $0.state = .stopped; return $0
                    })
                return
            } catch {
                let message = "\(error)"
                let kind = Self.classify(error)
                if kind == .slotInUse {
                    // Another instance streams from the slot: wait as a standby, and take over once it is free.
                    let previous = status.update {
                        let previous = $0.state
                        $0.state = .standby
                        $0.lastError = message
                        $0.heartbeat = .now
                        return previous
                    }
                    if previous != .standby {
                        logger.notice(
                            "standby: another instance holds the slot; taking over when it is released",
                            metadata: ["slot": "\(config.postgres.slot)", "detail": "\(message)"])
                    }
                    metrics.record(status.snapshot)
                    backoff = initialBackoff
                    let millis = Int(standbyPollInterval * Double.random(in: 0.8...1.2) / .milliseconds(1))
                    _ = wake.wait(timeout: .now() + .milliseconds(millis))
                    continue
                }
                let transient = kind == .transient
                let snapshot = status.update {
                    $0.state = transient ? .reconnecting : .failed
                    $0.lastError = message
                    $0.reconnects += 1
                    $0.heartbeat = .now
                    return $0
                }
                metrics.countReconnect()
                metrics.record(snapshot)
                if ContinuousClock.now - started > .seconds(60) { backoff = initialBackoff }
                let jitter = Double.random(in: 0.8...1.2)
                let delay = backoff * jitter
                logger.error(
                    "connector session ended; retrying",
                    metadata: [
                        "error": "\(message)", "retry_in": "\(delay)", "state": "\(transient ? "reconnecting" : "failed")",
                    ])
                let millis = Int(delay / .milliseconds(1))
                _ = wake.wait(timeout: .now() + .milliseconds(millis))
                backoff = min(backoff * 2, maximumBackoff)
            }
        }
        metrics.record(
            status.update {
                $0.state = .stopped; return $0
            })
    }
}
