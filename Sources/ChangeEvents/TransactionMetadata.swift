public import PGOutput

/// Debezium's transaction metadata for PostgreSQL (`provide.transaction.metadata`): a `BEGIN` and an `END` record per
/// source transaction on the transaction topic, and the `transaction` block of each data event, as Debezium 3.6.3
/// writes them (its `PostgresTransactionMonitor`).
///
/// Pure: the caller says where each transaction begins and ends and which events it holds. An id is the transaction's
/// xid and the position of the message it is written for (`<xid>:<lsn>`), as Debezium writes it: the `BEGIN` record's
/// and the first event's carry the `Begin` message's position, each event its own, the `END` record the `Commit`
/// message's, so one transaction's records do not share one id.
public struct TransactionMetadata: Sendable {
    /// The record topic (`<topic prefix>.transaction` unless set, as Debezium's `topic.transaction`).
    public let topic: String
    private let schemas: Bool
    private var xid: UInt32?
    private var commitMillis: Int64 = 0
    private var total: Int64 = 0
    /// Events per data collection in the order Debezium's `HashMap<String, Long>` lists them at the end.
    private var collections = JavaStringHashMap()

    /// The data collection Debezium counts a logical decoding message under: a new object for each message, named by
    /// Java's default `toString`, whose hash part cannot be reproduced (it is the object's identity hash); consumers
    /// should not rely on it, and tests compare it without the part after `@`.
    public static let messageCollectionPrefix =
        "io.debezium.connector.postgresql.LogicalDecodingMessageMonitor$LogicalDecodingMessageId@"

    public init(topicPrefix: String, topic: String? = nil, schemas: Bool) {
        self.topic = topic ?? "\(topicPrefix).transaction"
        self.schemas = schemas
    }

    /// Whether a transaction is open (between `begin` and `end`).
    public var isOpen: Bool { xid != nil }

    /// Opens a transaction; returns its `BEGIN` record, written at `lsn` (the `Begin` message's position).
    public mutating func begin(xid: UInt32, commitTimeMicros: Int64, at lsn: LSN) -> ChangeEvent {
        self.xid = xid
        commitMillis = Self.floorDivide(commitTimeMicros, 1000)
        total = 0
        collections = JavaStringHashMap()
        return record(status: "BEGIN", at: lsn, counts: nil)
    }

    /// Counts an event of `collection` (`schema.table`, or `nil` for a logical decoding message) written at `lsn`;
    /// returns the event's `transaction` block: `{"id":…,"total_order":…,"data_collection_order":…}`.
    public mutating func event(collection: String?, at lsn: LSN, messageNumber: UInt32 = 0) -> [UInt8] {
        var buffer = JSONBuffer(capacity: 96)
        appendEvent(collection: collection, at: lsn, messageNumber: messageNumber, into: &buffer)
        return buffer.bytes
    }

    /// Counts an event as `event(collection:at:messageNumber:)` does, writing its block into the event's buffer.
    public mutating func appendEvent(
        collection: String?, at lsn: LSN, messageNumber: UInt32 = 0, into buffer: inout JSONBuffer
    ) {
        total += 1
        let name = collection ?? Self.messageCollectionPrefix + String(messageNumber, radix: 16)
        let order = collections.increment(name)
        buffer.appendRaw("{\"id\":")
        appendID(at: lsn, into: &buffer)
        buffer.appendRaw(",\"total_order\":")
        buffer.appendInteger(total)
        buffer.appendRaw(",\"data_collection_order\":")
        buffer.appendInteger(order)
        buffer.append(UInt8(ascii: "}"))
    }

    /// Closes the transaction; returns its `END` record, written at `lsn` (the `Commit` message's position).
    public mutating func end(at lsn: LSN) -> ChangeEvent {
        defer { xid = nil }
        return record(status: "END", at: lsn, counts: collections.entries)
    }

    // MARK: Writing

    private static let keySchema =
        "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}],"
        + "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataKey\",\"version\":1}"
    private static let valueSchema =
        "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},"
        + "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
        + "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
        + "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
        + "{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],"
        + "\"optional\":true,\"name\":\"event.collection\",\"version\":1},\"optional\":true,\"field\":\"data_collections\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],"
        + "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataValue\",\"version\":1}"

