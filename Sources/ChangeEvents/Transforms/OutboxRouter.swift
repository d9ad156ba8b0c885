/// Debezium's `io.debezium.transforms.outbox.EventRouter`: an outbox table's inserted rows become integration events
/// on `outbox.event.<aggregatetype>`, keyed by the aggregate, with the payload column as the value and the event id
/// in an `id` header. Deletes (and tombstones) are dropped, so rows deleted in their own transaction still produce
/// their event; updates are dropped with a warning, or stop the connector, as `table.op.invalid.behavior` says.
public struct OutboxRouter: Sendable {
    public enum InvalidOperation: String, Sendable, CaseIterable {
        case warn, error, fatal
    }

    /// `table.json.payload.null.behavior`.
    public enum JSONNullBehavior: String, Sendable, CaseIterable {
        case ignore
        case optionalBytes = "optional_bytes"
    }

    public enum Placement: String, Sendable, CaseIterable {
        /// `partition`: an `int4` column naming the Kafka partition.
        case header, envelope, partition
    }

    /// One entry of `table.fields.additional.placement`: `column:placement[:alias]`.
    public struct AdditionalField: Sendable, Equatable {
        public var column: String
        public var placement: Placement
        public var alias: String

        public init(column: String, placement: Placement, alias: String? = nil) {
            self.column = column
            self.placement = placement
            self.alias = alias ?? column
        }

        /// Parses Debezium's `column:placement[:alias]`; nil for anything else.
        public init?(parsing text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty,
                let placement = Placement(rawValue: parts[1].lowercased())
            else { return nil }
            self.init(column: parts[0], placement: placement, alias: parts.count == 3 && !parts[2].isEmpty ? parts[2] : nil)
        }
    }

    public struct Options: Sendable, Equatable {
        public var eventID = "id"
        public var eventKey = "aggregateid"
        public var payload = "payload"
        public var routeByField = "aggregatetype"
        public var topicRegex = "(?<routedByValue>.*)"
        public var topicReplacement = "outbox.event.${routedByValue}"
        public var tombstoneOnEmptyPayload = false
        public var invalidOperation = InvalidOperation.warn
        public var additionalFields: [AdditionalField] = []
        /// `table.expand.json.payload`: a payload column holding JSON text becomes a struct.
        public var expandJSONPayload = false
        /// `table.json.payload.null.behavior` `optional_bytes`: with expansion, a null member stays, as optional bytes.
        public var jsonNullsAsBytes = false
        /// `table.field.event.schema.version`: an `int4` column whose value is the value schema's version.
        public var schemaVersion: String?
        /// `table.field.event.timestamp`: a `timestamp` column whose value is the Kafka record's timestamp (else the
        /// envelope's `ts_ms`).
        public var eventTimestamp: String?
        /// `eventTimestamp` as the loader sets it.
        public var eventTimestampColumn: String {
            get { eventTimestamp ?? "" }
            set { eventTimestamp = newValue.isEmpty ? nil : newValue }
        }
        /// `tracing.span.context.field`: a column holding the writer's trace context as Java properties text
        /// (`traceparent=00-…`), whose `traceparent` (and `tracestate`) become headers; nil = none.
        public var tracingSpanContext: String?
        /// `tracingSpanContext` as the loader sets it.
        public var tracingSpanContextColumn: String {
            get { tracingSpanContext ?? "" }
            set { tracingSpanContext = newValue.isEmpty ? nil : newValue }
        }
        /// `schemaVersion` as the loader sets it (an empty text is refused there).
        public var schemaVersionColumn: String {
            get { schemaVersion ?? "" }
            set { schemaVersion = newValue.isEmpty ? nil : newValue }
        }

        public init() {}
    }

    public let options: Options
    private let schemas: Bool
    private let rule: TopicRule
    /// Set when the last event was dropped for a reason the operator should hear of (an update of an outbox row).
    public private(set) var warning: String?
    /// The value schema of events with envelope fields, by the payload column's schema. Debezium caches it so, so the
    /// name made with the first event's routed value stays for every later event with such a payload, even after the
    /// table's Relation message arrives again (which makes a new `TableSchema`).
    private var valueSchemas: [String: String] = [:]
    /// With `table_field_event_schema_version`: the payload schema each version was first seen with.
    private var versionPayloadSchemas: [String: String] = [:]
    /// Whether the delete just seen was of another table, so that its tombstone passes too.
    private var tombstonePasses = false

