import Foundation

/// Debezium's `io.debezium.transforms.ExtractNewRecordState`: the row instead of the envelope, with chosen envelope
/// fields added to it or to the headers, deletes and tombstones handled as `delete.tombstone.handling.mode` says.
///
/// Reads the envelope through its `EnvelopeLayout` and writes the new value; the row's bytes are copied as they are.
public struct Unwrap: Sendable {
    /// `delete.tombstone.handling.mode`.
    public enum DeleteHandling: String, Sendable, CaseIterable {
        /// Deletes and tombstones are dropped.
        case drop
        /// A delete becomes a record whose value is null (with the row's schema when schemas are on); tombstones are
        /// dropped.
        case tombstone
        /// A delete becomes its old row with `__deleted: "true"` (other rows get `"false"`); tombstones are dropped.
        case rewrite
        /// As `rewrite`, and tombstones are kept.
        case rewriteWithTombstone = "rewrite-with-tombstone"
        /// A delete becomes a tombstone (null value); the connector's own tombstones are dropped.
        case deleteToTombstone = "delete-to-tombstone"
    }

    public struct Options: Sendable, Equatable {
        /// `add.fields`: envelope fields (`op`, `ts_ms`, …), `source` fields (`lsn`, `source.ts_ms`, …) or
        /// `transaction` fields, each optionally renamed with `:name`.
        public var addFields: [String] = []
        /// `add.headers`, named as `add.fields` names them.
        public var addHeaders: [String] = []
        public var addFieldsPrefix = "__"
        public var addHeadersPrefix = "__"
        public var deleteHandling = DeleteHandling.tombstone
        /// `route.by.field`: the row column whose value names the record's topic.
        public var routeByField: String?
        /// `drop.fields.header.name`: a header listing fields to leave out of the row (as `changed_fields` writes it).
        public var dropFieldsHeader: String?
        /// `drop.fields.from.key`: leave them out of the key too.
        public var dropFieldsFromKey = false
        /// `drop.fields.keep.schema.compatible`: leave out only optional fields (a NOT NULL column stays).
        public var dropFieldsKeepSchemaCompatible = true

        public init() {}
    }

    /// A field of the envelope named by `add.fields` or `add.headers`.
    struct FieldReference: Sendable, Equatable {
        enum Parent: Sendable, Equatable {
            case envelope, source, transaction
        }

        var parent: Parent
        var field: String
        /// The added field's or header's name, prefix included.
        var name: String
        var location: Location

        /// Parses `[struct.]field[:name]` as Debezium's `FieldReference` does.
        init?(_ text: String, prefix: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, let path = parts.first, !path.isEmpty else { return nil }
            let splits = path.split(separator: ".", omittingEmptySubsequences: false)
            guard splits.count <= 2 else { return nil }
            field = String(splits.count == 1 ? splits[0] : splits[1])
            if splits.count == 1 {
                switch field {
                case "id", "total_order", "data_collection_order": parent = .transaction
                case "op", "ts_ms", "ts_us", "ts_ns": parent = .envelope
                default: parent = .source
                }
            } else {
                switch splits[0] {
                case "source": parent = .source
                case "transaction": parent = .transaction
                default: return nil
                }
            }
            if parts.count == 2 {
                name = prefix + parts[1]
            } else {
                name = prefix + (splits.count == 1 ? field : "\(splits[0])_\(field)")
            }
            location = Location(parent, field)
        }
    }

    /// Where a referenced field's value is found in an envelope, resolved once from its name. Plain data, so the
    /// per-event loop copies nothing counted.
    enum Location: Sendable, Equatable {
        case source(SourceField)
        /// A `source` field Debezium's block does not have: null.
        case absent
        case op
        /// `ts_ms`, `ts_us` or `ts_ns` of the envelope, by index in `tailNames`.
        case envelopeTime(Int)
        /// A `transaction` field, by index in `transactionNames`.
        case transaction(Int)

        static let tailNames = ["\"ts_ms\"", "\"ts_us\"", "\"ts_ns\""].map { Array($0.utf8) }
        static let transactionNames = ["\"id\"", "\"total_order\"", "\"data_collection_order\""].map {
            Array($0.utf8)
        }

        /// Where the field's JSON value is in an envelope; nil when it is null (or its struct is, or lacks it).
        func range(_ scanner: JSONScanner, _ layout: EnvelopeLayout) -> Range<Int>? {
            let bytes = scanner.bytes
            switch self {
            case .source(let field):
                let range = layout.sourceValue(field)
                // Outside a snapshot `source.snapshot` is null, written "false" only as its schema's default.
                if field == .snapshot, bytes[range].elementsEqual(Unwrap.falseText) { return nil }
                return Unwrap.isNull(bytes, range) ? nil : range
            case .absent:
                return nil
            case .op:
                // `"op":"c"`: the value is the three bytes after `"op":`.
                let start = layout.tail.lowerBound + 5
                return start..<(start + 3)
            case .envelopeTime(let index):
                return scanner.flatMember(Self.tailNames[index], in: layout.tail)
            case .transaction(let index):
                guard !Unwrap.isNull(bytes, layout.transaction),
                    let range = scanner.flatMember(Self.transactionNames[index], in: layout.transaction),
                    !Unwrap.isNull(bytes, range)
                else { return nil }
                return range
            }
        }

