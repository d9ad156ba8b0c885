import Foundation
import KafkaSink
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

    let written = [ChaosCheck.Change(key: 1, seq: 1), .init(key: 1, seq: 2), .init(key: 1, seq: 3), .init(key: 2, seq: 1)]

    @Test func everythingOnceOrRepeatedAfterARestartPasses() {
        let records = [
            Self.bulk(1), Self.bulk(2), Self.bulk(2), Self.counter(1, 1, op: "c"), Self.counter(1, 2), Self.counter(1, 2),
            Self.counter(1, 3), Self.counter(2, 1, op: "c"),
        ]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 2)
        #expect(check.problems.isEmpty)
        #expect(check.written == 6 && check.delivered == 6 && check.lost == 0 && check.duplicates == 2)
    }

    @Test func aMissingChangeOrRowIsLost() {
        let records = [Self.bulk(1), Self.counter(1, 1, op: "c"), Self.counter(1, 3), Self.counter(2, 1, op: "c")]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 2)
        #expect(check.lost == 2)
        #expect(check.delivered == 4)
        #expect(!check.problems.isEmpty)
    }

    @Test func changesOutOfOrderForAKeyFail() {
        let records = [
            Self.bulk(1), Self.counter(1, 1, op: "c"), Self.counter(1, 3), Self.counter(1, 2), Self.counter(2, 1, op: "c"),
        ]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 1)
        #expect(check.lost == 0)
        #expect(check.problems.contains { $0.contains("out of order") })
    }

    @Test func aChangeNeverCommittedFails() {
        let records = [
            Self.bulk(1), Self.counter(1, 1, op: "c"), Self.counter(1, 2), Self.counter(1, 3), Self.counter(1, 4),
            Self.counter(2, 1, op: "c"),
        ]
        let check = ChaosCheck.check(records: records, written: written, bulkRows: 1)
        #expect(check.problems.contains { $0.contains("never committed") })
    }
}