    /// The columns the options name, each once.
    private let wanted: [String]
    /// Where in `wanted` the columns every event reads are.
    private let fixedColumns: (payload: Int, id: Int, key: Int, routeBy: Int)
    /// The topic for each routed value seen (aggregate types are few), so the regular expression runs once for each;
    /// looked up by the value's JSON bytes, so a known value makes no string.
    private var topics: [ArraySlice<UInt8>: String] = [:]
    /// What the router needs of each table, worked out on its first event (the plan holds the table, so its identifier
    /// is not reused while the plan is kept).
    private var plans: [ObjectIdentifier: TablePlan] = [:]
    /// The row's leading member values, reused from event to event.
    private var rowValues: [Range<Int>] = []
    /// The last key and value written, whose storage the next ones take once their event is gone.
    private var keyStorage: [UInt8] = []
    private var valueStorage: [UInt8] = []

    /// Where the named columns are in a table's rows, and their schemas: resolved once per table, not per event.
    final class TablePlan: Sendable {
        let table: TableSchema
        /// Whether the table has the payload column: only then are its events outbox events.
        let isOutbox: Bool
        /// For each of `wanted`: its column's position among the row's members, or nil when the table has no such
        /// column.
        let positions: [Int?]
        /// Members to read: one past the last position wanted.
        let memberCount: Int
        /// `{"schema":<the key column's schema>,"payload":`, with schemas on.
        let keyPrefix: [UInt8]
        /// The payload column's schema, with schemas on.
        let payloadSchema: String
        /// `schema.table`, for messages.
        let name: String
        /// Whether the wanted columns run to the row's last, which then ends with the row.
        let endsWithRow: Bool
        /// The length of each member's `"name":` up to the last wanted one, as the builder writes the row.
        let nameLengths: [Int]

        init(table: TableSchema, isOutbox: Bool, positions: [Int?], keyPrefix: [UInt8], payloadSchema: String) {
            self.table = table
            self.isOutbox = isOutbox
            self.positions = positions
            memberCount = (positions.compactMap { $0 }.max() ?? -1) + 1
            endsWithRow = memberCount == table.includedColumns.count
            nameLengths = table.includedColumns.prefix(memberCount).map { table.fieldPrefixes[$0].count }
            self.keyPrefix = keyPrefix
            self.payloadSchema = payloadSchema
            name = table.qualifiedName
        }
    }

    /// The plan of the last event's table (events of one table come in runs).
    private var lastPlan: TablePlan?
    /// The last routed value's JSON bytes and its topic.
    private var lastRouted: (value: [UInt8], topic: String) = ([], "")

    public init(_ options: Options, schemas: Bool) throws(TransformError) {
        self.options = options
        self.schemas = schemas
        rule = try TopicRule(pattern: options.topicRegex, replacement: options.topicReplacement)
        var names = [options.payload, options.eventID, options.eventKey, options.routeByField]
        names += options.additionalFields.map(\.column)
        names += [options.schemaVersion, options.eventTimestamp, options.tracingSpanContext].compactMap { $0 }
        var seen = Set<String>()
        wanted = names.filter { seen.insert($0).inserted }
        fixedColumns = (
            wanted.firstIndex(of: options.payload)!, wanted.firstIndex(of: options.eventID)!,
            wanted.firstIndex(of: options.eventKey)!, wanted.firstIndex(of: options.routeByField)!
        )
    }

