public import PGOutput

/// Turns decoded pgoutput messages into Debezium events.
///
/// Holds the relation cache and the position of the transaction being read. Pure: the
/// caller passes the wall clock (`nowNanos`) and the catalog facts (`TableMetadata`).
public struct ChangeEventBuilder: Sendable {
    public let settings: EventSettings
    /// `settings.skippedOperations`, asked once instead of hashing an operation for every change.
    private let skips: (create: Bool, update: Bool, delete: Bool, truncate: Bool)
    private var tables: [UInt32: TableSchema] = [:]
    /// Each table topic's table, for facts about an event that came back from Kafka as bytes.
    private var topicTables: [String: TableName] = [:]
    /// `{"version":"…","connector":"postgresql","name":"…","ts_ms":`
    private let sourcePrefix: [UInt8]
    /// `,"db":"…","sequence":`
    private let sourceDatabaseFragment: [UInt8]
    private let messageTopic: String

    // The transaction being read.
    private var xid: UInt32?
    private var commitTimeMicros: Int64 = 0
    private var origin: Origin?
    /// End LSN of the last transaction committed before this one (Debezium's `lastCommitLsn`).
    public private(set) var lastCommitLSN: LSN?
    /// Debezium's transaction metadata, when `settings.transactionTopic` is set.
    private var transactions: TransactionMetadata?
    /// Where the transaction being read began, until its `BEGIN` record is written.
    private var beginLSN: LSN?

    private var buffer = JSONBuffer(capacity: 1024)
    /// The last event's key and value. Once the event is gone they are referenced only here again, so
    /// the next event's bytes go into the same storage instead of two new arrays; an event someone
    /// keeps keeps its bytes (copy on write).
    private var keyBytes: [UInt8] = []
    private var valueBytes: [UInt8] = []
    /// Where the parts of the envelope last written lie in its bytes.
    private var layout: EnvelopeLayout?
    /// Where the last `source` block's values start, for the layout.
    private var sourceStarts = SIMD16<Int32>(repeating: 0)
    /// Where the `name` value starts in `sourcePrefix`.
    private let sourceNameOffset: Int32
    /// Set while writing snapshot reads.
    private var snapshotMarker: SnapshotMarker?
    /// Set while writing an incremental snapshot's read: the wall clock its `source` times carry (Debezium's clock at
    /// the event, in nanoseconds); its `source.lsn` and `txId` are null and its `sequence` names the closing watermark
    /// twice.
    private var incrementalSourceNanos: Int64?
    /// `source.version`, `connector` and `name` as Avro strings; `db`.
    private let avroSourcePrefix: [UInt8]
    private let avroDatabase: [UInt8]
    /// Schema ids known for the Avro schemas written, by their schemas' identity; the schemas are kept, so that an
    /// identifier is never reused by others.
    private var knownAvroIDs: [ObjectIdentifier: AvroSchemaIDs.IDs] = [:]
    private var knownAvroSchemas: [AvroRecordSchemas] = []

    /// `source.snapshot` of a snapshot read, as Debezium sets it.
    public enum SnapshotMarker: String, Sendable {
        case first
        case firstInDataCollection = "first_in_data_collection"
        case middle = "true"
        case lastInDataCollection = "last_in_data_collection"
        case last
        /// A row an incremental snapshot read while streaming.
        case incremental

        var staticRawValue: StaticString {
            switch self {
            case .first: "first"
            case .firstInDataCollection: "first_in_data_collection"
            case .middle: "true"
            case .lastInDataCollection: "last_in_data_collection"
            case .last: "last"
            case .incremental: "incremental"
            }
        }
    }

    public init(settings: EventSettings, lastCommitLSN: LSN? = nil) {
        self.settings = settings
        skips = (
            settings.skippedOperations.contains(.create), settings.skippedOperations.contains(.update),
            settings.skippedOperations.contains(.delete), settings.skippedOperations.contains(.truncate)
        )
        self.lastCommitLSN = lastCommitLSN
        var prefix = JSONBuffer()
        prefix.appendRaw("{\"version\":")
        prefix.appendString(settings.version)
        prefix.appendRaw(",\"connector\":\"postgresql\",\"name\":")
        sourceNameOffset = Int32(prefix.count)
        prefix.appendString(settings.topicPrefix)
        prefix.appendRaw(",\"ts_ms\":")
        sourcePrefix = prefix.bytes
        var database = JSONBuffer()
        database.appendRaw(",\"db\":")
        database.appendString(settings.databaseName)
        database.appendRaw(",\"sequence\":")
        sourceDatabaseFragment = database.bytes
        messageTopic = "\(settings.topicPrefix).message"
        var avroSource = JSONBuffer(capacity: 64)
        for var text in [settings.version, "postgresql", settings.topicPrefix] {
            text.withUTF8 { avroSource.appendAvroBytes(UnsafeRawBufferPointer($0)) }
        }
        avroSourcePrefix = avroSource.bytes
        avroSource.removeAll()
        var databaseName = settings.databaseName
        databaseName.withUTF8 { avroSource.appendAvroBytes(UnsafeRawBufferPointer($0)) }
        avroDatabase = avroSource.bytes
        transactions = settings.transactionTopic.map {
            TransactionMetadata(topicPrefix: settings.topicPrefix, topic: $0, schemas: settings.schemas)
        }
    }

    // MARK: Relations

    /// Records (or replaces) the shape of a relation.
    @discardableResult
    public mutating func register(_ relation: Relation, metadata: TableMetadata) throws(EventEncodingError) -> TableSchema {
        let schema = try TableSchema(relation: relation, metadata: metadata, settings: settings)
        tables[relation.oid] = schema
        topicTables[schema.topic] = schema.name
        return schema
    }

