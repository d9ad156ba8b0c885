import DequeModule
public import PGOutput

/// Decides which LSN may be confirmed to PostgreSQL: the end of the newest transaction all of whose
/// events, and all earlier ones, Kafka has acknowledged.
///
/// Each transaction gets a token, carried by its events through the sink and back in the delivery
/// reports. When nothing is in flight the position follows the newest commit or keepalive, so an
/// idle or filtered-out stream does not pin WAL on the server.
public struct CheckpointTracker: Sendable {
    struct Entry: Sendable {
        /// Set at commit; nil while the transaction is still being read.
        var endLSN: LSN?
        var pending: Int
    }

    private var entries: Deque<Entry> = []
    /// Token of `entries.first`.
    private var headToken: UInt64
    private var nextToken: UInt64
    /// The newest position whose events are all acknowledged.
    public private(set) var acknowledged: LSN
    /// The newest position the server said it has sent (commit end or keepalive).
    private var serverPosition: LSN
    /// Events sent and not yet reported.
    public private(set) var inFlight = 0

    /// - Parameters:
    ///   - start: the slot's confirmed position.
    ///   - firstToken: tokens start here; reports for older tokens (an earlier session's) are ignored.
    public init(start: LSN, firstToken: UInt64 = 1) {
        acknowledged = start
        serverPosition = start
        headToken = firstToken
        nextToken = firstToken
    }

    /// The next token this tracker will hand out.
    public var tokenWatermark: UInt64 { nextToken }

    /// The position to send as `flush` in the next standby status update.
    public var flushPosition: LSN {
        entries.isEmpty ? max(acknowledged, serverPosition) : acknowledged
    }

    /// Transactions read (or being read) and not yet confirmable.
    public var openTransactions: Int { entries.count }

    /// Starts a transaction and returns the token its events carry.
    public mutating func begin() -> UInt64 {
        entries.append(Entry(endLSN: nil, pending: 0))
        defer { nextToken += 1 }
        return nextToken
    }

    public mutating func sent(token: UInt64) {
        guard let index = index(of: token) else { return }
        entries[index].pending += 1
        inFlight += 1
    }

    /// Marks the transaction complete at `endLSN` (the commit record's end).
    public mutating func commit(token: UInt64, endLSN: LSN) {
        guard let index = index(of: token) else { return }
        entries[index].endLSN = endLSN
        advance()
    }

    /// Kafka acknowledged one event of the transaction.
    public mutating func delivered(token: UInt64) {
        guard let index = index(of: token), entries[index].pending > 0 else { return }
        entries[index].pending -= 1
        inFlight -= 1
        advance()
    }

    /// A keepalive: the server has sent everything before `position`.
    public mutating func serverSent(upTo position: LSN) {
        serverPosition = max(serverPosition, position)
    }

    /// Tokens of the transactions begun and not yet committed.
    public var openTokens: [UInt64] {
        entries.indices.filter { entries[$0].endLSN == nil }.map { headToken + UInt64($0) }
    }

    /// Whether every event of the transaction, and of all before it, is acknowledged and it has committed.
    public func isFinished(token: UInt64) -> Bool {
        token < headToken
    }

    /// Whether the transaction has committed and Kafka acknowledged every event of it (earlier ones may be open).
    public func isAcknowledged(token: UInt64) -> Bool {
        guard let index = index(of: token) else { return token < headToken }
        return entries[index].endLSN != nil && entries[index].pending == 0
    }

    /// The commit end of a transaction still tracked, if it has committed.
    public func endLSN(token: UInt64) -> LSN? {
        index(of: token).flatMap { entries[$0].endLSN }
    }

    private func index(of token: UInt64) -> Int? {
        guard token >= headToken, token < nextToken else { return nil }
        return Int(token - headToken)
    }

    private mutating func advance() {
        while let first = entries.first, let end = first.endLSN, first.pending == 0 {
            acknowledged = max(acknowledged, end)
            serverPosition = max(serverPosition, end)
            entries.removeFirst()
            headToken += 1
        }
    }
}
