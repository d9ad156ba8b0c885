import DequeModule
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the replication stream on a thread of its own and hands frames over in batches.
///
/// The walsender blocks whenever the socket between it and us is full, and that socket holds only
/// a few hundred small messages. Draining it here, while the pipeline thread decodes, encodes and
/// produces, keeps the walsender sending and lets the two overlap on separate cores. The queue is
/// bounded in frames and bytes: a pipeline that waits for Kafka stops this thread, which stops
/// reading the socket, which stops the walsender, as before.
final class StreamReader: @unchecked Sendable {
    private let connection: LibpqConnection
    /// Serialises libpq calls: this thread's reads against the owner's `send` and `close`.
    private let libpq = NSLock()
    /// Guards everything below.
    private let state = NSCondition()
    private var queue = FrameQueue(maxBatches: StreamReader.queueBatches, maxBytes: StreamReader.queueBytes)
    private var failure: PostgresError?
    private var stopping = false
    private var running = true

    /// The owner's batch being read; touched only by the owner's thread.
    private var current: [[UInt8]] = []
    private var currentIndex = 0

    static let batchFrames = 1024
    static let batchBytes = 1 << 20
    static let queueBatches = 8
    static let queueBytes = 16 << 20

    init(connection: LibpqConnection) {
        self.connection = connection
        let thread = Thread { [self] in
            run()
            state.lock()
            running = false
            state.broadcast()
            state.unlock()
        }
        thread.name = "replication-reader"
        thread.start()
    }

    private func run() {
        while true {
            var batch: [[UInt8]] = []
            var bytes = 0
            var needInput = false
            var error: PostgresError?
            libpq.lock()
            do {
                while batch.count < Self.batchFrames && bytes < Self.batchBytes {
                    guard case .data(let frame) = try connection.nextCopyData() else {
                        needInput = true
                        break
                    }
                    bytes += frame.count
                    batch.append(frame)
                }
            } catch let caught {
                error = caught
            }
            libpq.unlock()
            if !batch.isEmpty && !push(batch, bytes: bytes) { return }
            if let error {
                state.lock()
                failure = error
                state.broadcast()
                state.unlock()
                return
            }
            guard needInput else { continue }
            do {
                // Waiting needs no lock: only the socket is touched, and the owner's writes do not read it.
                guard try connection.waitReadable(timeoutMilliseconds: 50) else {
                    if isStopping { return }
                    continue
                }
                libpq.lock()
                defer { libpq.unlock() }
                try connection.consumeInput()
            } catch let caught {
                state.lock()
                failure = caught
                state.broadcast()
                state.unlock()
                return
            }
        }
    }

    private var isStopping: Bool {
        state.lock()
        defer { state.unlock() }
        return stopping
    }

    /// Queues a batch, waiting while the queue is full; false once stopping.
    private func push(_ batch: [[UInt8]], bytes: Int) -> Bool {
        state.lock()
        defer { state.unlock() }
        while !stopping && !queue.hasRoom(for: bytes) {
            state.wait()
        }
        guard !stopping else { return false }
        queue.append(batch, bytes: bytes)
        state.broadcast()
        return true
    }

    /// The next frame, waiting up to `timeoutMilliseconds`; nil when none came. Throws the stream's
    /// failure once every frame read before it has been returned.
    func next(timeoutMilliseconds: Int) throws(PostgresError) -> [UInt8]? {
        if currentIndex < current.count {
            defer { currentIndex += 1 }
            return current[currentIndex]
        }
        state.lock()
        defer { state.unlock() }
        if queue.isEmpty && failure == nil {
            let deadline = Date(timeIntervalSinceNow: Double(timeoutMilliseconds) / 1000)
            while queue.isEmpty && failure == nil && running {
                if !state.wait(until: deadline) { break }
            }
        }
        guard let frames = queue.popFirst() else {
            if let failure { throw failure }
            if !running { throw PostgresError(.connection, "the replication reader stopped") }
            return nil
        }
        state.broadcast()
        current = frames
        currentIndex = 1
        return frames[0]
    }

    /// Runs `body` with the connection while the reading thread keeps off it.
    func withConnection<T>(_ body: (LibpqConnection) throws(PostgresError) -> T) throws(PostgresError) -> T {
        libpq.lock()
        defer { libpq.unlock() }
        return try body(connection)
    }

    /// Stops the reading thread and waits for it; frames not yet returned are dropped.
    func stop() {
        state.lock()
        stopping = true
        state.broadcast()
        while running { state.wait() }
        queue.removeAll()
        state.unlock()
    }
}

/// The batches read and not yet taken, bounded in batches and bytes: the back pressure that stops the reading thread,
/// and with it the walsender, while the pipeline waits for Kafka. Not locked itself: `StreamReader` guards it.
struct FrameQueue {
    let maxBatches: Int
    let maxBytes: Int
    private var batches: Deque<(frames: [[UInt8]], bytes: Int)> = []
    private(set) var bytes = 0

    init(maxBatches: Int, maxBytes: Int) {
        self.maxBatches = maxBatches
        self.maxBytes = maxBytes
    }

    var isEmpty: Bool { batches.isEmpty }
    var count: Int { batches.count }

    /// Whether a batch of `bytes` may be queued now. An empty queue takes any batch, so one larger than the byte
    /// limit still goes through, alone.
    func hasRoom(for bytes: Int) -> Bool {
        batches.isEmpty || (batches.count < maxBatches && self.bytes + bytes <= maxBytes)
    }

    mutating func append(_ frames: [[UInt8]], bytes: Int) {
        batches.append((frames, bytes))
        self.bytes += bytes
    }

    mutating func popFirst() -> [[UInt8]]? {
        guard let batch = batches.popFirst() else { return nil }
        bytes -= batch.bytes
        return batch.frames
    }

    mutating func removeAll() {
        batches.removeAll()
        bytes = 0
    }
}