        init(_ parent: FieldReference.Parent, _ field: String) {
            switch parent {
            case .source: self = SourceField(name: field).map { .source($0) } ?? .absent
            case .envelope:
                self = field == "op" ? .op : .envelopeTime(["ts_ms", "ts_us", "ts_ns"].firstIndex(of: field) ?? 0)
            case .transaction:
                self = .transaction(["id", "total_order", "data_collection_order"].firstIndex(of: field) ?? 0)
            }
        }
    }

    /// An `add.fields` field in the per-event loop: where its value is, and its `"name":` in `addedMembers`.
    struct AddedField: Sendable {
        var location: Location
        var member: Range<Int>
    }

    /// Whether `add_fields` and `add_headers` may name `text` (`[struct.]field[:name]`).
    public static func isFieldName(_ text: String) -> Bool {
        FieldReference(text, prefix: "") != nil
    }

    public let options: Options
    /// Whether unwrapped rows keep their table's schema (`ChangeEvent.rowTable`), for a transform after this one that
    /// needs column types (header_from); off, an event pays nothing for it.
    public var keepsRowTable = false
    let fields: [FieldReference]
    let headers: [FieldReference]
    /// `fields` as the per-event loop reads them, and their `"name":` members, escaped, one after another.
    private let addedFields: [AddedField]
    private let addedMembers: [UInt8]
    private let schemas: Bool
    /// The value schema of each table's unwrapped records, by table and shape, written once.
    private var schemaCache: [SchemaKey: [UInt8]] = [:]
    /// The last row written; its storage is reused once nothing else holds it.
    private var output: [UInt8] = []
    private var writer = JSONBuffer(capacity: 256)
    /// The headers added to the last delete: Debezium's tombstone shares its delete's header set, so it carries them too.
    private var deleteHeaders: (topic: String, key: [UInt8]?, headers: [ChangeEvent.Header])?

    struct SchemaKey: Hashable {
        var table: ObjectIdentifier
        var shape: Shape
    }

    enum Shape: Hashable {
        /// A row with the added fields (and `__deleted` when rewriting).
        case row
        /// A delete in `tombstone` mode: the row's schema, value null.
        case nullRow
    }

    /// Fails with the first name Debezium would not accept.
    public init(_ options: Options, schemas: Bool) throws(TransformError) {
        self.options = options
        self.schemas = schemas
        var fields: [FieldReference] = []
        for text in options.addFields {
            guard let reference = FieldReference(text, prefix: options.addFieldsPrefix) else {
                throw TransformError("unwrap add_fields: '\(text)' is not a field name such as op, lsn or source.ts_ms")
            }
            fields.append(reference)
        }
        var headers: [FieldReference] = []
        for text in options.addHeaders {
            guard let reference = FieldReference(text, prefix: options.addHeadersPrefix) else {
                throw TransformError("unwrap add_headers: '\(text)' is not a field name such as op, lsn or source.ts_ms")
            }
            headers.append(reference)
        }
        self.fields = fields
        self.headers = headers
        var members: [UInt8] = []
        var added: [AddedField] = []
        for field in fields {
            let start = members.count
            members.append(UInt8(ascii: "\""))
            members += Self.escaped(field.name)
            members += Array("\":".utf8)
            added.append(AddedField(location: field.location, member: start..<members.count))
        }
        addedFields = added
        addedMembers = members
        deleteHandling = options.deleteHandling
        rewrites = deleteHandling == .rewrite || deleteHandling == .rewriteWithTombstone
        routeByField = options.routeByField
        dropFieldsHeader = options.dropFieldsHeader.flatMap { $0.allSatisfy(\.isWhitespace) ? nil : $0 }
    }

    // The options each event reads, held apart from `options` so that reading one does not copy its lists.
    private let deleteHandling: DeleteHandling
    private let rewrites: Bool
    private let routeByField: String?
    /// `drop.fields.header.name`, nil when blank.
    private let dropFieldsHeader: String?

    /// The record Debezium's transform makes of `event`, or nil when it drops it.
    public mutating func apply(_ event: ChangeEvent) throws(TransformError) -> ChangeEvent? {
        var out = event
        return try apply(&out) ? out : nil
    }

