import Foundation
import PGOutput
import Synchronization

/// The Avro schemas of one table's keys and values, for events the builder writes in Avro itself (no transforms in
/// between): derived once per Relation message from the same Connect schemas the JSON form carries, so a schema
/// registered for them is the one AvroConverter would register.
public final class AvroRecordSchemas: Sendable {
    public let topic: String
    /// The key's Connect schema as JsonConverter writes it (what `AvroConversion` knows schemas by); nil without a key.
    public let keyJSON: [UInt8]?
    public let key: AvroSchema?
    public let valueJSON: [UInt8]
    public let value: AvroSchema

    init(topic: String, keyJSON: [UInt8]?, key: AvroSchema?, valueJSON: [UInt8], value: AvroSchema) {
        self.topic = topic
        self.keyJSON = keyJSON
        self.key = key
        self.valueJSON = valueJSON
        self.value = value
    }
}

/// The registry ids of the schemas the builder writes in Avro, as the Avro stage learns them: the builder writes an
/// event's ids itself once they are known here, and leaves them to the stage (zeros it fills in) until then.
public final class AvroSchemaIDs: Sendable {
    public struct IDs: Sendable, Equatable {
        public var key: Int32?
        public var value: Int32?

        public init(key: Int32? = nil, value: Int32? = nil) {
            self.key = key
            self.value = value
        }
    }

    private struct Entry {
        /// Held so that its identifier is never reused by another table's schemas.
        let schemas: AvroRecordSchemas
        var ids: IDs
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    public init() {}

    public func ids(for schemas: AvroRecordSchemas) -> IDs? {
        entries.withLock { $0[ObjectIdentifier(schemas)]?.ids }
    }

    /// Records ids the registry gave `schemas` (nil leaves a side's id as it was).
    public func record(_ ids: IDs, for schemas: AvroRecordSchemas) {
        entries.withLock { entries in
            var entry = entries[ObjectIdentifier(schemas)] ?? Entry(schemas: schemas, ids: IDs())
            if let key = ids.key { entry.ids.key = key }
            if let value = ids.value { entry.ids.value = value }
            entries[ObjectIdentifier(schemas)] = entry
        }
    }
}

/// How the builder writes one table's rows in Avro: the fields of its key and row, in their order, and what a null or
/// an unchanged TOASTed value becomes, worked out once. A class, and fields of plain values, so that writing a row
/// retains nothing per field.
final class AvroTablePlan: Sendable {
    let schemas: AvroRecordSchemas
    let key: [AvroField]
    let row: [AvroField]
    /// What the fields of the key and the row need less often, at their `AvroField.column`.
    let keyColumns: [AvroColumn]
    let rowColumns: [AvroColumn]
    /// The envelope's `transaction` field, for the block written through JSON (transaction metadata on).
    let transaction: ConnectSchemaNode
    /// `source.schema` and `source.table` as Avro strings.
    let sourceTable: [UInt8]

    /// The fields of the envelope and of its `source`, in the order the builder writes them: a schema that differs is
    /// written through JSON and `AvroConversion` instead.
    private static let envelopeFields = ["before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"]
    private static let sourceFields = [
        "version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns", "schema", "table", "txId",
        "lsn", "xmin", "origin", "origin_lsn",
    ]

    /// The parts of a table's schema the plan is made of (taken while the table's schema is being made).
    struct Parts {
        var topic: String
        var relation: Relation
        var encodings: [ColumnEncoding]
        var includedColumns: [Int]
        var keyIndexes: [Int]
        var keySchemaPrefix: [UInt8]
        var valueSchemaPrefix: [UInt8]
        /// The JSON a null, and an unchanged TOASTed value, of column `index` is written as.
        var nullJSON: (Int) -> [UInt8]
        var unchangedJSON: (Int) -> [UInt8]
    }