    public func table(oid: UInt32) -> TableSchema? {
        tables[oid]
    }

    // MARK: Transactions

    /// Opens a transaction read from the stream; `lsn` is its `Begin` message's position, which its `BEGIN` record
    /// names.
    public mutating func begin(_ begin: Begin, at lsn: LSN = .zero) {
        xid = begin.xid
        commitTimeMicros = begin.commitTimeMicros
        origin = nil
        beginLSN = transactions != nil ? lsn : nil
    }

    /// The open transaction's `BEGIN` record, the first time it is asked for (with transaction metadata on); nil
    /// otherwise. Debezium writes one for every transaction the server sends, whether or not any of its changes is
    /// captured, so the caller asks at each change the server sends (captured or not, skipped operation or not), and
    /// `events(for:)` asks before writing any; a transaction holding only Tributary's own heartbeat or context messages
    /// gets none.
    public mutating func transactionBegin() -> ChangeEvent? {
        guard let lsn = beginLSN, let xid, snapshotMarker == nil else { return nil }
        beginLSN = nil
        return transactions?.begin(xid: xid, commitTimeMicros: commitTimeMicros, at: lsn)
    }

    public mutating func setOrigin(_ origin: Origin) {
        self.origin = origin
    }

    /// Closes the transaction; returns its `END` record when its `BEGIN` record was written. `lsn` is the `Commit`
    /// message's position.
    @discardableResult
    public mutating func commit(_ commit: Commit, at lsn: LSN = .zero) -> ChangeEvent? {
        xid = nil
        lastCommitLSN = commit.endLSN
        beginLSN = nil
        guard transactions?.isOpen == true else { return nil }
        return transactions?.end(at: lsn)
    }

    // MARK: Snapshots

    /// Starts writing snapshot reads: their `source` carries the snapshot's transaction and start time.
    public mutating func beginSnapshot(xid: UInt32?, timeMicros: Int64) {
        self.xid = xid
        commitTimeMicros = timeMicros
        origin = nil
        lastCommitLSN = nil
        snapshotMarker = .middle
    }

    /// Back to streaming, after the snapshot.
    public mutating func endSnapshot(lastCommitLSN: LSN?) {
        xid = nil
        snapshotMarker = nil
        self.lastCommitLSN = lastCommitLSN
    }

    /// The `r` event for one row of a table being snapshotted, at the slot's consistent point `lsn`.
    public mutating func snapshotRead(
        _ row: TupleData, relationOID: UInt32, marker: SnapshotMarker, at lsn: LSN, nowNanos: Int64
    ) throws(EventEncodingError) -> ChangeEvent {
        let table = try schema(relationOID)
        try checkWidth(row, table)
        snapshotMarker = marker
        defer { snapshotMarker = .middle }
        let key = try writeKey(row, table)
        let value = try writeValue(table, before: nil, after: row, op: .read, lsn: lsn, nowNanos: nowNanos)
        return event(table, key: key, value: value, operation: .read, lsn: lsn)
    }

    /// The `r` event for one row an incremental snapshot read while streaming, sent at `lsn` (the chunk's closing
    /// watermark) as Debezium sends it: `source.snapshot` is `incremental`, `source` carries the clock's `nowNanos`, a
    /// null `lsn` and `txId`, and `sequence` names the watermark twice; the streaming transaction's state is kept.
    public mutating func incrementalSnapshotRead(
        _ row: TupleData, relationOID: UInt32, at lsn: LSN, nowNanos: Int64
    ) throws(EventEncodingError) -> ChangeEvent {
        let table = try schema(relationOID)
        try checkWidth(row, table)
        let streaming = (xid, snapshotMarker, origin)
        xid = nil
        snapshotMarker = .incremental
        origin = nil
        incrementalSourceNanos = nowNanos
        defer {
            (xid, snapshotMarker, origin) = streaming
            incrementalSourceNanos = nil
        }
        let key = try writeKey(row, table)
        let value = try writeValue(table, before: nil, after: row, op: .read, lsn: lsn, nowNanos: nowNanos)
        return event(table, key: key, value: value, operation: .read, lsn: lsn)
    }

    // MARK: Events

