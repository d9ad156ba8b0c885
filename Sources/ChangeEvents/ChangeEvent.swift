public import PGOutput

/// One Kafka record: the topic, the encoded key and value (nil = JSON null / tombstone) and headers, with the facts
/// of the change it came from, kept as data so that later stages never parse the bytes back.
public struct ChangeEvent: Sendable, Equatable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [Header]
    /// The event's `op`; nil for a tombstone.
    public var operation: ChangeOperation?
    /// The captured table; nil for a logical decoding message.
    public var table: TableName?
    /// Where the change is in WAL (`source.lsn`); a snapshot read's is the slot's consistent point.
    public var lsn: LSN?
    /// The transaction's id (`source.txId`), when there is one.
    public var transactionID: UInt32?
    /// For a data event's envelope: its table's schema and where the envelope's parts lie in `value`.
    public var envelope: EnvelopeLayout?
    /// For a row an unwrap transform made of an envelope: its table's schema, for transforms after it that need a
    /// column's type (header_from).
    public var rowTable: TableSchema?
    /// The Kafka partition, when a transform chose it (the outbox router's `partition` placement); nil lets the
    /// partitioner choose by key.
    public var partition: Int32?
    /// The Kafka record's timestamp in milliseconds, when a transform set it (the outbox router); nil for now.
    public var timestamp: Int64?
    /// Where the record stands in the connector's output (its `__tributary.position` header), set when it is sent.
    public var position: EventPosition?
    /// A snapshot row's unit and place in it (`SnapshotRowMark`), and the progress of the snapshot's units when it was
    /// sent, which its position header carries after `snapshot:`.
    public var snapshotRow: SnapshotRowMark?
    public var snapshotMark: [UInt8]?
    /// For a data event the builder wrote in Avro (`EventSettings.avro`): its key's and value's schemas, and whether
    /// an id in its bytes is still a zero for the Avro stage to fill in.
    public var avroSchemas: AvroRecordSchemas?
    public var avroIDsPending = false

    public static func == (lhs: ChangeEvent, rhs: ChangeEvent) -> Bool {
        lhs.topic == rhs.topic && lhs.key == rhs.key && lhs.value == rhs.value && lhs.headers == rhs.headers
            && lhs.operation == rhs.operation && lhs.table == rhs.table && lhs.lsn == rhs.lsn
            && lhs.transactionID == rhs.transactionID && lhs.envelope == rhs.envelope && lhs.rowTable === rhs.rowTable
            && lhs.partition == rhs.partition && lhs.timestamp == rhs.timestamp && lhs.position == rhs.position
            && lhs.snapshotRow == rhs.snapshotRow && lhs.snapshotMark == rhs.snapshotMark
            && lhs.avroSchemas === rhs.avroSchemas && lhs.avroIDsPending == rhs.avroIDsPending
    }

    public struct Header: Sendable, Equatable {
        public var name: String
        /// nil for a header whose value is null (a null field copied into a header).
        public var value: [UInt8]?

        public init(name: String, value: [UInt8]?) {
            self.name = name
            self.value = value
        }

        /// Debezium's context headers (`extended.headers.enabled`, on by default since 3.2.1), with the values
        /// Kafka Connect's SimpleHeaderConverter writes for their strings.
        ///
        /// - Parameter runID: new for every run of the connector, as Debezium makes one per task start.
        public static func debeziumContext(logicalName: String, runID: String) -> [Header] {
            [
                Header(name: "__debezium.context.connectorLogicalName", value: Array(logicalName.utf8)),
                Header(name: "__debezium.context.taskId", value: Array("0".utf8)),
                Header(name: "__debezium.context.connectorName", value: Array("postgresql".utf8)),
                Header(name: "__debezium.context.runId", value: Array(runID.utf8)),
            ]
        }
    }

    public init(
        topic: String, key: [UInt8]?, value: [UInt8]?, headers: [Header] = [], operation: ChangeOperation?,
        table: TableName? = nil, lsn: LSN? = nil, transactionID: UInt32? = nil, envelope: EnvelopeLayout? = nil,
        rowTable: TableSchema? = nil, avroSchemas: AvroRecordSchemas? = nil, avroIDsPending: Bool = false
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.operation = operation
        self.table = table
        self.lsn = lsn
        self.transactionID = transactionID
        self.envelope = envelope
        self.rowTable = rowTable
        self.avroSchemas = avroSchemas
        self.avroIDsPending = avroIDsPending
    }
}

/// Where the parts of a data event's envelope lie in its value bytes, with its table's schema: what a transform reads
/// instead of parsing the value.
public struct EnvelopeLayout: Sendable, Equatable {
    public let table: TableSchema
    /// The envelope object (the `payload` when schemas are on).
    public var payload: Range<Int>
    /// The `before` and `after` values (a row object or `null`), `source` and `transaction`.
    public var before: Range<Int>
    public var after: Range<Int>
    public var source: Range<Int>
    public var transaction: Range<Int>
    /// From the `"op"` key to the end of the envelope object: `"op":"c","ts_ms":…,"ts_us":…,"ts_ns":…}`.
    public var tail: Range<Int>
    /// Where each `source` field's value starts, in `SourceField` order, as the builder wrote them: a transform
    /// finds a field without searching for it.
    var sourceStarts: SIMD16<Int32>