    /// Makes `event` the outbox event, in place; false when the router drops it.
    public mutating func apply(_ event: inout ChangeEvent) throws(TransformError) -> Bool {
        warning = nil
        guard let value = event.value else {
            // A tombstone follows its delete: kept only for a table that is not an outbox.
            defer { tombstonePasses = false }
            return tombstonePasses
        }
        guard let rowTable = event.envelope?.table else { return true }  // not an envelope: a logical message
        switch event.operation {
        case .delete, .truncate:
            tombstonePasses = !Self.isOutbox(rowTable, options)
            return tombstonePasses
        case .update:
            guard Self.isOutbox(rowTable, options) else { return true }
            let message =
                "an outbox row was updated (\(rowTable.qualifiedName), key \(event.key.map { String(decoding: $0, as: UTF8.self) } ?? "null")); "
                + "an outbox table only takes inserts"
            switch options.invalidOperation {
            case .warn, .error:
                warning = message + ", so the update is skipped"
                return false
            case .fatal:
                throw TransformError(message + "; table_op_invalid_behavior is fatal")
            }
        default:
            break
        }
        let plan = self.plan(for: rowTable)
        // A table without the payload column is not an outbox table: its events pass on unchanged.
        guard plan.isOutbox else { return true }
        // The outbox event replaces the envelope: its layout is moved out, not copied.
        let layout = event.envelope.take()!
        let scanner = JSONScanner(value)
        // The named columns' values, by their place in `wanted`, read by position (this runs for every event).
        // The row is the builder's: each member is its column's `"name":` then the value, so only values are read.
        rowValues.removeAll(keepingCapacity: true)
        var index = layout.after.lowerBound + 1
        for (position, nameLength) in plan.nameLengths.enumerated() {
            let start = index + nameLength
            let end =
                plan.endsWithRow && position == plan.memberCount - 1
                ? layout.after.upperBound - 1 : scanner.end(ofValueAt: start)
            rowValues.append(start..<end)
            index = end + 1
        }
        let columns = Columns(wanted: wanted, positions: plan.positions, values: rowValues)
        let table = plan.name
        /// The value of `wanted[index]`'s column.
        func column(_ index: Int, _ what: StaticString) throws(TransformError) -> Range<Int> {
            guard let range = columns[index] else {
                throw TransformError("outbox: \(table) has no \(what) column \(wanted[index])")
            }
            return range
        }
        func column(_ name: String, _ what: StaticString) throws(TransformError) -> Range<Int> {
            try column(wanted.firstIndex(of: name)!, what)
        }
        let payload = try column(fixedColumns.payload, "payload")
        let id = try column(fixedColumns.id, "event id")
        let routeBy = try column(fixedColumns.routeBy, "route_by_field")
        guard value[routeBy.lowerBound] == UInt8(ascii: "\"") else {
            throw TransformError("outbox: the \(options.routeByField) of an event of \(table) is null or not a string")
        }
        let key = try column(fixedColumns.key, "event key")

        if scanner.bytes(in: routeBy, equal: lastRouted.value) {
            event.topic = lastRouted.topic
        } else if let topic = topics[value[routeBy]] {
            event.topic = topic
            lastRouted = (Array(value[routeBy]), topic)
        } else {
            let routed = scanner.string(at: routeBy) ?? ""
            let topic = rule.apply(routed) ?? routed
            if topics.count >= 4096 { topics.removeAll() }
            topics[ArraySlice(Array(value[routeBy]))] = topic
            event.topic = topic
        }
        event.headers.append(ChangeEvent.Header(name: "id", value: scanner.headerText(at: id)))
        var envelopeFields: [(alias: String, column: String, value: Range<Int>)] = []
        for field in options.additionalFields {
            let range = try column(field.column, "additional field")
            switch field.placement {
            case .header: event.headers.append(ChangeEvent.Header(name: field.alias, value: scanner.headerText(at: range)))
            case .envelope: envelopeFields.append((field.alias, field.column, range))
            case .partition:
                let text = String(decoding: scanner.bytes[range], as: UTF8.self)
                guard text == "null" || Int32(text) != nil else {
                    throw TransformError("outbox: the partition column \(field.column) of \(table) is not an int4")
                }
                event.partition = Int32(text)
            }
        }
        event.timestamp = try recordTimestamp(scanner, layout, columns, table)
        if let tracing = options.tracingSpanContext, let range = columns[tracing], let text = scanner.string(at: range) {
            for (name, value) in Self.traceContext(text) {
                event.headers.append(ChangeEvent.Header(name: name, value: Array(value.utf8)))
            }
        }
        if schemas {
            event.key = plan.keyPrefix + value[key] + CollectionOfOne(UInt8(ascii: "}"))
        } else {
            event.key = Self.reusing(&keyStorage, value, key)
        }

        let empty = scanner.bytes(in: payload, equal: Self.nullText) || Self.isBlankString(value[payload])
        if empty && options.tombstoneOnEmptyPayload {
            event.value = nil
            return true
        }
        var payloadSchema = plan.payloadSchema
        // The payload column's JSON as it is, unless expansion makes a struct of it.
        var expandedBytes: [UInt8]?
        if options.expandJSONPayload, !empty, let payloadText = scanner.string(at: payload) {
            do {
                if let expanded = try ExpandedPayload(nullsAsBytes: options.jsonNullsAsBytes).expand(
                    payloadText, key: options.payload)
                {
                    expandedBytes = expanded.value
                    payloadSchema = expanded.schema
                }
            } catch {
                throw TransformError(
                    "outbox: the payload of event \(String(decoding: scanner.headerText(at: id) ?? [], as: UTF8.self)) of "
                        + "\(table) cannot be expanded (table_expand_json_payload): \(error.message)")
            }
        }
        if envelopeFields.isEmpty {
            // Only headers added: the value is the payload itself, with the payload column's schema.
            if schemas {
                event.value = ConnectSchema.wrapped(expandedBytes ?? Array(value[payload]), schema: payloadSchema.utf8)
            } else {
                event.value = expandedBytes ?? Self.reusing(&valueStorage, value, payload)
            }
            return true
        }
        let payloadBytes = expandedBytes ?? Array(value[payload])
        var body: [UInt8] = Array("{\"payload\":".utf8) + payloadBytes
        for field in envelopeFields {
            var name = JSONBuffer()
            name.append(UInt8(ascii: ","))
            name.appendString(field.alias)
            name.append(UInt8(ascii: ":"))
            body += name.bytes + scanner.bytes[field.value]
        }
        body.append(UInt8(ascii: "}"))
        guard schemas else {
            event.value = body
            return true
        }
        let schema: String
        // With a schema version column Debezium caches the value schema by version, else by the payload's schema.
        var version: String?
        if let versionColumn = options.schemaVersion {
            let range = try column(versionColumn, "schema version")
            let text = String(decoding: scanner.bytes[range], as: UTF8.self)
            guard text == "null" || Int32(text) != nil else {
                throw TransformError("outbox: the schema version column \(versionColumn) of \(table) is not an int4")
            }
            version = text == "null" ? nil : text
        }
        let cacheKey = options.schemaVersion != nil ? "version:\(version ?? "null")" : payloadSchema
        if let cached = valueSchemas[cacheKey] {
            // One schema per version: a payload of another shape under the same version is one Debezium cannot write.
            if options.schemaVersion != nil, versionPayloadSchemas[cacheKey] != payloadSchema {
                throw TransformError(
                    "outbox: an event of \(table) has schema version \(version ?? "null") but a payload shaped unlike "
                        + "the first event of that version; give each payload shape its own version")
            }
            schema = cached
        } else {
            versionPayloadSchemas[cacheKey] = payloadSchema
            var fields = [String(payloadSchema.dropLast()) + ",\"field\":\"payload\"}"]
            fields += envelopeFields.map { fieldSchema($0.column, layout.table, renamed: $0.alias) }
            // Named after the row's schema with the routed value before its last part.
            let name = "\(layout.table.topic).\(scanner.string(at: routeBy) ?? "").Value"
            schema =
                "{\"type\":\"struct\",\"fields\":[\(fields.joined(separator: ","))],\"optional\":false,\"name\":\(ConnectSchema.quote(name))"
                + (version.map { ",\"version\":\($0)" } ?? "") + "}"
            valueSchemas[cacheKey] = schema
        }
        event.value = ConnectSchema.wrapped(body, schema: schema.utf8)
        return true
    }

