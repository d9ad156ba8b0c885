import PGOutput

/// Which transactions a snapshot sees, as `pg_current_snapshot()` writes it (`xmin:xmax:xip,…`, 64-bit ids with the
/// epoch): the read-only incremental snapshot's watermark. A transaction the snapshot sees had committed before the
/// chunk was read, so the chunk holds its changes; one it does not see committed after, so its changes are newer than
/// the chunk's rows.
struct TransactionSnapshot: Equatable, CustomStringConvertible {
    /// Every transaction below it had ended when the snapshot was taken.
    var xmin: UInt64
    /// No transaction from it on had ended.
    var xmax: UInt64
    /// Transactions between the two still running.
    var running: Set<UInt64>

    init(xmin: UInt64, xmax: UInt64, running: Set<UInt64>) {
        self.xmin = xmin
        self.xmax = xmax
        self.running = running
    }

    /// Reads `pg_current_snapshot()`'s text; nil when it is not one.
    init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let xmin = UInt64(parts[0]), let xmax = UInt64(parts[1]), xmin <= xmax else { return nil }
        var running: Set<UInt64> = []
        for part in parts[2].split(separator: ",") {
            guard let xid = UInt64(part), xid >= xmin, xid < xmax else { return nil }
            running.insert(xid)
        }
        self.init(xmin: xmin, xmax: xmax, running: running)
    }

    var description: String {
        "\(xmin):\(xmax):" + running.sorted().map(String.init).joined(separator: ",")
    }

    /// The 64-bit id of a 32-bit one (as pgoutput's Begin carries it) from a transaction near the snapshot: the one
    /// within 2^31 of `xmax`, across a wraparound of the 32-bit counter.
    func fullID(_ xid: UInt32) -> UInt64 {
        let distance = Int64(Int32(bitPattern: xid &- UInt32(truncatingIfNeeded: xmax)))
        return UInt64(max(0, Int64(xmax) + distance))
    }

    /// Whether the snapshot sees the transaction's changes (it had committed when the snapshot was taken).
    func sees(_ xid: UInt32) -> Bool {
        let full = fullID(xid)
        return full < xmin || (full < xmax && !running.contains(full))
    }

    /// Whether the snapshot sees every one of `committed`, transactions the stream has already brought. It may not: a
    /// commit's WAL record is written, and can be streamed, just before the server counts the transaction as ended, so a
    /// snapshot taken in between lists it as running or, when it was the newest, has its `xmax` at or below it.
    func seesAll(_ committed: some Sequence<UInt32>) -> Bool {
        committed.allSatisfy(sees)
    }
}

/// Which transactions a read-only incremental snapshot's chunk read saw, so that only changes newer than the chunk
/// drop its rows.
enum ChunkVisibility: Equatable {
    /// On a primary: the read's snapshot, by transaction id.
    case snapshot(TransactionSnapshot)
    /// On a standby, which shows each commit as it replays it, in WAL order (and lists no running transactions in
    /// `pg_current_snapshot()`): the read saw every transaction whose commit record starts before this replay position,
    /// read just before the snapshot was taken. One committing after it may or may not be seen and counts as newer:
    /// dropping a row the stream has just sent is always safe, keeping an older one is not.
    case replayedBefore(LSN)

    /// Whether the read saw the transaction `xid` whose commit record is at `commitLSN` (pgoutput's Begin final LSN).
    func sees(_ xid: UInt32, commitLSN: LSN) -> Bool {
        switch self {
        case .snapshot(let snapshot): snapshot.sees(xid)
        case .replayedBefore(let position): commitLSN < position
        }
    }
}