    public init(
        table: TableSchema, payload: Range<Int>, before: Range<Int>, after: Range<Int>, source: Range<Int>,
        transaction: Range<Int>, tail: Range<Int>, sourceStarts: SIMD16<Int32>
    ) {
        self.table = table
        self.payload = payload
        self.before = before
        self.after = after
        self.source = source
        self.transaction = transaction
        self.tail = tail
        self.sourceStarts = sourceStarts
    }

    /// The JSON value of a `source` field.
    public func sourceValue(_ field: SourceField) -> Range<Int> {
        let index = field.rawValue
        let start = Int(sourceStarts[index])
        guard index + 1 < SourceField.count else { return start..<(source.upperBound - 1) }
        // The next field's `,"name":` follows the value.
        return start..<Int(sourceStarts[index + 1] - SourceField.memberLengths[index + 1])
    }

    /// The same parts after `offset` bytes were inserted (or removed) before the payload.
    func shifted(by offset: Int) -> EnvelopeLayout {
        func move(_ range: Range<Int>) -> Range<Int> { (range.lowerBound + offset)..<(range.upperBound + offset) }
        var layout = self
        layout.payload = move(payload)
        layout.before = move(before)
        layout.after = move(after)
        layout.source = move(source)
        layout.transaction = move(transaction)
        layout.tail = move(tail)
        layout.sourceStarts &+= SIMD16(repeating: Int32(offset))
        return layout
    }

    public static func == (lhs: EnvelopeLayout, rhs: EnvelopeLayout) -> Bool {
        lhs.table === rhs.table && lhs.payload == rhs.payload && lhs.before == rhs.before && lhs.after == rhs.after
            && lhs.source == rhs.source && lhs.transaction == rhs.transaction && lhs.tail == rhs.tail
            && lhs.sourceStarts == rhs.sourceStarts
    }
}

/// The fields of a Debezium PostgreSQL `source` block, in the order they are written.
public enum SourceField: Int, Sendable, CaseIterable {
    case version, connector, name, tsMs, snapshot, db, sequence, tsUs, tsNs, schema, table, txId, lsn, xmin, origin
    case originLSN

    static let count = 16
    /// The length of each field's `,"name":`.
    static let memberLengths = SIMD16<Int32>(allCases.map { Int32($0.name.utf8.count + 4) })

    /// The field's name in the block.
    public var name: String {
        switch self {
        case .version: "version"
        case .connector: "connector"
        case .name: "name"
        case .tsMs: "ts_ms"
        case .snapshot: "snapshot"
        case .db: "db"
        case .sequence: "sequence"
        case .tsUs: "ts_us"
        case .tsNs: "ts_ns"
        case .schema: "schema"
        case .table: "table"
        case .txId: "txId"
        case .lsn: "lsn"
        case .xmin: "xmin"
        case .origin: "origin"
        case .originLSN: "origin_lsn"
        }
    }

    public init?(name: String) {
        guard let field = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = field
    }
}

/// The `op` of a Debezium event.
public enum ChangeOperation: String, Sendable, CaseIterable {
    case create = "c"
    case update = "u"
    case delete = "d"
    case truncate = "t"
    case read = "r"
    case message = "m"

    /// The raw value without a `String`, for the event writer.
    var staticRawValue: StaticString {
        switch self {
        case .create: "c"
        case .update: "u"
        case .delete: "d"
        case .truncate: "t"
        case .read: "r"
        case .message: "m"
        }
    }
}

/// What the builder needs to know of a table beyond its Relation message, read from the catalog.
public struct TableMetadata: Sendable, Equatable {
    /// Primary-key columns in key order; empty for a table without a primary key.
    public var primaryKey: [String]
    /// Columns declared NOT NULL.
    public var notNull: Set<String>
    /// Type facts by column name, for types that are not built in (enums, domains, extensions, arrays).
    public var types: [String: ColumnTypeFacts]
    /// Columns left out of the events' values (`column_exclude_list`), as though the table did not have them.
    public var excludedColumns: Set<String> = []

    public init(primaryKey: [String], notNull: Set<String>, types: [String: ColumnTypeFacts] = [:]) {
        self.primaryKey = primaryKey
        self.notNull = notNull
        self.types = types
    }
}

/// Debezium's value handling options, with its names and defaults.
public struct ValueHandling: Sendable, Equatable {
    /// `decimal.handling.mode`
    public enum Decimal: String, Sendable, CaseIterable {
        case precise, double, string
    }