    /// Makes `event` the record Debezium's transform makes of it, in place; false when the transform drops it.
    public mutating func apply(_ event: inout ChangeEvent) throws(TransformError) -> Bool {
        guard let value = event.value else {
            // A tombstone: an `op` header says it is a delete; it is kept only when rewriting with tombstones.
            defer { deleteHeaders = nil }
            guard deleteHandling == .rewriteWithTombstone else { return false }
            if let deleted = deleteHeaders, deleted.topic == event.topic, deleted.key == event.key {
                event.headers += deleted.headers
            }
            for header in headers where header.parent == .envelope && header.field == "op" {
                event.headers.append(ChangeEvent.Header(name: header.name, value: Array("d".utf8)))
            }
            return true
        }
        // Not an envelope (a logical message): passed on as it is.
        guard let layout = event.envelope.take() else { return true }  // moved out: the row replaces the envelope
        if keepsRowTable { event.rowTable = layout.table }
        let scanner = JSONScanner(value)
        let afterIsNull = Self.isNull(value, layout.after)
        if !headers.isEmpty {
            // As Kafka Connect's SimpleHeaderConverter writes them: a string bare, null as a null value, else JSON.
            let added = headers.map { header in
                ChangeEvent.Header(
                    name: header.name, value: header.location.range(scanner, layout).flatMap { scanner.headerText(at: $0) })
            }
            event.headers += added
            if afterIsNull { deleteHeaders = (event.topic, event.key, added) }
        }
        if afterIsNull && Self.isNull(value, layout.before) {
            return false  // a truncate
        }
        if afterIsNull {
            switch deleteHandling {
            case .drop:
                return false
            case .deleteToTombstone:
                event.value = nil
            case .tombstone:
                event.value = schemas ? schemaPrefix(for: layout.table, .nullRow) + Self.nullRowEnd : Self.nullText
            case .rewrite, .rewriteWithTombstone:
                event.value = row(layout.before, deleted: true, scanner, layout)
            }
            if let field = routeByField, event.value != nil {
                if let topic = try route(field, row: layout.before, scanner, table: layout.table) { event.topic = topic }
            }
            if rewrites {
                dropFields(&event, layout.table)
            }
            return true
        }
        event.value = row(layout.after, deleted: false, scanner, layout)
        if let field = routeByField, let topic = try route(field, row: layout.after, scanner, table: layout.table) {
            event.topic = topic
        }
        dropFields(&event, layout.table)
        return true
    }

    /// Leaves out of the row (and the key) the fields the `drop.fields.header.name` header lists, as Debezium's
    /// transform does with Kafka's ReplaceField.
    private func dropFields(_ event: inout ChangeEvent, _ table: TableSchema) {
        guard let name = dropFieldsHeader,
            let header = event.headers.last(where: { $0.name == name })?.value,
            let listed = ChangedFields.names(in: header), !listed.isEmpty
        else { return }
        func optional(_ field: String) -> Bool {
            // Added fields and __deleted are optional; a column is unless it is NOT NULL.
            guard let index = table.relation.columns.firstIndex(where: { $0.name == field }) else { return true }
            return !table.notNull[index]
        }
        let keep = options.dropFieldsKeepSchemaCompatible
        if options.dropFieldsFromKey, let key = event.key, !keep {
            // Key fields are never optional: with schema compatibility kept, none leave the key.
            event.key = HeaderFrom.removing(Set(listed), from: key, schemas: schemas)
        }
        let dropped = Set(keep ? listed.filter(optional) : listed)
        if let value = event.value, !dropped.isEmpty {
            event.value = HeaderFrom.removing(dropped, from: value, schemas: schemas)
        }
    }

    private static func isNull(_ value: [UInt8], _ range: Range<Int>) -> Bool {
        range.count == 4 && value[range.lowerBound] == UInt8(ascii: "n")
    }

    /// The row object with `__deleted` (when rewriting) and the added fields after its columns, in its schema's
    /// wrapper when schemas are on: one array, filled from the envelope's bytes without intermediate copies.
    private mutating func row(
        _ row: Range<Int>, deleted: Bool, _ scanner: JSONScanner, _ layout: EnvelopeLayout
    ) -> [UInt8] {
        // Written into the transform's buffer (its room kept from event to event), then copied out once, into the
        // last row's storage when its event is gone.
        writer.removeAll()
        if schemas { writer.append(schemaPrefix(for: layout.table, .row)) }
        let bytes = scanner.bytes
        writer.append(bytes, range: row.lowerBound..<(row.upperBound - 1))
        // A row with no columns is `{}`: its first added member needs no comma.
        var separator = row.count > 2
        if rewrites {
            if separator { writer.append(UInt8(ascii: ",")) }
            separator = true
            writer.appendRaw(deleted ? "\"__deleted\":\"true\"" : "\"__deleted\":\"false\"")
        }
        for field in addedFields {
            if separator { writer.append(UInt8(ascii: ",")) }
            separator = true
            writer.append(addedMembers, range: field.member)
            if let range = field.location.range(scanner, layout) {
                writer.append(bytes, range: range)
            } else {
                writer.appendNull()
            }
        }
        writer.append(UInt8(ascii: "}"))
        if schemas { writer.append(UInt8(ascii: "}")) }
        writer.copy(into: &output)
        return output
    }