    /// Writes the events for one change (none when its operation is skipped). Each is handed over, not lent, so a
    /// transform changes it in place without copying it first.
    ///
    /// - Parameters:
    ///   - lsn: the change's position (the XLogData `walStart`).
    ///   - nowNanos: wall clock for the envelope's `ts_*`.
    public mutating func events(
        for message: LogicalMessage, at lsn: LSN, nowNanos: Int64, emit: (consuming ChangeEvent) throws -> Void
    ) throws {
        // Binary values (pgoutput's binary mode) are written straight into JSON; Avro and the old row's TOASTed values
        // read their text.
        let message = try textualWhereNeeded(message)
        switch message {
        case .insert, .update, .delete, .truncate:
            if let record = transactionBegin() { try emit(record) }
        case .message(let message) where message.isTransactional:
            if let record = transactionBegin() { try emit(record) }
        default:
            break
        }
        switch message {
        case .insert(let insert):
            let table = try schema(insert.relationOID)
            try checkWidth(insert.new, table)
            guard !skips.create else { return }
            let key = try writeKey(insert.new, table)
            let value = try writeValue(table, before: nil, after: insert.new, op: .create, lsn: lsn, nowNanos: nowNanos)
            try emit(event(table, key: key, value: value, operation: .create, lsn: lsn))
        case .update(let update):
            let table = try schema(update.relationOID)
            try checkWidth(update.new, table)
            guard !skips.update else { return }
            let old: TupleData?
            switch update.old {
            case .key(let tuple), .full(let tuple):
                try checkWidth(tuple, table)
                old = tuple
            case nil: old = nil
            }
            let newKey = try writeKey(update.new, table)
            if let old, table.hasPrimaryKey, let oldKey = try writeKey(old, table), oldKey != newKey {
                // Debezium: a primary-key change is a delete of the old key, its tombstone, and a create.
                let newKeyHeader = try keyHeader(newKey, update.new, table)
                let deleted = try writeValue(table, before: old, after: nil, op: .delete, lsn: lsn, nowNanos: nowNanos)
                try emit(
                    event(
                        table, key: oldKey, value: deleted,
                        headers: [.init(name: "__debezium.newkey", value: newKeyHeader)], operation: .delete,
                        lsn: lsn))
                if settings.tombstones {
                    // The tombstone carries the delete's headers, as Debezium copies them to it.
                    try emit(
                        event(
                            table, key: oldKey, value: nil,
                            headers: [.init(name: "__debezium.newkey", value: newKeyHeader)], operation: nil,
                            lsn: lsn))
                }
                let created = try writeValue(table, before: nil, after: update.new, op: .create, lsn: lsn, nowNanos: nowNanos)
                try emit(
                    event(
                        table, key: newKey, value: created,
                        headers: [.init(name: "__debezium.oldkey", value: keyHeader(oldKey, old, table))],
                        operation: .create,
                        lsn: lsn))
                return
            }
            var after = update.new
            if case .full(let full) = update.old { after = Self.fillingUnchanged(after, from: full) }
            let value = try writeValue(table, before: old, after: after, op: .update, lsn: lsn, nowNanos: nowNanos)
            try emit(event(table, key: newKey, value: value, operation: .update, lsn: lsn))
        case .delete(let delete):
            let table = try schema(delete.relationOID)
            let old: TupleData
            switch delete.old {
            case .key(let tuple), .full(let tuple): old = tuple
            }
            try checkWidth(old, table)
            guard !skips.delete else { return }
            let key = try writeKey(old, table)
            let value = try writeValue(table, before: old, after: nil, op: .delete, lsn: lsn, nowNanos: nowNanos)
            try emit(event(table, key: key, value: value, operation: .delete, lsn: lsn))
            if settings.tombstones {
                try emit(event(table, key: key, value: nil, operation: nil, lsn: lsn))
            }
        case .truncate(let truncate):
            for oid in truncate.relationOIDs {
                let table = try schema(oid)
                guard !skips.truncate else { continue }
                let value = try writeValue(table, before: nil, after: nil, op: .truncate, lsn: lsn, nowNanos: nowNanos)
                try emit(event(table, key: nil, value: value, operation: .truncate, lsn: lsn))
            }
        case .message(let message):
            let (key, value) = writeMessage(message, nowNanos: nowNanos)
            try emit(
                ChangeEvent(
                    topic: messageTopic, key: key, value: value, operation: .message, lsn: lsn,
                    transactionID: message.isTransactional ? xid : nil))
        case .begin, .commit, .origin, .relation, .type:
            break
        }
    }

    /// An event of `table` with the facts of the change being written.
    @inline(__always)
    private func event(
        _ table: TableSchema, key: [UInt8]?, value: [UInt8]?, headers: [ChangeEvent.Header] = [],
        operation: ChangeOperation?, lsn: LSN
    ) -> ChangeEvent {
        // Made in one initialiser call: an event changed after it is copied once more on its way out.
        let avro = table.avro
        // A tombstone has no envelope; its table's schema lets a transform read its key's column types.
        let layouts = settings.envelopeLayouts
        return ChangeEvent(
            topic: table.topic, key: key, value: value,
            headers: headers.isEmpty ? settings.contextHeaders : headers + settings.contextHeaders, operation: operation,
            table: table.name, lsn: lsn, transactionID: xid, envelope: layouts && value != nil ? layout : nil,
            rowTable: layouts && value == nil ? table : nil, avroSchemas: avro?.schemas,
            avroIDsPending: avro != nil && (Self.idPending(key) || Self.idPending(value)))
    }

    /// The table whose events go to `topic`, among the tables registered; nil for any other topic.
    public func table(forTopic topic: String) -> TableName? {
        topicTables[topic]
    }

    /// The change with every value that came in binary (pgoutput's `binary` option) as its type's text, so that events,
    /// keys, signals and snapshot windows read one form; a change without binary values is returned as it is. Throws
    /// for a value whose type's binary form the connector cannot read (a column it leaves out of events becomes a null
    /// instead: nothing reads it).
    public func textual(_ message: LogicalMessage) throws(EventEncodingError) -> LogicalMessage {
        func convert(_ old: Update.OldTuple, _ oid: UInt32) throws(EventEncodingError) -> Update.OldTuple {
            switch old {
            case .key(let tuple): .key(try textual(tuple, relationOID: oid))
            case .full(let tuple): .full(try textual(tuple, relationOID: oid))
            }
        }
        func convert(_ tuple: TupleData, _ oid: UInt32) throws(EventEncodingError) -> TupleData {
            try textual(tuple, relationOID: oid)
        }
        switch message {
        case .insert(var insert):
            insert.new = try convert(insert.new, insert.relationOID)
            return .insert(insert)
        case .update(var update):
            update.new = try convert(update.new, update.relationOID)
            if let old = update.old { update.old = try convert(old, update.relationOID) }
            return .update(update)
        case .delete(var delete):
            delete.old = try convert(delete.old, delete.relationOID)
            return .delete(delete)
        default:
            return message
        }
    }