    /// The record's timestamp: the event timestamp column's value in milliseconds, or the envelope's `ts_ms`.
    private func recordTimestamp(
        _ scanner: JSONScanner, _ layout: EnvelopeLayout, _ columns: Columns, _ table: String
    ) throws(TransformError) -> Int64? {
        // `"op":"c","ts_ms":` then the digits.
        var envelopeTime: Int64? = 0
        var index = layout.tail.lowerBound + 17
        while index < layout.tail.upperBound, case let digit = scanner.bytes[index], digit &- 48 < 10 {
            envelopeTime = envelopeTime.map { $0 &* 10 &+ Int64(digit &- 48) }
            index += 1
        }
        if index == layout.tail.lowerBound + 17 { envelopeTime = nil }
        guard let name = options.eventTimestamp else { return envelopeTime }
        guard let range = columns[name],
            let index = layout.table.relation.columns.firstIndex(where: { $0.name == name })
        else {
            throw TransformError("outbox: \(table) has no event timestamp column \(name)")
        }
        let text = String(decoding: scanner.bytes[range], as: UTF8.self)
        if text == "null" { return envelopeTime }
        guard let value = Int64(text) else {
            throw TransformError("outbox: the event timestamp column \(name) of \(table) is not a number")
        }
        switch layout.table.encodings[index] {
        case .timestampMillis: return value
        case .timestampMicros: return value / 1000
        default:
            throw TransformError(
                "outbox: the event timestamp column \(name) of \(table) is not a timestamp without time zone (Debezium's "
                    + "Timestamp or MicroTimestamp), which is all Debezium's router takes")
        }
    }