    private static let falseText = Array("\"false\"".utf8)
    private static let nullText = Array("null".utf8)
    private static let nullRowEnd = Array("null}".utf8)

    /// The topic `route.by.field` names for this row; nil keeps the topic (the column is null or empty).
    private func route(
        _ field: String, row: Range<Int>, _ scanner: JSONScanner, table: TableSchema
    ) throws(TransformError) -> String? {
        guard table.relation.columns.contains(where: { $0.name == field }) else {
            throw TransformError("unwrap route_by_field: \(table.qualifiedName) has no column \(field)")
        }
        let members = scanner.members(ofObjectAt: row.lowerBound)
        let quoted = Array("\"".utf8) + Self.escaped(field) + Array("\"".utf8)
        guard let member = members.first(where: { scanner.bytes[$0.name].elementsEqual(quoted) }) else { return nil }
        let value = scanner.bytes[member.value]
        if value.elementsEqual("null".utf8) { return nil }
        guard let topic = scanner.string(at: member.value) else {
            throw TransformError(
                "unwrap route_by_field: column \(field) of \(table.qualifiedName) is not a string, so it cannot name a topic")
        }
        return topic.allSatisfy(\.isWhitespace) ? nil : topic
    }

    static func escaped(_ name: String) -> [UInt8] {
        var buffer = JSONBuffer()
        buffer.appendString(name)
        return Array(buffer.bytes.dropFirst().dropLast())
    }

    // MARK: Schemas

    /// `{"schema":<the unwrapped row's schema>,"payload":`.
    private mutating func schemaPrefix(for table: TableSchema, _ shape: Shape) -> [UInt8] {
        let key = SchemaKey(table: ObjectIdentifier(table), shape: shape)
        if let cached = schemaCache[key] { return cached }
        var fieldSchemas = table.valueFieldSchemas
        var optional = true
        if shape == .row {
            // Debezium rebuilds the schema to add fields (even none), and a rebuilt struct is not optional.
            optional = false
            if rewrites { fieldSchemas.append("{\"type\":\"string\",\"optional\":true,\"field\":\"__deleted\"}") }
            for field in fields { fieldSchemas.append(Self.fieldSchema(field)) }
        }
        let schema =
            "{\"type\":\"struct\",\"fields\":[\(fieldSchemas.joined(separator: ","))],\"optional\":\(optional),"
            + "\"name\":\(ConnectSchema.quote(table.topic + ".Value"))}"
        let bytes = ConnectSchema.envelopePrefix(schema)
        schemaCache[key] = bytes
        return bytes
    }

    /// The referenced field's schema made optional and renamed, as Debezium copies it.
    static func fieldSchema(_ field: FieldReference) -> String {
        let original: String?
        switch field.parent {
        case .envelope:
            original =
                field.field == "op"
                ? "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"}"
                : "{\"type\":\"int64\",\"optional\":true,\"field\":\"\(field.field)\"}"
        case .source: original = ConnectSchema.fieldSchema(field.field, inStruct: ConnectSchema.source)
        case .transaction: original = ConnectSchema.fieldSchema(field.field, inStruct: ConnectSchema.transaction)
        }
        guard var schema = original else {
            return "{\"type\":\"string\",\"optional\":true,\"field\":\(ConnectSchema.quote(field.name))}"
        }
        schema = schema.replacingFirst("\"optional\":false", with: "\"optional\":true")
        // Debezium copies the schema's basics (type, name, version, parameters), not its default.
        if let range = schema.range(of: ",\"default\":") {
            let bytes = Array(schema.utf8)
            let start = schema.utf8.distance(from: schema.startIndex, to: range.lowerBound)
            let valueStart = schema.utf8.distance(from: schema.startIndex, to: range.upperBound)
            let end = JSONScanner(bytes).end(ofValueAt: valueStart)
            schema = String(decoding: bytes[..<start] + bytes[end...], as: UTF8.self)
        }
        if let range = schema.range(of: ",\"field\":", options: .backwards) {
            schema = String(schema[..<range.lowerBound]) + ",\"field\":\(ConnectSchema.quote(field.name))}"
        }
        return schema
    }
}

/// A transform cannot make its record from an event (a column it routes by is missing, say): the event goes through
/// `errors.mode` as an unwritable change does.
public struct TransformError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