    /// A row of relation `relationOID` with its binary values as text (see `textual(_:)`).
    public func textual(_ tuple: TupleData, relationOID: UInt32) throws(EventEncodingError) -> TupleData {
        guard tuple.columns.contains(where: { $0.kind == .binary }) else { return tuple }
        let table = try schema(relationOID)
        try checkWidth(tuple, table)
        return try Self.textual(tuple, table)
    }

    /// The change as `events(for:)` writes it: binary values stay for JSON rows, which write them directly; an Avro
    /// table's rows and an update whose old row fills unchanged TOASTed values read text.
    private func textualWhereNeeded(_ message: LogicalMessage) throws(EventEncodingError) -> LogicalMessage {
        switch message {
        case .insert, .delete:
            return settings.avro != nil ? try textual(message) : message
        case .update(let change):
            if settings.avro != nil { return try textual(message) }
            if case .full = change.old { return try textual(message) }
            return message
        default:
            return message
        }
    }

    static func binaryValue(_ table: TableSchema, _ index: Int) -> EventEncodingError {
        let type = table.relation.columns[index].typeOID
        return .binaryValue(
            table: table.qualifiedName, column: table.relation.columns[index].name,
            type: table.binaryFormats[index] == nil
                ? "\(type) (a type whose binary form is not supported)" : "\(type) (bytes that are not a value of it)")
    }

    static func textual(_ tuple: TupleData, _ table: TableSchema) throws(EventEncodingError) -> TupleData {
        var storage: [UInt8] = []
        storage.reserveCapacity(tuple.storage.count * 2 + 16 * tuple.count)
        var columns = tuple.columns
        for index in columns.indices {
            let column = columns[index]
            let start = storage.count
            switch column.kind {
            case .null, .unchanged:
                columns[index].range = start..<start
                continue
            case .text:
                storage.append(contentsOf: tuple.storage[column.range])
            case .binary:
                let read = tuple.withValue(index) { value in
                    table.binaryFormats[index]?.appendText(value, to: &storage) ?? false
                }
                guard read else {
                    guard table.encodings[index] != .omitted && table.encodings[index] != .alwaysNull else {
                        // Not in events: nothing reads its value.
                        storage.removeSubrange(start...)
                        columns[index] = TupleData.Column(kind: .null, range: start..<start)
                        continue
                    }
                    throw binaryValue(table, index)
                }
            }
            columns[index] = TupleData.Column(kind: .text, range: start..<storage.count)
        }
        return TupleData(storage: storage, columns: columns)
    }

    /// With REPLICA IDENTITY FULL the old row holds the values of unchanged TOASTed columns: Debezium uses them.
    static func fillingUnchanged(_ new: TupleData, from old: TupleData) -> TupleData {
        guard new.columns.contains(where: { $0.kind == .unchanged }) else { return new }
        var storage = new.storage
        var columns = new.columns
        for index in columns.indices where columns[index].kind == .unchanged && old.columns[index].kind == .text {
            let start = storage.count
            storage.append(contentsOf: old.storage[old.columns[index].range])
            columns[index] = TupleData.Column(kind: .text, range: start..<storage.count)
        }
        return TupleData(storage: storage, columns: columns)
    }

    private func schema(_ oid: UInt32) throws(EventEncodingError) -> TableSchema {
        guard let table = tables[oid] else { throw .unknownRelation(oid: oid) }
        return table
    }

    private func checkWidth(_ tuple: TupleData, _ table: TableSchema) throws(EventEncodingError) {
        if tuple.count != table.encodings.count {
            throw .columnCountMismatch(table: table.qualifiedName, expected: table.encodings.count, actual: tuple.count)
        }
    }

    // MARK: Writing

    /// The key bytes (with the schema wrapper when schemas are on), or nil for a table without a primary key.
    private mutating func writeKey(_ tuple: TupleData, _ table: TableSchema) throws(EventEncodingError) -> [UInt8]? {
        guard table.hasPrimaryKey else { return nil }
        buffer.removeAll()
        if let plan = table.avro {
            appendAvroHeader(id: avroIDs(plan).key)
            for field in plan.key { try writeAvroField(tuple, field, plan.keyColumns, table) }
            buffer.copy(into: &keyBytes)
            return keyBytes
        }
        buffer.append(table.keySchemaPrefix)
        buffer.append(UInt8(ascii: "{"))
        for (position, index) in table.keyIndexes.enumerated() {
            if position > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(table.fieldPrefixes[index])
            try writeColumn(tuple, index, table)
        }
        buffer.append(UInt8(ascii: "}"))
        if settings.schemas { buffer.append(UInt8(ascii: "}")) }
        buffer.copy(into: &keyBytes)
        return keyBytes
    }

    /// The key's payload alone (`{"id":2}`) as JSON, for the `__debezium.oldkey` / `newkey` headers, whatever the key's
    /// format.
    private mutating func keyHeader(
        _ key: [UInt8]?, _ tuple: TupleData, _ table: TableSchema
    ) throws(EventEncodingError)
        -> [UInt8]
    {
        guard table.avro != nil else { return keyPayload(key, table) }
        var json = JSONBuffer(capacity: 64)
        json.append(UInt8(ascii: "{"))
        for (position, index) in table.keyIndexes.enumerated() {
            if position > 0 { json.append(UInt8(ascii: ",")) }
            json.append(table.fieldPrefixes[index])
            try Self.writeColumn(tuple, index, table, settings, into: &json)
        }
        json.append(UInt8(ascii: "}"))
        return json.bytes
    }

    private func keyPayload(_ key: [UInt8]?, _ table: TableSchema) -> [UInt8] {
        guard let key else { return Array("null".utf8) }
        guard settings.schemas else { return key }
        return Array(key[table.keySchemaPrefix.count..<(key.count - 1)])
    }

