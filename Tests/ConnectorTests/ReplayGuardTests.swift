import ChangeEvents
import Foundation
import KafkaSink
import PGOutput
import Testing

@testable import Connector

/// The exactly-once rule: a replayed record is left out only when the partition it goes to already holds it.
@Suite struct ReplayGuardTests {
    static func at(_ lsn: UInt64, _ order: UInt32) -> EventPosition { EventPosition(lsn: LSN(lsn), order: order) }

    /// A connector's output: records at increasing positions, each to the partition its key hashes to; a crash left
    /// each partition holding a prefix of what went to it. The guard leaves out exactly the records the partitions hold.
    @Test func aReplayLeavesOutExactlyWhatEachPartitionHolds() {
        let partitions = 3
        var output: [(key: [UInt8], position: EventPosition, partition: Int)] = []
        for transaction in 0..<20 {
            for order in 0..<5 {
                let key = Array("{\"id\":\(transaction * 7 + order)}".utf8)
                output.append(
                    (
                        key, Self.at(UInt64(0x1000 + transaction * 0x100), UInt32(order)),
                        KeyPartitioner.partition(key: key, count: partitions)
                    ))
            }
        }
        // Partition p received everything sent to it up to a cut that differs per partition.
        let cuts = [37, 81, 12]
        var tails: [EventPosition?] = Array(repeating: nil, count: partitions)
        for (index, record) in output.enumerated() where index < cuts[record.partition] {
            tails[record.partition] = record.position
        }
        let guarded = ReplayGuard(tails: ["t": tails], gapFrom: nil, keylessPartitionKnown: true)
        #expect(guarded.highest == tails.compactMap { $0 }.max())
        for (index, record) in output.enumerated() {
            let held = index < cuts[record.partition]
            #expect(guarded.holds(topic: "t", key: record.key, partition: nil, at: record.position) == held, "\(index)")
        }
    }

    @Test func nothingAtOrAfterAFailedDeliveryIsLeftOut() {
        let guarded = ReplayGuard(tails: ["t": [Self.at(0x500, 3)]], gapFrom: Self.at(0x400, 1), keylessPartitionKnown: true)
        #expect(guarded.holds(topic: "t", key: [1], partition: nil, at: Self.at(0x400, 0)))
        #expect(!guarded.holds(topic: "t", key: [1], partition: nil, at: Self.at(0x400, 1)))
        #expect(!guarded.holds(topic: "t", key: [1], partition: nil, at: Self.at(0x500, 2)))
    }

    @Test func unknownTopicsSnapshotRowsAndScatteredKeylessRecordsAreNeverLeftOut() {
        let tails: [String: [EventPosition?]] = ["t": [Self.at(0x500, 3), nil], "s": [.snapshot]]
        let guarded = ReplayGuard(tails: tails, gapFrom: nil, keylessPartitionKnown: false)
        #expect(!guarded.holds(topic: "other", key: [1], partition: nil, at: Self.at(0x100, 0)))
        #expect(!guarded.holds(topic: "t", key: [1], partition: 0, at: .snapshot))
        #expect(!guarded.holds(topic: "t", key: nil, partition: nil, at: Self.at(0x100, 0)))
        #expect(guarded.holds(topic: "t", key: nil, partition: 0, at: Self.at(0x100, 0)), "a chosen partition is known")
        #expect(!guarded.holds(topic: "t", key: nil, partition: 1, at: Self.at(0x100, 0)), "partition 1 holds nothing")
        #expect(!guarded.holds(topic: "s", key: [1], partition: 0, at: Self.at(0x100, 0)), "only snapshot rows there")
        let known = ReplayGuard(tails: tails, gapFrom: nil, keylessPartitionKnown: true)
        let keyless = KeyPartitioner.partition(key: nil, count: 2)
        #expect(known.holds(topic: "t", key: nil, partition: nil, at: Self.at(0x100, 0)) == (keyless == 0))
    }

    @Test func positionsReadBackOnlyFromTheirConnector() {
        let position = Self.at(0x16B_3748, 3)
        let header = position.headerValue(connector: "inventory")
        #expect(String(decoding: header, as: UTF8.self) == "inventory:0/16B3748:3")
        #expect(EventPosition(header: header, connector: "inventory") == position)
        #expect(EventPosition(header: header, connector: "invent") == nil)
        #expect(EventPosition(header: header, connector: "inventory2") == nil)
        #expect(EventPosition(header: EventPosition.snapshot.headerValue(connector: "a"), connector: "a") == .snapshot)
        #expect(EventPosition(header: Array("a:zz:1".utf8), connector: "a") == nil)
        #expect(Self.at(0x100, 9) < Self.at(0x101, 0) && .snapshot < Self.at(1, 0))
    }