    /// `"<xid>:<lsn>"`, digits written straight into the buffer.
    private func appendID(at lsn: LSN, into buffer: inout JSONBuffer) {
        buffer.append(UInt8(ascii: "\""))
        if let xid { buffer.appendInteger(xid) } else { buffer.appendRaw("null") }
        buffer.append(UInt8(ascii: ":"))
        buffer.appendInteger(lsn.rawValue)
        buffer.append(UInt8(ascii: "\""))
    }

    private func record(status: StaticString, at lsn: LSN, counts: [(name: String, count: Int64)]?) -> ChangeEvent {
        var key = JSONBuffer(capacity: 64)
        if schemas { key.appendRawString("{\"schema\":\(Self.keySchema),\"payload\":") }
        key.appendRaw("{\"id\":")
        appendID(at: lsn, into: &key)
        key.append(UInt8(ascii: "}"))
        if schemas { key.append(UInt8(ascii: "}")) }

        var value = JSONBuffer(capacity: 256)
        if schemas { value.appendRawString("{\"schema\":\(Self.valueSchema),\"payload\":") }
        value.appendRaw("{\"status\":\"")
        value.appendRaw(status)
        value.appendRaw("\",\"id\":")
        appendID(at: lsn, into: &value)
        if let counts {
            value.appendRaw(",\"event_count\":")
            value.appendInteger(total)
            value.appendRaw(",\"data_collections\":[")
            for (index, entry) in counts.enumerated() {
                if index > 0 { value.append(UInt8(ascii: ",")) }
                value.appendRaw("{\"data_collection\":")
                value.appendString(entry.name)
                value.appendRaw(",\"event_count\":")
                value.appendInteger(entry.count)
                value.append(UInt8(ascii: "}"))
            }
            value.append(UInt8(ascii: "]"))
        } else {
            value.appendRaw(",\"event_count\":null,\"data_collections\":null")
        }
        value.appendRaw(",\"ts_ms\":")
        value.appendInteger(commitMillis)
        value.append(UInt8(ascii: "}"))
        if schemas { value.append(UInt8(ascii: "}")) }
        return ChangeEvent(topic: topic, key: key.bytes, value: value.bytes, operation: nil, lsn: lsn, transactionID: xid)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }
}

/// The iteration order of a Java `HashMap<String, Long>` (Debezium's per-collection counts): by bucket of the spread
/// `String.hashCode`, in a table that starts at 16 buckets and doubles past three quarters full; within a bucket, in
/// insertion order. (Buckets of eight or more colliding names become trees in Java; a transaction touching that many
/// tables with one bucket is not modelled.)
struct JavaStringHashMap: Sendable {
    private(set) var keys: [String] = []
    private var counts: [String: Int64] = [:]

    /// Adds one to `key`'s count; returns the new count.
    mutating func increment(_ key: String) -> Int64 {
        let count = (counts[key] ?? 0) + 1
        if count == 1 { keys.append(key) }
        counts[key] = count
        return count
    }

    /// The entries in Java's iteration order.
    var entries: [(name: String, count: Int64)] {
        var capacity = 16
        while keys.count > capacity * 3 / 4 { capacity *= 2 }
        let ordered = keys.enumerated().sorted { lhs, rhs in
            let left = Self.bucket(lhs.element, capacity)
            let right = Self.bucket(rhs.element, capacity)
            return left != right ? left < right : lhs.offset < rhs.offset
        }
        return ordered.map { ($0.element, counts[$0.element] ?? 0) }
    }

    /// Java's `String.hashCode` (over UTF-16 code units), spread as `HashMap.hash` does, masked to the table.
    static func bucket(_ key: String, _ capacity: Int) -> Int {
        var hash: Int32 = 0
        for unit in key.utf16 { hash = hash &* 31 &+ Int32(unit) }
        let spread = hash ^ Int32(bitPattern: UInt32(bitPattern: hash) >> 16)
        return Int(spread) & (capacity - 1)
    }
}