    /// `time.precision.mode`
    public enum TimePrecision: String, Sendable, CaseIterable {
        case adaptive
        case adaptiveTimeMicroseconds = "adaptive_time_microseconds"
        case connect
    }

    /// `binary.handling.mode`
    public enum Binary: String, Sendable, CaseIterable {
        case bytes, base64
        case base64URLSafe = "base64-url-safe"
        case hex
    }

    /// `interval.handling.mode`
    public enum Interval: String, Sendable, CaseIterable {
        case numeric, string
    }

    /// `hstore.handling.mode`
    public enum Hstore: String, Sendable, CaseIterable {
        case json, map
    }

    public var decimal: Decimal
    public var time: TimePrecision
    public var binary: Binary
    public var interval: Interval
    public var hstore: Hstore
    /// `unavailable.value.placeholder`: what an unchanged TOAST value is replaced with.
    public var unavailablePlaceholder: String

    public init(
        decimal: Decimal = .precise, time: TimePrecision = .adaptive, binary: Binary = .bytes, interval: Interval = .numeric,
        hstore: Hstore = .json, unavailablePlaceholder: String = "__debezium_unavailable_value"
    ) {
        self.decimal = decimal
        self.time = time
        self.binary = binary
        self.interval = interval
        self.hstore = hstore
        self.unavailablePlaceholder = unavailablePlaceholder
    }
}

/// Settings that shape every event of a connector.
public struct EventSettings: Sendable {
    public var topicPrefix: String
    public var databaseName: String
    /// Wrap key and value as Kafka Connect's JsonConverter does with `schemas.enable=true`.
    public var schemas: Bool
    public var tombstones: Bool
    public var skippedOperations: Set<ChangeOperation>
    /// `source.version`.
    public var version: String
    /// How values of some types are written (Debezium's handling modes).
    public var values: ValueHandling
    /// A null in a column whose default the schema carries is written as that default, as Kafka Connect's
    /// JsonConverter does with `replace.null.with.default` (its default).
    public var replaceNullWithDefault: Bool
    /// Whether data events carry their `EnvelopeLayout` (for transforms that read the envelope); off, events cost
    /// nothing for it.
    public var envelopeLayouts: Bool
    /// Added after an event's own headers on every data event (not on logical messages), as Debezium's
    /// `extended.headers.enabled` adds its context headers.
    public var contextHeaders: [ChangeEvent.Header]
    /// Where Debezium's transaction metadata records go (`provide.transaction.metadata`), and whether data events carry
    /// their `transaction` block; nil writes neither.
    public var transactionTopic: String?
    /// Data events' keys and values are written in Avro, Confluent's wire format, with the schema ids known here (and
    /// zeros where an id is not known yet, for the Avro stage to fill in); nil writes JSON. Needs `schemas` (the Avro
    /// schemas are derived from the Connect schemas), and no transform after the builder.
    public var avro: AvroSchemaIDs?

    public init(
        topicPrefix: String, databaseName: String, schemas: Bool = false, tombstones: Bool = true,
        skippedOperations: Set<ChangeOperation> = [.truncate], version: String, values: ValueHandling = ValueHandling(),
        replaceNullWithDefault: Bool = true, contextHeaders: [ChangeEvent.Header] = [], envelopeLayouts: Bool = false,
        transactionTopic: String? = nil, avro: AvroSchemaIDs? = nil
    ) {
        self.avro = avro
        self.transactionTopic = transactionTopic
        self.envelopeLayouts = envelopeLayouts
        self.values = values
        self.replaceNullWithDefault = replaceNullWithDefault
        self.contextHeaders = contextHeaders
        self.topicPrefix = topicPrefix
        self.databaseName = databaseName
        self.schemas = schemas
        self.tombstones = tombstones
        self.skippedOperations = skippedOperations
        self.version = version
    }
}

extension ChangeEvent {
    private static let sourceMarker = Array(#""source":{"version":"#.utf8)

    /// A number of the `source` block of an event value written by `ChangeEventBuilder` (`"lsn"`, `"ts_us"`, …).
    ///
    /// `source` follows the row images, which may be huge, so only the value's tail is searched.
    public static func sourceNumber(_ field: StaticString, in value: [UInt8]?) -> UInt64? {
        guard let value else { return nil }
        let key =
            [UInt8(ascii: "\"")] + UnsafeBufferPointer(start: field.utf8Start, count: field.utf8CodeUnitCount)
            + [UInt8(ascii: "\""), UInt8(ascii: ":")]
        let tail = value[max(0, value.count - 8192)...]
        guard let source = tail.firstRange(of: sourceMarker), let found = value[source.upperBound...].firstRange(of: key)
        else { return nil }
        var number: UInt64 = 0
        var index = found.upperBound
        while index < value.count, value[index] >= 0x30, value[index] <= 0x39 {
            number = number &* 10 &+ UInt64(value[index] - 0x30)
            index += 1
        }
        return index > found.upperBound ? number : nil
    }
}