    /// A snapshot row's marks read back as written, and a resumed run keeps a partition's marks where it is behind.
    @Test func snapshotMarksRoundTripAndMergeByUnit() {
        var marks = SnapshotProgressMarks()
        marks.sent(SnapshotRowMark(unit: 0xA1, page: 3, item: 7))
        marks.sent(SnapshotRowMark(unit: 0xB2, page: 40, item: 1))
        marks.sent(SnapshotRowMark(unit: 0xA1, page: 5, item: 2))
        let header = Array("c:snapshot:".utf8) + marks.bytes
        #expect(
            SnapshotProgressMarks.parse(header, connector: "c") == [
                0xA1: SnapshotRowMark(unit: 0xA1, page: 5, item: 2), 0xB2: SnapshotRowMark(unit: 0xB2, page: 40, item: 1),
            ])
        #expect(SnapshotProgressMarks.parse(header, connector: "d").isEmpty)
        let inherited: [UInt64: SnapshotRowMark] = [
            0xA1: SnapshotRowMark(unit: 0xA1, page: 9, item: 0), 0xC3: SnapshotRowMark(unit: 0xC3, page: 1, item: 1),
        ]
        let merged = Array("c:snapshot:".utf8) + marks.bytes(merging: inherited)
        #expect(
            SnapshotProgressMarks.parse(merged, connector: "c") == [
                0xA1: SnapshotRowMark(unit: 0xA1, page: 9, item: 0), 0xB2: SnapshotRowMark(unit: 0xB2, page: 40, item: 1),
                0xC3: SnapshotRowMark(unit: 0xC3, page: 1, item: 1),
            ])
        marks.recorded(unit: 0xB2)
        #expect(SnapshotProgressMarks.parse(Array("c:snapshot:".utf8) + marks.bytes, connector: "c").keys.sorted() == [0xA1])
    }

    @Test func partitionersAreTold() {
        #expect(ReplayGuard.partitioner([]) == (true, true))
        #expect(ReplayGuard.partitioner([("partitioner", "murmur2_random")]) == (true, false))
        #expect(ReplayGuard.partitioner([("partitioner", "consistent_random")]) == (false, false))
    }

    /// librdkafka's `murmur2` partitioner (Tributary's default) puts each key, and keyless records, where
    /// `KeyPartitioner` says; the tail reader finds a connector's last record behind another producer's.
    @Test func keysLandWhereThePartitionerSaysAndTheTailReaderFindsTheConnectorsLast() throws {
        let kafka = try EmbeddedKafka(brokers: 1)
        defer { kafka.close() }
        try kafka.createTopic("keys", partitions: 7)
        let producer = try KafkaProducer(properties: [("bootstrap.servers", kafka.bootstrapServers)])
        defer { producer.close() }
        let keys: [[UInt8]?] = (0..<200).map { Array("{\"id\":\($0)}".utf8) } + [nil, [], Array("é🙂".utf8)]
        for (index, key) in keys.enumerated() {
            try producer.send(
                topic: "keys", key: key, value: [1], token: 1,
                lastHeader: (EventPosition.headerName, Self.at(0x100, UInt32(index)).headerValue(connector: "mine")))
        }
        // Another producer's records after the connector's in partition 0, with and without the header.
        try producer.send(
            topic: "keys", key: nil, value: [2], partition: 0, token: 1,
            lastHeader: (EventPosition.headerName, Self.at(0x900, 0).headerValue(connector: "theirs")))
        for _ in 0..<100 { try producer.send(topic: "keys", key: nil, value: [3], partition: 0, token: 1) }
        var failures = 0
        let flushed = producer.flush(timeoutMilliseconds: 10_000) { if $0.error != nil { failures += 1 } }
        #expect(flushed && failures == 0)

        let reader = try KafkaTopicReader(bootstrapServers: kafka.bootstrapServers)
        _ = try reader.assign(["keys"])
        var seen = 0
        var last: [Int: EventPosition] = [:]
        while seen < keys.count + 101, let record = try reader.next(timeoutMilliseconds: 2000) {
            seen += 1
            guard record.value == [1], let header = record.headers[EventPosition.headerName] ?? nil,
                let position = EventPosition(header: header, connector: "mine")
            else { continue }
            let key = keys[Int(position.order)]
            #expect(record.partition == KeyPartitioner.partition(key: key, count: 7), "key \(key ?? [])")
            last[record.partition] = position
        }
        #expect(seen == keys.count + 101)

        let tail = try KafkaTailReader(bootstrapServers: kafka.bootstrapServers)
        defer { tail.close() }
        let found = try tail.lastHeaders(
            topics: ["keys", "missing"], header: EventPosition.headerName,
            accept: { EventPosition(header: $0, connector: "mine") != nil }, timeoutMilliseconds: 10_000)
        // A missing topic is left out (the embedded Kafka creates it on the metadata request, empty).
        #expect((found["missing"] ?? []).compactMap { $0 }.isEmpty)
        let positions = (found["keys"] ?? []).map { $0.flatMap { EventPosition(header: $0, connector: "mine") } }
        #expect(positions.count == 7)
        for partition in 0..<7 { #expect(positions[partition] == last[partition], "partition \(partition)") }
    }
}