    /// nil when the table's schemas are not the shape this writer knows (its events then take the JSON path).
    init?(_ parts: Parts) {
        guard let valueJSON = Self.schemaBytes(parts.valueSchemaPrefix),
            let envelope = try? ConnectSchemaNode(json: JSONTree.parse(valueJSON)),
            let value = try? AvroSchema(envelope),
            envelope.fields.map(\.name) == Self.envelopeFields,
            envelope.fields[2].schema.fields.map(\.name) == Self.sourceFields
        else { return nil }
        let rowSchema = envelope.fields[0].schema
        guard rowSchema.kind == .structure, rowSchema.fields.count == parts.includedColumns.count else { return nil }
        func column(_ index: Int, _ field: ConnectSchemaNode.Field) -> AvroColumn? {
            guard field.name == parts.relation.columns[index].name else { return nil }
            return AvroColumn(
                index: index, encoding: parts.encodings[index], schema: field.schema, nullJSON: parts.nullJSON(index),
                unchangedJSON: parts.unchangedJSON(index))
        }
        var row: [AvroColumn] = []
        for (field, index) in zip(rowSchema.fields, parts.includedColumns) {
            guard let planned = column(index, field) else { return nil }
            row.append(planned)
        }
        var key: [AvroColumn] = []
        func fields(_ columns: [AvroColumn]) -> [AvroField] {
            columns.enumerated().map { position, column in
                AvroField(
                    index: column.index, column: position, valueBranch: column.valueBranch ?? 0,
                    optional: column.valueBranch != nil, native: column.native)
            }
        }
        var keyJSON: [UInt8]?
        var keyAvro: AvroSchema?
        if !parts.keyIndexes.isEmpty {
            guard let json = Self.schemaBytes(parts.keySchemaPrefix),
                let keySchema = try? ConnectSchemaNode(json: JSONTree.parse(json)),
                let avro = try? AvroSchema(keySchema),
                keySchema.fields.count == parts.keyIndexes.count
            else { return nil }
            for (field, index) in zip(keySchema.fields, parts.keyIndexes) {
                guard let planned = column(index, field) else { return nil }
                key.append(planned)
            }
            keyJSON = json
            keyAvro = avro
        }
        self.key = fields(key)
        self.row = fields(row)
        keyColumns = key
        rowColumns = row
        transaction = envelope.fields[3].schema
        schemas = AvroRecordSchemas(topic: parts.topic, keyJSON: keyJSON, key: keyAvro, valueJSON: valueJSON, value: value)
        var source = JSONBuffer(capacity: 64)
        for var name in [parts.relation.namespace, parts.relation.name] {
            name.withUTF8 { source.appendAvroBytes(UnsafeRawBufferPointer($0)) }
        }
        sourceTable = source.bytes
    }

    /// The schema in `{"schema":<schema>,"payload":`.
    private static func schemaBytes(_ prefix: [UInt8]) -> [UInt8]? {
        let head = #"{"schema":"#.utf8.count
        let tail = #","payload":"#.utf8.count
        guard prefix.count > head + tail else { return nil }
        return Array(prefix[head..<(prefix.count - tail)])
    }
}

/// What writing a field needs for every value: plain values only.
struct AvroField: Sendable {
    /// The column's index in the relation.
    let index: Int
    /// Where its `AvroColumn` is.
    let column: Int
    /// The union branch written before a value, when `optional`.
    let valueBranch: UInt8
    let optional: Bool
    /// Whether `AvroValueWriter` writes its values.
    let native: Bool
}

/// One field of a key or row written in Avro.
struct AvroColumn: Sendable {
    /// The column's index in the relation.
    let index: Int
    let encoding: ColumnEncoding
    /// The field's Connect schema (what the Avro schema was derived from).
    let schema: ConnectSchemaNode
    /// The union branch written before a value: `["null", T]`'s second (2, zig-zag), `[T, "null"]`'s first (0); nil
    /// when the field is not optional.
    let valueBranch: UInt8?
    /// Whether `AvroValueWriter` writes its values (else they are written as JSON and converted, as the JSON path
    /// would).
    let native: Bool
    /// What a null becomes (the default written in its place, or the null branch); a failure when it has no Avro form.
    let null: Result<[UInt8], AvroEncoder.Failure>
    /// What an unchanged TOASTed value becomes (the placeholder, or null).
    let unchanged: Result<[UInt8], AvroEncoder.Failure>

    init(index: Int, encoding: ColumnEncoding, schema: ConnectSchemaNode, nullJSON: [UInt8], unchangedJSON: [UInt8]) {
        self.index = index
        self.schema = schema
        self.encoding = encoding
        valueBranch = schema.optional ? (schema.hasDefault ? 0 : 2) : nil
        var native = AvroValueWriter.writesItself(encoding)
        if case .array(_, let elementOptional) = encoding, schema.elements?.optional != elementOptional { native = false }
        self.native = native
        null = Self.avro(nullJSON, schema)
        unchanged = Self.avro(unchangedJSON, schema)
    }

