import PGOutput

/// When a streaming session talks to the server on its own: standby status updates, the liveness tick of
/// `/status`, slot checks, heartbeats, and the keepalive requests that tell a quiet stream from a dead connection.
///
/// A value type that is handed the time: each method takes `now` and says what is due, assuming the caller does it,
/// so every rule can be tested at any instant without waiting.
struct StreamSchedule {
    /// A status update goes at least this often.
    let statusInterval: Duration
    /// How long the stream may stay silent, even when asked for a keepalive, before the connection is given up.
    let receiveTimeout: Duration
    /// How often a heartbeat runs; nil = never.
    let heartbeatInterval: Duration?
    /// A moved position is confirmed soon, but not more often than this.
    static let statusSpacing: Duration = .milliseconds(100)
    /// How long the loop waits for a frame while Kafka has events to acknowledge: an acknowledgement is confirmed to
    /// the server within about this, rather than when the next frame or status tick comes.
    static let acknowledgementWait: Duration = .milliseconds(2)
    /// How often `/status` learns that the session is alive.
    static let livenessInterval: Duration = .seconds(1)

    var slotCheckInterval: Duration { min(statusInterval, .seconds(10)) }

    private var lastStatus: ContinuousClock.Instant
    private var lastFlushSent: LSN
    /// When a status update last confirmed a position further on than the one before it.
    private var lastMoveSent: ContinuousClock.Instant
    private var lastLiveness: ContinuousClock.Instant
    private var lastSlotCheck: ContinuousClock.Instant
    private var lastHeartbeat: ContinuousClock.Instant
    /// When the stream went quiet (no frame since, while the pipeline waited for one); nil while frames come.
    private var silentSince: ContinuousClock.Instant?
    private var lastKeepaliveRequest: ContinuousClock.Instant

    init(statusInterval: Duration, receiveTimeout: Duration, heartbeatInterval: Duration?, now: ContinuousClock.Instant) {
        self.statusInterval = statusInterval
        self.receiveTimeout = receiveTimeout
        self.heartbeatInterval = heartbeatInterval
        let long = now - .seconds(3600)
        lastStatus = long
        lastMoveSent = long
        lastFlushSent = .zero
        lastLiveness = now
        lastSlotCheck = long
        lastHeartbeat = now
        lastKeepaliveRequest = long
    }

    /// What may be due at any tick.
    struct Due: OptionSet {
        let rawValue: UInt8
        /// Tell `/status` the session is alive.
        static let liveness = Due(rawValue: 1)
        /// Read the slot's WAL retention.
        static let slotCheck = Due(rawValue: 2)
        /// Send a standby status update (then call `statusSent`).
        static let status = Due(rawValue: 4)
    }

    /// What is due at `now`, when `flush` is the position a status update would confirm. Liveness and slot checks
    /// are taken as done; a status update is done when `statusSent` says so.
    mutating func due(now: ContinuousClock.Instant, flush: LSN) -> Due {
        var due: Due = []
        if now - lastLiveness >= Self.livenessInterval {
            lastLiveness = now
            due.insert(.liveness)
        }
        if now - lastSlotCheck >= slotCheckInterval {
            lastSlotCheck = now
            due.insert(.slotCheck)
        }
        let sinceStatus = now - lastStatus
        // The spacing counts from the last update that moved the position: one sent for another reason (the interval,
        // the session's first, a keepalive's reply) does not hold back the first position that moves after it.
        if sinceStatus >= statusInterval || (flush != lastFlushSent && now - lastMoveSent >= Self.statusSpacing) {
            due.insert(.status)
        }
        return due
    }

    /// A status update confirming `flush` went to the server at `now` (due, asked for, or on the way out).
    mutating func statusSent(now: ContinuousClock.Instant, flush: LSN) {
        lastStatus = now
        if flush != lastFlushSent { lastMoveSent = now }
        lastFlushSent = flush
    }

    /// The position the session starts from counts as confirmed.
    mutating func started(at position: LSN) {
        lastFlushSent = position
    }

    /// How long to wait for a frame when none is ready: until the next status update is due, from 1 to 100 ms; while
    /// Kafka has events to acknowledge, `acknowledgementWait` at most, so that an acknowledgement is confirmed at once.
    func readTimeoutMilliseconds(now: ContinuousClock.Instant, awaitingAcknowledgements: Bool = false) -> Int {
        let untilStatus = lastStatus + statusInterval - now
        let longest = awaitingAcknowledgements ? Self.acknowledgementWait : .milliseconds(100)
        return max(1, Int(min(longest, untilStatus) / .milliseconds(1)))
    }

    /// Whether a heartbeat is due at `now` (taken as done).
    mutating func heartbeatDue(now: ContinuousClock.Instant) -> Bool {
        guard let heartbeatInterval, now - lastHeartbeat >= heartbeatInterval else { return false }
        lastHeartbeat = now
        return true
    }

    // MARK: Silence

    /// What to do about a stream that has been quiet.
    enum Silence: Equatable {
        case wait
        /// Send a status update that asks the server to reply.
        case askForKeepalive
        /// Nothing came for the whole timeout, not even the reply to a request: the connection is dead.
        case giveUp
    }

    /// A frame arrived, or reading was paused for Kafka: the stream is not silent.
    mutating func heard() {
        silentSince = nil
    }

    /// No frame was ready at `now`. After a third of the timeout the server is asked for a keepalive, once per
    /// third; after all of it, and a third since a request made during the silence, the connection is given up.
    /// So a pipeline whose own thread was held up asks before it concludes anything.
    mutating func quiet(now: ContinuousClock.Instant) -> Silence {
        guard let since = silentSince else {
            silentSince = now
            return .wait
        }
        let third = receiveTimeout / 3
        let askedDuringSilence = lastKeepaliveRequest >= since
        let sinceAsked = now - lastKeepaliveRequest
        if now - since >= receiveTimeout && askedDuringSilence && sinceAsked >= third { return .giveUp }
        if now - since >= third && (!askedDuringSilence || sinceAsked >= third) {
            lastKeepaliveRequest = now
            return .askForKeepalive
        }
        return .wait
    }
}
