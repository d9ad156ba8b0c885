import Foundation
public import KafkaSink
public import PGOutput

/// What Kafka holds against what was committed.
public struct ChaosCheck: Sendable {
    /// One committed change: the writer's key and the number it set, and when and where its transaction committed.
    public struct Change: Sendable {
        public var key: Int
        public var seq: Int64
        /// Taken before COMMIT was sent: no connector could have read the change earlier.
        public var committing: ContinuousClock.Instant
        /// A WAL position read after COMMIT returned: at or after the end of the commit record.
        public var end: LSN

        public init(key: Int, seq: Int64, committing: ContinuousClock.Instant, end: LSN) {
            self.key = key
            self.seq = seq
            self.committing = committing
            self.end = end
        }
    }

    /// A connector killed: when (after it was gone), the position its slot held once its walsender had exited, and
    /// whether the snapshot state file did not yet say the snapshot was complete.
    public struct Kill: Sendable {
        public var at: ContinuousClock.Instant
        public var confirmed: LSN
        public var duringSnapshot: Bool

        public init(at: ContinuousClock.Instant, confirmed: LSN, duringSnapshot: Bool = false) {
            self.at = at
            self.confirmed = confirmed
            self.duringSnapshot = duringSnapshot
        }
    }

    public var written = 0
    public var delivered = 0
    public var lost = 0
    public var duplicates = 0
    /// Of the duplicates, rows the snapshot read.
    public var snapshotDuplicates = 0
    public var problems: [String] = []

    /// Checks `chaos.public.counters` (changes of `written`) and `chaos.public.bulk` (ids 1…bulkRows, read by the snapshot).
    ///
    /// A change may arrive again only after a kill that found it committed and not yet confirmed (the slot held a
    /// position before its commit's end), so it may arrive at most once more than there were such kills. A row the
    /// snapshot read may arrive again only after a kill during the snapshot.
    ///
    /// With `exactlyOnce` (Tributary's promise since it reads Kafka back before a replay), any copy is a problem.
    public static func check(
        records: [KafkaRecord], written: [Change], bulkRows: Int, kills: [Kill], exactlyOnce: Bool = false
    ) -> ChaosCheck {
        var report = ChaosCheck()
        report.written = written.count + bulkRows
        // Per key, in partition order: the seq of each create or update, and the ids the snapshot read.
        var streamed: [Int: [Int64]] = [:]
        var bulkSeen: [Int: Int] = [:]
        for record in records {
            guard let value = record.value,
                let event = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                let after = event["after"] as? [String: Any]
            else { continue }  // tombstones and deletes: the writer makes none
            let op = event["op"] as? String
            if record.topic == "chaos.public.bulk" {
                if let id = (after["id"] as? NSNumber)?.intValue { bulkSeen[id, default: 0] += 1 }
                continue
            }
            guard op == "c" || op == "u", let key = (after["k"] as? NSNumber)?.intValue,
                let seq = (after["seq"] as? NSNumber)?.int64Value
            else { continue }  // snapshot reads of counters show a state, not a change
            streamed[key, default: []].append(seq)
        }
        let snapshotKills = kills.count(where: \.duringSnapshot)
        for id in 1...max(bulkRows, 1) where bulkRows > 0 {
            guard let count = bulkSeen[id] else {
                report.lost += 1
                if report.problems.count < 20 { report.problems.append("bulk row \(id) never arrived") }
                continue
            }
            report.delivered += 1
            report.duplicates += count - 1
            report.snapshotDuplicates += count - 1
            if count - 1 > snapshotKills, report.problems.count < 20 {
                report.problems.append(
                    "bulk row \(id) arrived \(count) times, but only \(snapshotKills) kills came during the snapshot")
            }
        }
        var expected: [Int: [Change]] = [:]
        for change in written { expected[change.key, default: []].append(change) }
        for (key, changes) in expected.sorted(by: { $0.key < $1.key }) {
            let committed = Dictionary(changes.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
            // A restart sends again what was not confirmed, so a key may see 1 2 3 2 3 4: each change's first
            // arrival must come in commit order, and every committed change must arrive.
            var firstArrivals: [Int64] = []
            var copies: [Int64: Int] = [:]
            for seq in streamed[key] ?? [] {
                copies[seq, default: 0] += 1
                if copies[seq] == 1 { firstArrivals.append(seq) } else { report.duplicates += 1 }
            }
            for (seq, count) in copies.sorted(by: { $0.key < $1.key }) where count > 1 {
                guard let change = committed[seq] else { continue }
                let unconfirmedAtKills = kills.count { $0.at > change.committing && $0.confirmed < change.end }
                if count - 1 > unconfirmedAtKills, report.problems.count < 20 {
                    report.problems.append(
                        "key \(key) change seq=\(seq) arrived \(count) times, but only \(unconfirmedAtKills) kills found it unconfirmed"
                    )
                }
            }
            for change in changes {
                if copies[change.seq] != nil {
                    report.delivered += 1
                    continue
                }
                report.lost += 1
                if report.problems.count < 20 { report.problems.append("key \(key) change seq=\(change.seq) never arrived") }
            }
            let inOrder = firstArrivals.filter { committed[$0] != nil }
            if inOrder != inOrder.sorted() {
                report.problems.append("key \(key): changes arrived out of order: \(inOrder.prefix(30))")
            }
            if let extra = firstArrivals.first(where: { committed[$0] == nil }) {
                report.problems.append("key \(key): seq=\(extra) arrived but never committed")
            }
        }
        if report.lost > 0 { report.problems.insert("\(report.lost) committed changes never reached Kafka", at: 0) }
        if exactlyOnce && report.duplicates > 0 {
            report.problems.insert(
                "\(report.duplicates) records arrived more than once (\(report.snapshotDuplicates) of them snapshot rows); "
                    + "after a kill the connector must leave out what Kafka already holds", at: 0)
        }
        return report
    }
}