    /// The Avro form of a JSON value (as the JSON writer writes it) under `schema`, as `AvroConversion` makes it.
    static func avro(_ json: [UInt8], _ schema: ConnectSchemaNode) -> Result<[UInt8], AvroEncoder.Failure> {
        var bytes: [UInt8] = []
        if AvroStreamEncoder.encode(json, 0..<json.count, schema, into: &bytes) { return .success(bytes) }
        do {
            let tree = try JSONTree.parse(json)
            try AvroEncoder.encode(tree, schema, into: &bytes, path: "")
            return .success(bytes)
        } catch let failure as AvroEncoder.Failure {
            return .failure(failure)
        } catch {
            return .failure(AvroEncoder.Failure(description: "\(error)"))
        }
    }
}

/// Writes one PostgreSQL text-format value in Avro's binary encoding, as AvroConverter writes the value Debezium makes
/// of it (the same value `ValueWriter` writes as JSON). Returns false for text the type does not produce, and for the
/// encodings it leaves to the JSON path (the caller then writes the JSON and converts it).
enum AvroValueWriter {
    static func write(_ text: UnsafeRawBufferPointer, as encoding: ColumnEncoding, into out: inout JSONBuffer) -> Bool {
        switch encoding {
        case .boolean:
            guard text.count == 1 else { return false }
            if text[0] == UInt8(ascii: "t") {
                out.append(1)
            } else if text[0] == UInt8(ascii: "f") {
                out.append(0)
            } else {
                return false
            }
            return true
        case .bit:
            guard text.count == 1, text[0] == UInt8(ascii: "1") || text[0] == UInt8(ascii: "0") else { return false }
            out.append(text[0] == UInt8(ascii: "1") ? 1 : 0)
            return true
        case .int16, .int32, .int64:
            guard let value = integer(text) else { return false }
            out.appendAvroLong(value)
            return true
        case .float32:
            guard let value = parseFloat(text, single: true) else { return false }
            var bits = Float(value).bitPattern.littleEndian
            if value.isNaN { bits = Float.nan.bitPattern.littleEndian }
            withUnsafeBytes(of: &bits) { out.append($0) }
            return true
        case .float64:
            guard let value = parseFloat(text, single: false) else { return false }
            var bits = (value.isNaN ? Double.nan : value).bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { out.append($0) }
            return true
        case .decimal(_, let scale):
            if let small = DecimalText.smallUnscaled(text, scale: scale) {
                appendUnscaled(small, into: &out)
                return true
            }
            return writeDecimal(DecimalText(text), scale: scale, into: &out)
        case .money:
            let digits = text.filter { $0 != UInt8(ascii: "$") && $0 != UInt8(ascii: ",") }
            return digits.withUnsafeBytes { writeDecimal(DecimalText($0), scale: 2, into: &out) }
        case .variableDecimal:
            // A NaN or infinity is null, which the caller writes through JSON.
            var scale = 0
            if let point = text.firstIndex(of: UInt8(ascii: ".")) { scale = text.count - point - 1 }
            if let small = DecimalText.smallUnscaled(text, scale: scale) {
                out.appendAvroLong(Int64(scale))
                appendUnscaled(small, into: &out)
                return true
            }
            guard let number = DecimalText(text), let unscaled = number.unscaled(toScale: number.fractionDigits) else {
                return false
            }
            out.appendAvroLong(Int64(number.fractionDigits))
            unscaled.withUnsafeBytes { out.appendAvroBytes($0) }
            return true
        case .string, .json, .uuid, .xml, .tsvector, .enumeration:
            out.appendAvroBytes(text)
            return true
        case .bytes:
            guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
                return false
            }
            let length = (text.count - 2) / 2
            out.appendAvroLong(Int64(length))
            var valid = true
            out.write(maximum: length) { destination in
                var index = 2
                var written = 0
                while index < text.count {
                    let high = hexValue(text[index])
                    let low = hexValue(text[index + 1])
                    if high > 15 || low > 15 { valid = false }
                    destination[written] = high << 4 | low
                    written += 1
                    index += 2
                }
                return written
            }
            return valid
        case .bits:
            guard let raw = CompositeText.bitBytes(text) else { return false }
            raw.withUnsafeBytes { out.appendAvroBytes($0) }
            return true
        case .date, .connectDate:
            guard let date = ValueWriter.days(text) else { return false }
            out.appendAvroLong(date)
            return true
        case .timeMillis, .connectTime:
            guard let micros = TimeText.parseTime(text) else { return false }
            out.appendAvroLong(micros / 1000)
            return true
        case .timeMicros:
            guard let micros = TimeText.parseTime(text) else { return false }
            out.appendAvroLong(micros)
            return true
        case .zonedTime:
            guard let micros = TimeText.parseTimeWithZone(text) else { return false }
            out.appendAvroString { TimeText.appendZonedTime(micros: micros, into: &$0) }
            return true
        case .timestampMillis, .timestampMicros, .connectTimestamp:
            guard let micros = ValueWriter.timestampMicros(text) else { return false }
            out.appendAvroLong(encoding == .timestampMicros ? micros : floorDiv(micros, 1000))
            return true
        case .zonedTimestamp(let digits):
            if out.appendAvroStringFromQuoted({
                DateTimeText.appendQuotedISO8601FromUTCText(text, fractionDigits: digits, into: &$0)
            }) {
                return true
            }
            if ValueWriter.infinity(text) != nil {
                out.appendAvroBytes(text)
                return true
            }
            guard let (seconds, micros) = DateTimeText.parseTimestampSeconds(text, withZone: true) else { return false }
            out.appendAvroString {
                DateTimeText.appendISO8601UTC(seconds: seconds, micros: micros, fractionDigits: digits, into: &$0)
            }
            return true
        case .interval:
            guard let parts = TimeText.parseInterval(text) else { return false }
            out.appendAvroLong(parts.debeziumMicros)
            return true
        case .intervalString:
            guard let parts = TimeText.parseInterval(text) else { return false }
            var iso = parts.isoText
            iso.withUTF8 { out.appendAvroBytes(UnsafeRawBufferPointer($0)) }
            return true
        case .array(let element, let elementOptional):
            // Only arrays whose items are what the schema says (optional exactly when the column's are).
            // Avro's block count first: the elements are counted, then written, each time read in place.
            var count = 0
            guard
                CompositeText.forEachArrayElement(
                    text,
                    { _ in
                        count += 1; return true
                    })
            else { return false }
            if count > 0 {
                out.appendAvroLong(Int64(count))
                let written = CompositeText.forEachArrayElement(text) { item in
                    switch item {
                    case .null, .nested:
                        guard elementOptional else { return false }
                        out.append(0)
                        return true
                    case .value(let bytes):
                        if elementOptional { out.append(2) }
                        return write(bytes, as: element, into: &out)
                    }
                }
                guard written else { return false }
            }
            out.append(0)
            return true
        case .point, .hstoreJSON, .hstoreMap, .decimalDouble, .decimalString, .bytesText, .alwaysNull, .omitted:
            return false
        }
    }

