import Dispatch
import Foundation
public import Logging
import Synchronization

/// Runs one connector on a thread of its own: a pipeline session, and on failure a new one after a back-off.
///
/// A failing connector never stops the others of the process; it reports `reconnecting` or
/// `failed` with its error and tries again.
public final class ConnectorRunner: @unchecked Sendable {
    public let config: ConnectorConfig
    public let status: ConnectorStatus
    private let logger: Logger
    private let makeSource: @Sendable () throws -> any ChangeSource
    private let sink: any EventSink
    private let current = Mutex<Pipeline?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Back-off after a failed session: doubles from `initialBackoff` up to `maximumBackoff`, with jitter.
    public var initialBackoff: Duration = .seconds(1)
    public var maximumBackoff: Duration = .seconds(30)

    public init(
        config: ConnectorConfig, sink: any EventSink, logger: Logger,
        makeSource: @escaping @Sendable () throws -> any ChangeSource
    ) {
        self.config = config
        self.status = ConnectorStatus(name: config.name, slot: config.postgres.slot)
        self.sink = sink
        self.logger = logger
        self.makeSource = makeSource
    }

    public func start() {
        let thread = Thread { [self] in
            runLoop()
            finished.signal()
        }
        thread.name = "connector-\(config.name)"
        thread.start()
    }

    /// Stops the current session (it drains and confirms) and the retry loop.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        current.withLock { $0?.requestStop() }
        wake.signal()
    }

    /// Blocks until the runner has stopped.
    public func wait() {
        finished.wait()
        finished.signal()
    }

    private func runLoop() {
        var backoff = initialBackoff
        var nextToken: UInt64 = 1
        while !stopping.load(ordering: .relaxed) {
            let started = ContinuousClock.now
            do {
                let source = try makeSource()
                let pipeline = Pipeline(
                    config: config, source: source, sink: sink, status: status, logger: logger, firstToken: nextToken)
                current.withLock { $0 = pipeline }
                if stopping.load(ordering: .relaxed) { pipeline.requestStop() }
                defer {
                    nextToken = pipeline.nextToken
                    current.withLock { $0 = nil }
                }
                try pipeline.run()
                status.update { $0.state = .stopped }
                return
            } catch {
                let message = "\(error)"
                let transient = (error as? ConnectorError)?.kind != .configuration
                status.update {
                    $0.state = transient ? .reconnecting : .failed
                    $0.lastError = message
                }
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
        status.update { $0.state = .stopped }
    }
}