    private mutating func writeValue(
        _ table: TableSchema, before: TupleData?, after: TupleData?, op: ChangeOperation, lsn: LSN, nowNanos: Int64
    ) throws(EventEncodingError) -> [UInt8] {
        buffer.removeAll()
        if let plan = table.avro {
            return try writeAvroValue(table, plan, before: before, after: after, op: op, lsn: lsn, nowNanos: nowNanos)
        }
        buffer.append(table.valueSchemaPrefix)
        let payloadStart = buffer.count
        buffer.appendRaw("{\"before\":")
        let beforeStart = buffer.count
        try writeRow(before, table)
        let beforeEnd = buffer.count
        buffer.appendRaw(",\"after\":")
        let afterStart = buffer.count
        try writeRow(after, table)
        let afterEnd = buffer.count
        buffer.appendRaw(",\"source\":")
        let sourceStart = buffer.count
        writeSource(
            tableFragment: table.sourceTableFragment, tableValueOffset: table.sourceTableValueOffset, lsn: lsn, xid: xid)
        let sourceEnd = buffer.count
        buffer.appendRaw(",\"transaction\":")
        let transactionStart = buffer.count
        if transactions?.isOpen == true && snapshotMarker == nil {
            transactions?.appendEvent(collection: table.qualifiedName, at: lsn, into: &buffer)
        } else {
            buffer.appendRaw("null")
        }
        let transactionEnd = buffer.count
        buffer.append(UInt8(ascii: ","))
        let tailStart = buffer.count
        buffer.appendRaw("\"op\":\"")
        buffer.appendRaw(op.staticRawValue)
        buffer.append(UInt8(ascii: "\""))
        buffer.appendEventTimes(nanos: nowNanos)
        buffer.append(UInt8(ascii: "}"))
        let payloadEnd = buffer.count
        if settings.schemas { buffer.append(UInt8(ascii: "}")) }
        buffer.copy(into: &valueBytes)
        if settings.envelopeLayouts {
            layout = EnvelopeLayout(
                table: table, payload: payloadStart..<payloadEnd, before: beforeStart..<beforeEnd,
                after: afterStart..<afterEnd, source: sourceStart..<sourceEnd,
                transaction: transactionStart..<transactionEnd, tail: tailStart..<payloadEnd,
                sourceStarts: sourceStarts)
        }
        return valueBytes
    }