    /// Whether `write` writes this encoding itself (for an array, its items too).
    static func writesItself(_ encoding: ColumnEncoding) -> Bool {
        switch encoding {
        case .point, .hstoreJSON, .hstoreMap, .decimalDouble, .decimalString, .bytesText, .alwaysNull, .omitted: false
        case .array(let element, _): writesItself(element)
        default: true
        }
    }

    @inline(__always)
    private static func appendUnscaled(_ value: Int64, into out: inout JSONBuffer) {
        out.write(maximum: 9) { destination in
            let length = DecimalText.minimalBytes(value, into: destination + 1)
            destination[0] = UInt8(length << 1)
            return length + 1
        }
    }

    private static func writeDecimal(_ number: DecimalText?, scale: Int, into out: inout JSONBuffer) -> Bool {
        // A NaN or infinity is null, which the caller writes through JSON.
        guard let number, let unscaled = number.unscaled(toScale: scale) else { return false }
        unscaled.withUnsafeBytes { out.appendAvroBytes($0) }
        return true
    }

    @inline(__always)
    private static func integer(_ text: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        var negative = false
        if text.count > 0, text[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        guard index < text.count, text.count - index <= 19 else { return nil }
        var value: UInt64 = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value &* 10 &+ UInt64(digit)
            index += 1
        }
        if negative {
            guard value <= UInt64(Int64.max) + 1 else { return nil }
            return Int64(bitPattern: 0 &- value)
        }
        guard value <= UInt64(Int64.max) else { return nil }
        return Int64(value)
    }

    /// PostgreSQL's float text (`1.5`, `-2e-05`, `NaN`, `Infinity`) as Java's `Double.parseDouble` (or, `single`,
    /// `Float.parseFloat`, straight from the text rather than through a double) reads it.
    private static func parseFloat(_ text: UnsafeRawBufferPointer, single: Bool) -> Double? {
        guard text.count > 0, text.count < 64 else { return nil }
        if text.elementsEqual("NaN".utf8) { return .nan }
        if text.elementsEqual("Infinity".utf8) { return .infinity }
        if text.elementsEqual("-Infinity".utf8) { return -.infinity }
        for byte in text {
            guard
                byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
            else { return nil }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { scratch -> Double? in
            let base = scratch.baseAddress!
            UnsafeMutableRawPointer(base).copyMemory(from: text.baseAddress!, byteCount: text.count)
            base[text.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = single ? Double(strtof(base, &end)) : strtod(base, &end)
            guard end == base + text.count else { return nil }
            return value
        }
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: 0xFF
        }
    }
}
