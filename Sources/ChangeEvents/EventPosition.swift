public import PGOutput

/// Where a record stands in a connector's output: the commit LSN of its source transaction (a logical message sent
/// outside any transaction: its own LSN) and its order among the records written for that transaction, from 0.
/// Snapshot rows stand before every streamed record.
///
/// The connector writes each partition in this order (one idempotent producer appends in send order), and a session
/// replaying from the slot writes the same records with the same positions, so the position of a partition's last
/// record says which replayed records that partition already holds. Kafka carries it in the `__tributary.position`
/// header, with the connector's name: `<connector>:<LSN>:<order>` (`inventory:0/16B3748:3`), or
/// `<connector>:snapshot` for a snapshot row.
public struct EventPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var lsn: LSN
    public var order: UInt32

    public init(lsn: LSN, order: UInt32) {
        self.lsn = lsn
        self.order = order
    }

    /// Snapshot rows: before every streamed record.
    public static let snapshot = EventPosition(lsn: .zero, order: 0)

    public var isSnapshot: Bool { self == .snapshot }

    public static func < (lhs: EventPosition, rhs: EventPosition) -> Bool {
        lhs.lsn != rhs.lsn ? lhs.lsn < rhs.lsn : lhs.order < rhs.order
    }

    public var description: String { isSnapshot ? "snapshot" : "\(lsn):\(order)" }

    /// The header's name.
    public static let headerName = "__tributary.position"

    /// The header's value for `connector`, written into `buffer` (which is emptied first).
    public func write(connector: [UInt8], into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: connector)
        buffer.append(UInt8(ascii: ":"))
        if isSnapshot {
            buffer.append(contentsOf: "snapshot".utf8)
            return
        }
        Self.appendHex(lsn.rawValue >> 32, into: &buffer)
        buffer.append(UInt8(ascii: "/"))
        Self.appendHex(lsn.rawValue & 0xFFFF_FFFF, into: &buffer)
        buffer.append(UInt8(ascii: ":"))
        Self.appendDecimal(UInt64(order), into: &buffer)
    }

    /// The header's value for `connector`.
    public func headerValue(connector: String) -> [UInt8] {
        var buffer: [UInt8] = []
        write(connector: Array(connector.utf8), into: &buffer)
        return buffer
    }

    /// The position in a header value, when `connector` wrote it; nil for another connector's, or a value that is
    /// not a position.
    public init?(header value: [UInt8], connector: String) {
        let name = Array(connector.utf8)
        guard value.count > name.count, value.starts(with: name), value[name.count] == UInt8(ascii: ":") else { return nil }
        let rest = value[(name.count + 1)...]
        if rest.starts(with: "snapshot".utf8) && (rest.count == 8 || rest[rest.startIndex + 8] == UInt8(ascii: ":")) {
            self = .snapshot
            return
        }
        let parts = rest.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count == 2, let lsn = LSN(String(decoding: parts[0], as: UTF8.self)),
            let order = UInt32(String(decoding: parts[1], as: UTF8.self)), lsn != .zero
        else { return nil }
        self.init(lsn: lsn, order: order)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    fileprivate static func appendHex(_ value: UInt64, into buffer: inout [UInt8]) {
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            buffer.append(hexDigits[Int((value >> UInt64(shift)) & 0xF)])
            shift -= 4
        }
    }

    fileprivate static func appendDecimal(_ value: UInt64, into buffer: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, into: &buffer) }
        buffer.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}

/// The partition Kafka's Java client (and librdkafka's `murmur2` partitioner) gives a key: the positive murmur2 hash of
/// its bytes modulo the partition count; a record without a key gets the hash of no bytes, as librdkafka's `murmur2`
/// partitioner gives it, so every keyless record of a topic lands on one partition.
public enum KeyPartitioner {
    public static func partition(key: [UInt8]?, count: Int) -> Int {
        guard count > 0 else { return 0 }
        return Int(murmur2(key ?? []) & 0x7fff_ffff) % count
    }

    /// Kafka's `Utils.murmur2` (seed 0x9747b28c).
    public static func murmur2(_ data: [UInt8]) -> UInt32 {
        let length = data.count
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for index in 0..<blocks {
            let offset = index * 4
            var k =
                UInt32(data[offset]) | UInt32(data[offset + 1]) << 8 | UInt32(data[offset + 2]) << 16
                | UInt32(data[offset + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}

/// Where a snapshot row was read: its unit of work (a table, or a page range of one, by `unitID`) and its `ctid`.
/// A unit is read in `ctid` order, so a row's place says which rows of its unit were sent before it.
public struct SnapshotRowMark: Sendable, Hashable, Comparable {
    public var unit: UInt64
    public var page: UInt32
    public var item: UInt16

    public init(unit: UInt64, page: UInt32, item: UInt16) {
        self.unit = unit
        self.page = page
        self.item = item
    }

    /// Orders rows of one unit.
    public static func < (lhs: SnapshotRowMark, rhs: SnapshotRowMark) -> Bool {
        (lhs.unit, lhs.page, lhs.item) < (rhs.unit, rhs.page, rhs.item)
    }

    /// A unit's id: FNV-1a of `schema.table` (and `#range` for a page range), stable across runs.
    public static func unitID(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    /// Appends `<unit>=<page>.<item>` (the unit in hex), the form a snapshot row's position header lists its unit
    /// marks in, separated by commas.
    public func write(into buffer: inout [UInt8]) {
        EventPosition.appendHex(unit, into: &buffer)
        buffer.append(UInt8(ascii: "="))
        EventPosition.appendDecimal(UInt64(page), into: &buffer)
        buffer.append(UInt8(ascii: "."))
        EventPosition.appendDecimal(UInt64(item), into: &buffer)
    }

    /// A `ctid` as COPY writes it, `(page,item)`.
    public static func parseTID(_ text: ArraySlice<UInt8>) -> (page: UInt32, item: UInt16)? {
        // Once per snapshot row: digits read in place (a generic or String-based parse cost a fifth of a snapshot's CPU).
        text.withUnsafeBufferPointer { text in
            guard text.count >= 5, text[0] == UInt8(ascii: "("), text[text.count - 1] == UInt8(ascii: ")") else {
                return nil
            }
            var index = 1
            func number(limit: UInt64) -> UInt64? {
                var value: UInt64 = 0
                let start = index
                while index < text.count - 1, text[index] &- UInt8(ascii: "0") < 10 {
                    value = value * 10 + UInt64(text[index] &- UInt8(ascii: "0"))
                    guard value <= limit else { return nil }
                    index += 1
                }
                return index > start ? value : nil
            }
            guard let page = number(limit: UInt64(UInt32.max)), text[index] == UInt8(ascii: ",") else { return nil }
            index += 1
            guard let item = number(limit: UInt64(UInt16.max)), index == text.count - 1 else { return nil }
            return (UInt32(page), UInt16(item))
        }
    }
}
