import Foundation
public import KafkaSink

/// What Kafka holds against what was committed.
public struct ChaosCheck: Sendable {
    /// One committed change: the writer's key and the number it set.
    public struct Change: Hashable, Sendable {
        public var key: Int
        public var seq: Int64

        public init(key: Int, seq: Int64) {
            self.key = key
            self.seq = seq
        }
    }

    public var written = 0
    public var delivered = 0
    public var lost = 0
    public var duplicates = 0
    public var problems: [String] = []

    /// Checks `chaos.public.counters` (changes of `written`) and `chaos.public.bulk` (ids 1…bulkRows, read by the snapshot).
    public static func check(records: [KafkaRecord], written: [Change], bulkRows: Int) -> ChaosCheck {
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
        for id in 1...max(bulkRows, 1) where bulkRows > 0 {
            guard let count = bulkSeen[id] else {
                report.lost += 1
                if report.problems.count < 20 { report.problems.append("bulk row \(id) never arrived") }
                continue
            }
            report.delivered += 1
            report.duplicates += count - 1
        }
        var expected: [Int: [Int64]] = [:]
        for change in written { expected[change.key, default: []].append(change.seq) }
        for (key, seqs) in expected.sorted(by: { $0.key < $1.key }) {
            let seen = streamed[key] ?? []
            // A restart sends again what was not confirmed, so a key may see 1 2 3 2 3 4: each change's first
            // arrival must come in commit order, and every committed change must arrive.
            var firstArrivals: [Int64] = []
            var arrived = Set<Int64>()
            for seq in seen {
                if arrived.insert(seq).inserted { firstArrivals.append(seq) } else { report.duplicates += 1 }
            }
            let committed = Set(seqs)
            for seq in seqs where !arrived.contains(seq) {
                report.lost += 1
                if report.problems.count < 20 { report.problems.append("key \(key) change seq=\(seq) never arrived") }
            }
            report.delivered += seqs.count - seqs.filter { !arrived.contains($0) }.count
            let inOrder = firstArrivals.filter(committed.contains)
            if inOrder != inOrder.sorted() {
                report.problems.append("key \(key): changes arrived out of order: \(inOrder.prefix(30))")
            }
            if let extra = arrived.subtracting(committed).first {
                report.problems.append("key \(key): seq=\(extra) arrived but never committed")
            }
        }
        if report.lost > 0 { report.problems.insert("\(report.lost) committed changes never reached Kafka", at: 0) }
        return report
    }
}
