import ChangeEvents

/// Exactly once for snapshot rows: which rows of an interrupted snapshot Kafka already holds.
///
/// Each unit of work (a table, or a page range) is read in `ctid` order, and each snapshot row's position header carries,
/// for every unit begun and not yet recorded done, the `ctid` of the last row of that unit sent so far
/// (`<connector>:snapshot:<unit>=<page>.<item>,…`). The last record of a partition therefore says, per unit, up to which
/// row everything of that unit bound for the partition was sent before it — and one idempotent producer appends a
/// partition in send order, so Kafka holds those rows. A resumed snapshot reads its unfinished units again (in a newer
/// snapshot) and leaves out each row at or below its partition's mark for its unit: a row there now that was not there
/// then is a tuple written since, whose change the stream replays anyway.
struct SnapshotProgressMarks {
    /// The last row sent of each unit begun and not recorded done: a few (one per reader, and those waiting for
    /// Kafka), so a list searched from the end beats hashing on every row.
    private var sent: [SnapshotRowMark] = []
    /// The header text of `sent`, rebuilt (in place) when it changes.
    private(set) var bytes: [UInt8] = []
    /// Where `bytes(merging:)` writes, reused from row to row.
    private var merged: [UInt8] = []

    /// A row of its unit is being sent (or was found in Kafka already).
    mutating func sent(_ row: SnapshotRowMark) {
        if let index = sent.lastIndex(where: { $0.unit == row.unit }) {
            sent[index] = row
        } else {
            sent.append(row)
        }
        rebuild()
    }

    /// The unit is recorded done: a resumed snapshot does not read it again.
    mutating func recorded(unit: UInt64) {
        if let index = sent.lastIndex(where: { $0.unit == unit }) {
            sent.remove(at: index)
            rebuild()
        }
    }

    private mutating func rebuild() {
        bytes.removeAll(keepingCapacity: true)
        for row in sent { Self.append(row, to: &bytes) }
    }

    /// The header text for a record bound to a partition whose last record (read back when a resumed snapshot
    /// started) said `inherited`: still true of that partition, it is kept where this run has not gone further.
    mutating func bytes(merging inherited: [UInt64: SnapshotRowMark]) -> [UInt8] {
        guard !inherited.isEmpty else { return bytes }
        merged.removeAll(keepingCapacity: true)
        for row in sent { Self.append(max(row, inherited[row.unit] ?? row), to: &merged) }
        for row in inherited.values where !sent.contains(where: { $0.unit == row.unit }) {
            Self.append(row, to: &merged)
        }
        return merged
    }

    private static func append(_ row: SnapshotRowMark, to bytes: inout [UInt8]) {
        if !bytes.isEmpty { bytes.append(UInt8(ascii: ",")) }
        row.write(into: &bytes)
    }

    /// The marks in a position header's value, `<connector>:snapshot:<marks>`; empty for any other value.
    static func parse(_ value: [UInt8], connector: String) -> [UInt64: SnapshotRowMark] {
        let prefix = Array("\(connector):snapshot:".utf8)
        guard value.starts(with: prefix) else { return [:] }
        var marks: [UInt64: SnapshotRowMark] = [:]
        for entry in value[prefix.count...].split(separator: UInt8(ascii: ",")) {
            let parts = entry.split(separator: UInt8(ascii: "="))
            guard parts.count == 2, let unit = UInt64(String(decoding: parts[0], as: UTF8.self), radix: 16) else { continue }
            let place = parts[1].split(separator: UInt8(ascii: "."))
            guard place.count == 2, let page = UInt32(String(decoding: place[0], as: UTF8.self)),
                let item = UInt16(String(decoding: place[1], as: UTF8.self))
            else { continue }
            marks[unit] = SnapshotRowMark(unit: unit, page: page, item: item)
        }
        return marks
    }
}

/// The marks read back from each partition's last record, for a resumed snapshot.
struct SnapshotResume {
    /// Per topic, per partition, the marks of its last record.
    private let marks: [String: [[UInt64: SnapshotRowMark]]]
    private let keylessPartitionKnown: Bool

    init(headers: [String: [[UInt8]?]], connector: String, keylessPartitionKnown: Bool) {
        marks = headers.mapValues { partitions in
            partitions.map { $0.map { SnapshotProgressMarks.parse($0, connector: connector) } ?? [:] }
        }
        self.keylessPartitionKnown = keylessPartitionKnown
    }

    /// Whether any partition holds rows of an unfinished unit.
    var isEmpty: Bool { !marks.values.contains { $0.contains { !$0.isEmpty } } }

    /// The marks of the last record of the partition a record goes to; nil when that partition is not known.
    func marks(topic: String, key: [UInt8]?, partition explicit: Int32?) -> [UInt64: SnapshotRowMark]? {
        guard let partitions = marks[topic],
            let partition = KeyPartitioner.partition(
                key: key, explicit: explicit, count: partitions.count, keylessKnown: keylessPartitionKnown)
        else { return nil }
        return partitions[partition]
    }

    /// Whether the partition this row goes to already holds it.
    func holds(topic: String, key: [UInt8]?, partition explicit: Int32?, row: SnapshotRowMark) -> Bool {
        guard let mark = marks(topic: topic, key: key, partition: explicit)?[row.unit] else { return false }
        return row <= mark
    }
}