    /// `traceparent` and `tracestate` from Java properties text (`key=value` lines, `#` comments), in that order.
    public static func traceContext(_ text: String) -> [(String, String)] {
        var found: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), !trimmed.hasPrefix("!"),
                let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" })
            else { continue }
            let key = trimmed[..<separator].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            found[key] = value
        }
        return ["traceparent", "tracestate"].compactMap { name in found[name].map { (name, $0) } }
    }

    /// The values of the columns the options name, looked up by name.
    struct Columns {
        let wanted: [String]
        /// Each wanted column's position in the row, from the table's plan.
        let positions: [Int?]
        /// The row's leading member values.
        let values: [Range<Int>]

        subscript(_ name: String) -> Range<Int>? {
            wanted.firstIndex(of: name).flatMap { self[$0] }
        }

        /// The value of `wanted[index]`'s column.
        subscript(_ index: Int) -> Range<Int>? {
            guard let position = positions[index], position < values.count else { return nil }
            return values[position]
        }
    }

    /// Whether `json` is a string Java's `trim()` leaves empty (every character at most U+0020), as Debezium tests a
    /// payload for a tombstone; read from the JSON bytes, without making the string.
    static func isBlankString(_ json: ArraySlice<UInt8>) -> Bool {
        guard json.count >= 2, json.first == UInt8(ascii: "\"") else { return false }
        var index = json.startIndex + 1
        let end = json.endIndex - 1
        while index < end {
            let byte = json[index]
            if byte == UInt8(ascii: "\\") {
                let escaped = json[index + 1]
                if escaped == UInt8(ascii: "u") {
                    guard index + 6 <= end,
                        let code = UInt32(String(decoding: json[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16),
                        code <= 0x20
                    else { return false }
                    index += 6
                    continue
                }
                guard
                    [UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f")]
                        .contains(escaped)
                else { return false }
                index += 2
                continue
            }
            if byte > 0x20 { return false }
            index += 1
        }
        return true
    }

    private static let nullText = Array("null".utf8)

    /// `bytes[range]` in `storage`'s room when no event holds it any more (sent and copied), else in a new array.
    static func reusing(_ storage: inout [UInt8], _ bytes: [UInt8], _ range: Range<Int>) -> [UInt8] {
        storage.removeAll(keepingCapacity: true)
        bytes.withUnsafeBufferPointer { storage.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
        return storage
    }

    /// Whether the table has the payload column, so that its events are outbox events.
    static func isOutbox(_ table: TableSchema, _ options: Options) -> Bool {
        table.relation.columns.contains { $0.name == options.payload }
    }

    /// The table's plan, made on its first event.
    private mutating func plan(for table: TableSchema) -> TablePlan {
        if let plan = lastPlan, plan.table === table { return plan }
        if let plan = plans[ObjectIdentifier(table)], plan.table === table {
            lastPlan = plan
            return plan
        }
        let columns = table.relation.columns
        let rowNames = table.includedColumns.map { columns[$0].name }
        let positions = wanted.map { rowNames.firstIndex(of: $0) }
        let plan = TablePlan(
            table: table, isOutbox: Self.isOutbox(table, options), positions: positions,
            keyPrefix: schemas ? ConnectSchema.envelopePrefix(fieldSchema(options.eventKey, table)) : [],
            payloadSchema: schemas || options.expandJSONPayload ? fieldSchema(options.payload, table) : "")
        // A Relation message makes a new schema for its table; the old plans go after many.
        if plans.count >= 1024 { plans.removeAll() }
        plans[ObjectIdentifier(table)] = plan
        lastPlan = plan
        return plan
    }

    /// The column's Connect schema as the row's schema has it: without its field name, or under `renamed`.
    func fieldSchema(_ column: String, _ table: TableSchema, renamed: String? = nil) -> String {
        let quotedField = ",\"field\":\(ConnectSchema.quote(column))}"
        guard let schema = table.valueFieldSchemas.first(where: { $0.hasSuffix(quotedField) }) else {
            return "{\"type\":\"string\",\"optional\":true}"
        }
        let body = schema.dropLast(quotedField.count)
        if let renamed { return body + ",\"field\":\(ConnectSchema.quote(renamed))}" }
        return body + "}"
    }
}