    private mutating func writeRow(_ tuple: TupleData?, _ table: TableSchema) throws(EventEncodingError) {
        guard let tuple else {
            buffer.appendNull()
            return
        }
        buffer.append(UInt8(ascii: "{"))
        // Every array the loop reads is opened once for the row: nothing is retained per column.
        var unparseable: Int?
        var unreadable: Int?
        try table.rowSteps.withUnsafeBufferPointer { (steps) throws(EventEncodingError) in
            try table.encodings.withUnsafeBufferPointer { (encodings) throws(EventEncodingError) in
                try table.rowPrefixBytes.withUnsafeBufferPointer { (prefixes) throws(EventEncodingError) in
                    try tuple.columns.withUnsafeBufferPointer { (columns) throws(EventEncodingError) in
                        try tuple.storage.withUnsafeBufferPointer { (storage) throws(EventEncodingError) in
                            for step in steps {
                                buffer.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: prefixes[step.prefix])))
                                let column = columns[step.index]
                                guard column.kind == .text else {
                                    if column.kind == .binary {
                                        // pgoutput's binary mode, in the same loop.
                                        let value = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: storage[column.range]))
                                        if !ValueWriter.writeBinary(
                                            value, format: table.binaryFormats[step.index], as: encodings[step.index],
                                            into: &buffer)
                                        {
                                            unreadable = step.index
                                            return
                                        }
                                        continue
                                    }
                                    try Self.writeColumn(tuple, step.index, table, settings, into: &buffer)
                                    continue
                                }
                                let value = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: storage[column.range]))
                                if !ValueWriter.write(value, as: encodings[step.index], into: &buffer) {
                                    unparseable = step.index
                                    return
                                }
                            }
                        }
                    }
                }
            }
        }
        if let index = unparseable { throw Self.unparseable(tuple, index, table, table.encodings[index]) }
        if let index = unreadable { throw Self.binaryValue(table, index) }
        buffer.append(UInt8(ascii: "}"))
    }

    /// Throws when the value's text is not what its column's type produces: an event never carries a value in another
    /// shape than its schema says.
    @inline(__always)
    private mutating func writeColumn(_ tuple: TupleData, _ index: Int, _ table: TableSchema) throws(EventEncodingError) {
        guard tuple.columns[index].kind == .text else {
            return try Self.writeColumn(tuple, index, table, settings, into: &buffer)
        }
        // The common case written here, so the per-column path stays inlined.
        let encoding = table.encodings[index]
        if !tuple.withValue(index, { ValueWriter.write($0, as: encoding, into: &buffer) }) {
            throw Self.unparseable(tuple, index, table, encoding)
        }
    }

    static func unparseable(
        _ tuple: TupleData, _ index: Int, _ table: TableSchema, _ encoding: ColumnEncoding
    )
        -> EventEncodingError
    {
        .unparseableValue(
            table: table.qualifiedName, column: table.relation.columns[index].name, encoding: "\(encoding)",
            text: tuple.text(index) ?? "")
    }

    static func writeColumn(
        _ tuple: TupleData, _ index: Int, _ table: TableSchema, _ settings: EventSettings, into out: inout JSONBuffer
    ) throws(EventEncodingError) {
        let encoding = table.encodings[index]
        switch tuple.columns[index].kind {
        case .null:
            writeNull(encoding, default: table.nullDefaults[index], notNull: table.notNull[index], into: &out)
        case .unchanged:
            writeUnchanged(encoding, settings.values, into: &out)
        case .text:
            let written = tuple.withValue(index) { ValueWriter.write($0, as: encoding, into: &out) }
            if !written { throw unparseable(tuple, index, table, encoding) }
        case .binary:
            // pgoutput's binary mode: straight from the send format where it meets the encoding, else through its text.
            let written = tuple.withValue(index) {
                ValueWriter.writeBinary($0, format: table.binaryFormats[index], as: encoding, into: &out)
            }
            if !written { throw binaryValue(table, index) }
        }
    }

    /// A null: the column's default where the schema carries one, the type's zero for a NOT NULL column (a `before`
    /// built from a key), else null.
    static func writeNull(_ encoding: ColumnEncoding, default fallback: [UInt8]?, notNull: Bool, into out: inout JSONBuffer) {
        if let fallback {
            out.append(fallback)
        } else if notNull {
            ValueWriter.writeDefault(for: encoding, into: &out)
        } else {
            out.appendNull()
        }
    }

    /// An unchanged TOASTed value the server did not send: Debezium's placeholder where the type can hold it.
    static func writeUnchanged(_ encoding: ColumnEncoding, _ values: ValueHandling, into out: inout JSONBuffer) {
        switch encoding {
        case .string, .json, .xml, .tsvector, .enumeration, .hstoreJSON, .decimalString, .intervalString:
            out.appendString(values.unavailablePlaceholder)
        case .bytes, .bytesText:
            out.appendBase64(Array(values.unavailablePlaceholder.utf8))
        default:
            out.appendNull()
        }
    }

    /// The digits of the values a transaction's events share, written once per transaction instead of per event.
    private struct SharedDigits {
        var commitMicros = Int64.min
        var millis: [UInt8] = []
        var micros: [UInt8] = []
        var nanos: [UInt8] = []
        var lastCommit: LSN?? = .none
        var lastCommitText: [UInt8] = []
        var xid: UInt32?? = .none
        var xidText: [UInt8] = []
    }

    private var shared = SharedDigits()

    private static func digits(_ body: (inout JSONBuffer) -> Void) -> [UInt8] {
        var buffer = JSONBuffer(capacity: 32)
        body(&buffer)
        return buffer.bytes
    }

    private mutating func writeSource(tableFragment: [UInt8], tableValueOffset: Int32, lsn: LSN, xid: UInt32?) {
        if shared.commitMicros != commitTimeMicros {
            let micros = commitTimeMicros
            shared.commitMicros = micros
            shared.millis = Self.digits { $0.appendInteger(micros / 1000) }
            shared.micros = Self.digits { $0.appendInteger(micros) }
            shared.nanos = Self.digits { $0.appendInteger(micros &* 1000) }
        }
        if shared.lastCommit != .some(lastCommitLSN) {
            let last = lastCommitLSN
            shared.lastCommit = .some(last)
            shared.lastCommitText = Self.digits { buffer in
                if let last {
                    buffer.appendRaw("\\\"")
                    buffer.appendInteger(last.rawValue)
                    buffer.appendRaw("\\\"")
                } else {
                    buffer.appendNull()
                }
            }
        }
        if shared.xid != .some(xid) {
            shared.xid = .some(xid)
            shared.xidText = Self.digits { buffer in
                if let xid { buffer.appendInteger(xid) } else { buffer.appendNull() }
            }
        }
        let incremental = incrementalSourceNanos
        let recording = settings.envelopeLayouts
        let start = Int32(buffer.count)
        buffer.append(sourcePrefix)
        if recording {
            // After `{"version":` (11 bytes); `"postgresql"` (12) and `,"name":` (8) before the name; `ts_ms` last.
            sourceStarts[SourceField.version.rawValue] = start + 11
            sourceStarts[SourceField.connector.rawValue] = start + sourceNameOffset - 20
            sourceStarts[SourceField.name.rawValue] = start + sourceNameOffset
            sourceStarts[SourceField.tsMs.rawValue] = Int32(buffer.count)
        }
        if let incremental { buffer.appendInteger(incremental / 1_000_000) } else { buffer.append(shared.millis) }
        buffer.appendRaw(",\"snapshot\":")
        if recording { sourceStarts[SourceField.snapshot.rawValue] = Int32(buffer.count) }
        buffer.append(UInt8(ascii: "\""))
        buffer.appendRaw(snapshotMarker?.staticRawValue ?? "false")
        buffer.append(UInt8(ascii: "\""))
        if recording {
            // `,"db":` then the database's name, `,"sequence":` at the fragment's end.
            sourceStarts[SourceField.db.rawValue] = Int32(buffer.count) + 6
            sourceStarts[SourceField.sequence.rawValue] = Int32(buffer.count + sourceDatabaseFragment.count)
        }
        buffer.append(sourceDatabaseFragment)
        buffer.appendRaw("\"[")
        if incremental != nil {
            buffer.appendRaw("\\\"")
            buffer.appendInteger(lsn.rawValue)
            buffer.appendRaw("\\\"")
        } else {
            buffer.append(shared.lastCommitText)
        }
        buffer.appendRaw(",\\\"")
        let lsnStart = buffer.count
        buffer.appendInteger(lsn.rawValue)
        let lsnEnd = buffer.count
        buffer.appendRaw("\\\"]\",\"ts_us\":")
        if recording { sourceStarts[SourceField.tsUs.rawValue] = Int32(buffer.count) }
        if let incremental { buffer.appendInteger(incremental / 1000) } else { buffer.append(shared.micros) }
        buffer.appendRaw(",\"ts_ns\":")
        if recording { sourceStarts[SourceField.tsNs.rawValue] = Int32(buffer.count) }
        if let incremental { buffer.appendInteger(incremental) } else { buffer.append(shared.nanos) }
        if recording {
            let fragment = Int32(buffer.count)
            sourceStarts[SourceField.schema.rawValue] = fragment + 10  // `,"schema":`
            sourceStarts[SourceField.table.rawValue] = fragment + tableValueOffset
            sourceStarts[SourceField.txId.rawValue] = fragment + Int32(tableFragment.count)
        }
        buffer.append(tableFragment)
        buffer.append(shared.xidText)
        buffer.appendRaw(",\"lsn\":")
        if recording { sourceStarts[SourceField.lsn.rawValue] = Int32(buffer.count) }
        if incremental != nil { buffer.appendNull() } else { buffer.appendCopy(from: lsnStart..<lsnEnd) }
        buffer.appendRaw(",\"xmin\":")
        if recording { sourceStarts[SourceField.xmin.rawValue] = Int32(buffer.count) }
        buffer.appendRaw("null,\"origin\":")
        if recording { sourceStarts[SourceField.origin.rawValue] = Int32(buffer.count) }
        if let origin {
            buffer.appendString(origin.name)
            buffer.appendRaw(",\"origin_lsn\":")
            if recording { sourceStarts[SourceField.originLSN.rawValue] = Int32(buffer.count) }
            buffer.appendInteger(origin.commitLSN.rawValue)
            buffer.append(UInt8(ascii: "}"))
        } else {
            buffer.appendRaw("null,\"origin_lsn\":")
            if recording { sourceStarts[SourceField.originLSN.rawValue] = Int32(buffer.count) }
            buffer.appendRaw("null}")
        }
    }

    // MARK: Avro

    /// The ids of a table's Avro schemas, once the Avro stage has them.
    private mutating func avroIDs(_ plan: AvroTablePlan) -> AvroSchemaIDs.IDs {
        let identity = ObjectIdentifier(plan.schemas)
        if let known = knownAvroIDs[identity] { return known }
        guard let ids = settings.avro?.ids(for: plan.schemas) else { return AvroSchemaIDs.IDs() }
        // Kept once both sides are known (the key only where there is one).
        if ids.value != nil && (ids.key != nil || plan.schemas.key == nil) {
            knownAvroIDs[identity] = ids
            knownAvroSchemas.append(plan.schemas)
        }
        return ids
    }

    /// Confluent's wire format's head: the magic byte, then the schema id (zeros until it is known).
    @inline(__always)
    private mutating func appendAvroHeader(id: Int32?) {
        buffer.append(0)
        buffer.write(maximum: 4) { _ in 4 }
        buffer.setBigEndian(id ?? 0, at: buffer.count - 4)
    }

    /// Whether an Avro record's schema id is still zeros.
    @inline(__always)
    static func idPending(_ bytes: [UInt8]?) -> Bool {
        guard let bytes, bytes.count >= 5 else { return false }
        return bytes[1] | bytes[2] | bytes[3] | bytes[4] == 0
    }

    private mutating func writeAvroValue(
        _ table: TableSchema, _ plan: AvroTablePlan, before: TupleData?, after: TupleData?, op: ChangeOperation, lsn: LSN,
        nowNanos: Int64
    ) throws(EventEncodingError) -> [UInt8] {
        appendAvroHeader(id: avroIDs(plan).value)
        try writeAvroRow(before, table, plan)
        try writeAvroRow(after, table, plan)
        writeAvroSource(plan, lsn: lsn)
        if transactions?.isOpen == true && snapshotMarker == nil {
            var json = JSONBuffer(capacity: 128)
            transactions?.appendEvent(collection: table.qualifiedName, at: lsn, into: &json)
            switch AvroColumn.avro(json.bytes, plan.transaction) {
            case .success(let bytes): buffer.append(bytes)
            case .failure(let failure):
                throw .unrepresentable(table: table.qualifiedName, field: "transaction", reason: failure.description)
            }
        } else {
            buffer.append(0)
        }
        let code = op.staticRawValue
        buffer.append(UInt8(code.utf8CodeUnitCount << 1))
        buffer.appendRaw(code)
        // `ts_ms`, `ts_us`, `ts_ns`: each the second branch of `["null", "long"]`.
        buffer.append(2)
        buffer.appendAvroLong(nowNanos / 1_000_000)
        buffer.append(2)
        buffer.appendAvroLong(nowNanos / 1000)
        buffer.append(2)
        buffer.appendAvroLong(nowNanos)
        buffer.copy(into: &valueBytes)
        return valueBytes
    }

    private mutating func writeAvroRow(
        _ tuple: TupleData?, _ table: TableSchema, _ plan: AvroTablePlan
    )
        throws(EventEncodingError)
    {
        guard let tuple else {
            buffer.append(0)
            return
        }
        buffer.append(2)
        for field in plan.row { try writeAvroField(tuple, field, plan.rowColumns, table) }
    }

    /// One field: written by `AvroValueWriter` when it can, else written as JSON and converted (what the JSON path and
    /// `AvroConversion` would make of it).
    @inline(__always)
    private mutating func writeAvroField(
        _ tuple: TupleData, _ field: AvroField, _ columns: [AvroColumn], _ table: TableSchema
    ) throws(EventEncodingError) {
        let fixed: Result<[UInt8], AvroEncoder.Failure>
        switch tuple.columns[field.index].kind {
        case .null: fixed = columns[field.column].null
        case .unchanged: fixed = columns[field.column].unchanged
        case .text:
            if field.native {
                let mark = buffer.count
                if field.optional { buffer.append(field.valueBranch) }
                let encoding = table.encodings[field.index]
                if tuple.withValue(field.index, { AvroValueWriter.write($0, as: encoding, into: &buffer) }) {
                    return
                }
                buffer.truncate(to: mark)
            }
            return try writeAvroThroughJSON(tuple, columns[field.column], table)
        case .binary:
            return try writeAvroThroughJSON(tuple, columns[field.column], table)
        }
        switch fixed {
        case .success(let bytes): buffer.append(bytes)
        case .failure(let failure):
            throw .unrepresentable(
                table: table.qualifiedName, field: table.relation.columns[field.index].name, reason: failure.description)
        }
    }

    private mutating func writeAvroThroughJSON(
        _ tuple: TupleData, _ column: AvroColumn, _ table: TableSchema
    )
        throws(EventEncodingError)
    {
        var json = JSONBuffer(capacity: 64)
        try Self.writeColumn(tuple, column.index, table, settings, into: &json)
        switch AvroColumn.avro(json.bytes, column.schema) {
        case .success(let bytes): buffer.append(bytes)
        case .failure(let failure):
            throw .unrepresentable(
                table: table.qualifiedName, field: table.relation.columns[column.index].name, reason: failure.description)
        }
    }

    /// `source` in Avro, in its schema's order: version, connector, name, ts_ms, snapshot, db, sequence, ts_us, ts_ns,
    /// schema, table, txId, lsn, xmin, origin, origin_lsn.
    private mutating func writeAvroSource(_ plan: AvroTablePlan, lsn: LSN) {
        let incremental = incrementalSourceNanos
        buffer.append(avroSourcePrefix)
        buffer.appendAvroLong(incremental.map { $0 / 1_000_000 } ?? commitTimeMicros / 1000)
        // `snapshot`: the first branch of `[Enum, "null"]` (it has a default).
        let marker = snapshotMarker?.staticRawValue ?? "false"
        buffer.append(0)
        buffer.append(UInt8(marker.utf8CodeUnitCount << 1))
        buffer.appendRaw(marker)
        buffer.append(avroDatabase)
        buffer.append(2)
        let lastCommit = incremental != nil ? lsn : lastCommitLSN
        buffer.appendAvroString { text in
            text.append(UInt8(ascii: "["))
            if let lastCommit {
                text.append(UInt8(ascii: "\""))
                text.appendInteger(lastCommit.rawValue)
                text.append(UInt8(ascii: "\""))
            } else {
                text.appendNull()
            }
            text.appendRaw(",\"")
            text.appendInteger(lsn.rawValue)
            text.appendRaw("\"]")
        }
        buffer.append(2)
        buffer.appendAvroLong(incremental.map { $0 / 1000 } ?? commitTimeMicros)
        buffer.append(2)
        buffer.appendAvroLong(incremental ?? commitTimeMicros &* 1000)
        buffer.append(plan.sourceTable)
        if let xid {
            buffer.append(2)
            buffer.appendAvroLong(Int64(xid))
        } else {
            buffer.append(0)
        }
        if incremental != nil {
            buffer.append(0)
        } else {
            buffer.append(2)
            buffer.appendAvroLong(Int64(bitPattern: lsn.rawValue))
        }
        buffer.append(0)  // xmin
        if let origin {
            buffer.append(2)
            var name = origin.name
            name.withUTF8 { buffer.appendAvroBytes(UnsafeRawBufferPointer($0)) }
            buffer.append(2)
            buffer.appendAvroLong(Int64(bitPattern: origin.commitLSN.rawValue))
        } else {
            buffer.append(0)
            buffer.append(0)
        }
    }

    private static let emptyTableFragment = Array(",\"schema\":\"\",\"table\":\"\",\"txId\":".utf8)
    private static let messageKeyPrefix = ConnectSchema.envelopePrefix(ConnectSchema.messageKey)
    private static let messageValuePrefix = ConnectSchema.envelopePrefix(ConnectSchema.messageValue)

    private mutating func writeMessage(_ message: DecodingMessage, nowNanos: Int64) -> (key: [UInt8], value: [UInt8]) {
        buffer.removeAll()
        if settings.schemas { buffer.append(Self.messageKeyPrefix) }
        buffer.appendRaw("{\"prefix\":")
        buffer.appendString(message.prefix)
        buffer.append(UInt8(ascii: "}"))
        if settings.schemas { buffer.append(UInt8(ascii: "}")) }
        let key = buffer.bytes

        buffer.removeAll()
        if settings.schemas { buffer.append(Self.messageValuePrefix) }
        buffer.appendRaw("{\"op\":\"m\",\"ts_ms\":")
        buffer.appendInteger(nowNanos / 1_000_000)
        buffer.appendRaw(",\"source\":")
        // A non-transactional message carries no xid; Debezium keeps the last commit time.
        writeSource(
            tableFragment: Self.emptyTableFragment, tableValueOffset: 21, lsn: message.lsn,
            xid: message.isTransactional ? xid : nil)
        buffer.appendRaw(",\"transaction\":")
        if message.isTransactional && transactions?.isOpen == true {
            // Debezium counts each message under a collection of its own, named by the object's identity hash.
            let number = UInt32(truncatingIfNeeded: (message.lsn.rawValue &* 0x9E37_79B9_7F4A_7C15) >> 36)
            transactions?.appendEvent(collection: nil, at: message.lsn, messageNumber: number, into: &buffer)
        } else {
            buffer.appendRaw("null")
        }
        buffer.appendRaw(",\"message\":{\"prefix\":")
        buffer.appendString(message.prefix)
        buffer.appendRaw(",\"content\":")
        buffer.appendBase64(message.content)
        buffer.appendRaw("}}")
        if settings.schemas { buffer.append(UInt8(ascii: "}")) }
        return (key, buffer.bytes)
    }
}
