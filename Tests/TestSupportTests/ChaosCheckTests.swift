import Foundation
import KafkaSink
import PGOutput
import TestSupport
import Testing

/// The checker `make chaos` relies on must see losses, reordering and invented changes.
@Suite struct ChaosCheckTests {
    static func record(_ topic: String, _ json: String, offset: Int64) -> KafkaRecord {
        KafkaRecord(topic: topic, partition: 0, offset: offset, key: nil, value: Array(json.utf8), headers: [:])
    }

    static func counter(_ key: Int, _ seq: Int64, op: String = "u", offset: Int64 = 0) -> KafkaRecord {
        record("chaos.public.counters", #"{"after":{"k":\#(key),"seq":\#(seq)},"op":"\#(op)"}"#, offset: offset)
    }

    static func bulk(_ id: Int) -> KafkaRecord {
        record("chaos.public.bulk", #"{"after":{"id":\#(id),"payload":"x"},"op":"r"}"#, offset: 0)
    }

    /// Two transactions: key 1's first change, then the rest.
    static let start = ContinuousClock.now
    static func change(_ key: Int, _ seq: Int64, transaction: Int) -> ChaosCheck.Change {
        .init(key: key, seq: seq, committing: start + .seconds(transaction), end: LSN(UInt64(transaction) * 0x100))
    }
    let written = [
        change(1, 1, transaction: 1), change(1, 2, transaction: 2), change(1, 3, transaction: 2), change(2, 1, transaction: 2),
    ]
    /// Killed during the snapshot, after both transactions, with only the first confirmed: the second may arrive again.
    let kills = [ChaosCheck.Kill(at: start + .seconds(3), confirmed: LSN(0x100), duringSnapshot: true)]

    @Test func everythingOnceOrRepeatedAfterARestartPasses() {
        let records = [
            Self.bulk(1), Self.bulk(2), Self.bulk(2), Self.counter(1, 1, op: "c"), Self.counter(1, 2), Self.counter(1, 2),
            Self.counter(1, 3), Self.counter(2, 1, op: "c"),
        ]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 2, kills: kills)
        #expect(check.problems.isEmpty)
        #expect(check.written == 6 && check.delivered == 6 && check.lost == 0 && check.duplicates == 2)
    }

    @Test func exactlyOnceFailsOnAnyCopy() {
        let once = [
            Self.bulk(1), Self.bulk(2), Self.counter(1, 1, op: "c"), Self.counter(1, 2), Self.counter(1, 3),
            Self.counter(2, 1, op: "c"),
        ]
        #expect(ChaosCheck.check(records: once, written: written, bulkRows: 2, kills: kills, exactlyOnce: true).problems.isEmpty)
        let twice = once + [Self.counter(1, 3)]
        #expect(ChaosCheck.check(records: twice, written: written, bulkRows: 2, kills: kills).problems.isEmpty)
        let strict = ChaosCheck.check(records: twice, written: written, bulkRows: 2, kills: kills, exactlyOnce: true)
        #expect(strict.problems.first?.hasPrefix("1 records arrived more than once") == true)
    }

    @Test func aMissingChangeOrRowIsLost() {
        let records = [Self.bulk(1), Self.counter(1, 1, op: "c"), Self.counter(1, 3), Self.counter(2, 1, op: "c")]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 2, kills: kills)
        #expect(check.lost == 2)
        #expect(check.delivered == 4)
        #expect(!check.problems.isEmpty)
    }

    @Test func changesOutOfOrderForAKeyFail() {
        let records = [
            Self.bulk(1), Self.counter(1, 1, op: "c"), Self.counter(1, 3), Self.counter(1, 2), Self.counter(2, 1, op: "c"),
        ]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 1, kills: kills)
        #expect(check.lost == 0)
        #expect(check.problems.contains { $0.contains("out of order") })
    }

    @Test func aChangeNeverCommittedFails() {
        let records = [
            Self.bulk(1), Self.counter(1, 1, op: "c"), Self.counter(1, 2), Self.counter(1, 3), Self.counter(1, 4),
            Self.counter(2, 1, op: "c"),
        ]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 1, kills: kills)
        #expect(check.problems.contains { $0.contains("never committed") })
    }

    @Test func aConfirmedChangeArrivingAgainFails() {
        let records = [
            Self.bulk(1), Self.counter(1, 1, op: "c"), Self.counter(1, 1, op: "c"), Self.counter(1, 2), Self.counter(1, 3),
            Self.counter(2, 1, op: "c"),
        ]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 1, kills: kills)
        #expect(check.lost == 0)
        #expect(check.problems.contains { $0.contains("key 1 change seq=1 arrived 2 times, but only 0 kills") })
    }

    @Test func moreCopiesThanKillsThatFoundAChangeUnconfirmedFail() {
        let twice = [Self.counter(1, 2), Self.counter(1, 3)]
        let records = [Self.bulk(1), Self.counter(1, 1, op: "c")] + twice + twice + twice + [Self.counter(2, 1, op: "c")]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 1, kills: kills)
        #expect(check.problems.contains { $0.contains("seq=2 arrived 3 times, but only 1 kills") })
        // A kill before the transaction committed could not have sent it.
        let early = [ChaosCheck.Kill(at: Self.start, confirmed: .zero)]
        let allowed = ChaosCheck.check(records: records, written: written, bulkRows: 1, kills: kills + early)
        #expect(allowed.problems.contains { $0.contains("seq=2 arrived 3 times, but only 1 kills") })
        let later = [ChaosCheck.Kill(at: Self.start + .seconds(4), confirmed: LSN(0x100))]
        #expect(ChaosCheck.check(records: records, written: written, bulkRows: 1, kills: kills + later).problems.isEmpty)
    }

    @Test func aSnapshotRowArrivingMoreOftenThanKillsDuringTheSnapshotFails() {
        let records = [Self.bulk(1), Self.bulk(1), Self.counter(1, 1, op: "c"), Self.counter(1, 2), Self.counter(1, 3)]
        let changes = written.filter { $0.key == 1 }
        #expect(ChaosCheck.check(records: records, written: changes, bulkRows: 1, kills: kills).problems.isEmpty)
        let afterSnapshot = [ChaosCheck.Kill(at: Self.start + .seconds(3), confirmed: LSN(0x100))]
        let check = ChaosCheck.check(records: records, written: changes, bulkRows: 1, kills: afterSnapshot)
        #expect(check.problems == ["bulk row 1 arrived 2 times, but only 0 kills came during the snapshot"])
    }
}
