import Foundation

/// Kafka Connect schemas as Debezium's PostgreSQL connector declares them, written as JsonConverter does.
///
/// Built once per relation, never per event.
enum ConnectSchema {
    /// - Parameter defaultValue: the column's default as JSON (`defaultValue(_:_:typeName:)`), if it has one.
    static func field(_ encoding: ColumnEncoding, optional: Bool, name: String, defaultValue: String? = nil) -> String {
        let body = schema(encoding, optional: optional)
        let fallback = defaultValue.map { ",\"default\":\($0)" } ?? ""
        return String(body.dropLast()) + "\(fallback),\"field\":\(quote(name))}"
    }

    /// The schema of member `name` of a struct schema written here (`source`, `transaction`), as its JSON object.
    static func fieldSchema(_ name: String, inStruct structSchema: String) -> String? {
        let scanner = JSONScanner(Array(structSchema.utf8))
        guard let fields = scanner.member("fields", ofObjectAt: 0) else { return nil }
        var index = fields.lowerBound + 1
        while index < fields.upperBound - 1 {
            let end = scanner.end(ofValueAt: index)
            if let field = scanner.member("field", ofObjectAt: index), scanner.string(at: field) == name {
                return String(decoding: scanner.bytes[index..<end], as: UTF8.self)
            }
            index = end + 1
        }
        return nil
    }

    /// A column default as the schema's `default`, for the simple literals Debezium converts; nil otherwise.
    /// A default the server computes (a function call such as `now()` or `nextval('t_id_seq'::regclass)`, or
    /// `CURRENT_DATE` and its kin) becomes the placeholder Debezium's PostgresDefaultValueConverter puts in for the
    /// column's type (`typeName`, `pg_type.typname`): 0, false, "", the epoch, the nil UUID.
    static func defaultValue(_ expression: String, _ encoding: ColumnEncoding, typeName: String = "") -> String? {
        // pg_get_expr writes literals as `true`, `10`, `'-5'::integer`, `'abc'::text`, `'a''b'::character varying`.
        var literal = expression
        var quoted = false
        if let placeholder = computedDefaultPlaceholder(expression, typeName: typeName) {
            switch encoding {
            case .date, .connectDate, .timeMillis, .timeMicros, .connectTime, .timestampMillis, .timestampMicros,
                .connectTimestamp, .interval:
                return "0"
            case .zonedTimestamp(let digits):
                return quote("1970-01-01T00:00:00" + (digits > 0 ? "." + String(repeating: "0", count: digits) : "") + "Z")
            case .uuid, .json:
                return quote(placeholder)
            default:
                literal = placeholder
                quoted = true
            }
        } else if literal.hasPrefix("'"), let end = literal.range(of: "'::", options: .backwards) {
            literal = String(literal[literal.index(after: literal.startIndex)..<end.lowerBound]).replacingOccurrences(
                of: "''", with: "'")
            quoted = true
        }
        switch encoding {
        case .boolean:
            return literal == "true" || literal == "false" ? literal : nil
        case .int16, .int32, .int64:
            return Int64(literal) != nil ? literal : nil
        case .float32, .float64:
            guard Double(literal) != nil else { return nil }
            var buffer = JSONBuffer()
            return literal.utf8.withContiguousStorageIfAvailable {
                JavaFloatFormat.write(UnsafeRawBufferPointer($0), into: &buffer)
            } == true
                ? String(decoding: buffer.bytes, as: UTF8.self) : nil
        case .string, .enumeration:
            return quoted ? quote(literal) : nil
        case .variableDecimal:
            // A struct, which Debezium never makes a default (its workaround for KAFKA-12694).
            return nil
        case .decimal, .decimalDouble, .decimalString:
            // A numeric literal (`0`, `9.50`, `'-1.5'::numeric`) as the column's values are written.
            guard Double(literal) != nil else { return nil }
            var buffer = JSONBuffer()
            let written = literal.utf8.withContiguousStorageIfAvailable {
                ValueWriter.write(UnsafeRawBufferPointer($0), as: encoding, into: &buffer)
            }
            return written == true ? String(decoding: buffer.bytes, as: UTF8.self) : nil
        default:
            return nil
        }
    }

    /// Debezium's placeholder for a computed default of a type it has a default mapper for; nil for a literal, an
    /// expression it does not take for a function call (`(1 + 2)`), or another type (domains, arrays, enums).
    static func computedDefaultPlaceholder(_ expression: String, typeName: String) -> String? {
        let placeholder: String
        switch typeName {
        case "bool": placeholder = "false"
        case "bpchar", "varchar", "text", "xml": placeholder = ""
        case "numeric", "float4", "float8": placeholder = "0.0"
        case "int2", "int4", "int8": placeholder = "0"
        case "json", "jsonb": placeholder = "{}"
        case "uuid": placeholder = "00000000-0000-0000-0000-000000000000"
        case "date", "time", "timestamp", "timestamptz", "interval": placeholder = "epoch"
        default: return nil
        }
        let computed =
            expression.prefixMatch(of: /\(?[A-Za-z0-9_.]+\((?:.+(?:, ?.+)*)?\)/) != nil
            || ["current_timestamp", "current_time", "current_date", "localtime", "localtimestamp"].contains(
                expression.lowercased())
        return computed ? placeholder : nil
    }

    /// The schema object of one value (without its `field` name).
    static func schema(_ encoding: ColumnEncoding, optional: Bool) -> String {
        let opt = optional ? "true" : "false"
        switch encoding {
        case .boolean, .bit: return "{\"type\":\"boolean\",\"optional\":\(opt)}"
        case .int16: return "{\"type\":\"int16\",\"optional\":\(opt)}"
        case .int32: return "{\"type\":\"int32\",\"optional\":\(opt)}"
        case .int64: return "{\"type\":\"int64\",\"optional\":\(opt)}"
        case .float32: return "{\"type\":\"float\",\"optional\":\(opt)}"
        case .float64: return "{\"type\":\"double\",\"optional\":\(opt)}"
        case .decimal(let precision, let scale):
            return
                "{\"type\":\"bytes\",\"optional\":\(opt),\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,"
                + "\"parameters\":{\"scale\":\"\(scale)\",\"connect.decimal.precision\":\"\(precision)\"}}"
        case .money:
            return
                "{\"type\":\"bytes\",\"optional\":\(opt),\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,"
                + "\"parameters\":{\"scale\":\"2\"}}"
        case .variableDecimal:
            return
                "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
                + "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"optional\":\(opt),"
                + "\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,\"doc\":\"Variable scaled decimal\"}"
        case .string, .alwaysNull, .omitted: return "{\"type\":\"string\",\"optional\":\(opt)}"
        case .json, .hstoreJSON: return named("string", "io.debezium.data.Json", opt)
        case .uuid: return named("string", "io.debezium.data.Uuid", opt)
        case .xml: return named("string", "io.debezium.data.Xml", opt)
        case .tsvector: return named("string", "io.debezium.data.Tsvector", opt)
        case .enumeration(let allowed):
            return
                "{\"type\":\"string\",\"optional\":\(opt),\"name\":\"io.debezium.data.Enum\",\"version\":1,"
                + "\"parameters\":{\"allowed\":\(quote(allowed))}}"
        case .bytes: return "{\"type\":\"bytes\",\"optional\":\(opt)}"
        case .bits(let length):
            return
                "{\"type\":\"bytes\",\"optional\":\(opt),\"name\":\"io.debezium.data.Bits\",\"version\":1,"
                + "\"parameters\":{\"length\":\"\(length)\"}}"
        case .date: return named("int32", "io.debezium.time.Date", opt)
        case .timeMillis: return named("int32", "io.debezium.time.Time", opt)
        case .timeMicros: return named("int64", "io.debezium.time.MicroTime", opt)
        case .zonedTime: return named("string", "io.debezium.time.ZonedTime", opt)
        case .timestampMillis: return named("int64", "io.debezium.time.Timestamp", opt)
        case .timestampMicros: return named("int64", "io.debezium.time.MicroTimestamp", opt)
        case .zonedTimestamp: return named("string", "io.debezium.time.ZonedTimestamp", opt)
        case .interval: return named("int64", "io.debezium.time.MicroDuration", opt)
        case .point:
            return
                "{\"type\":\"struct\",\"fields\":[{\"type\":\"double\",\"optional\":false,\"field\":\"x\"},"
                + "{\"type\":\"double\",\"optional\":false,\"field\":\"y\"},{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"},"
                + "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],\"optional\":\(opt),"
                + "\"name\":\"io.debezium.data.geometry.Point\",\"version\":1,\"doc\":\"Geometry (POINT)\"}"
        case .decimalDouble: return "{\"type\":\"double\",\"optional\":\(opt)}"
        case .decimalString, .bytesText: return "{\"type\":\"string\",\"optional\":\(opt)}"
        case .connectDate: return named("int32", "org.apache.kafka.connect.data.Date", opt)
        case .connectTime: return named("int32", "org.apache.kafka.connect.data.Time", opt)
        case .connectTimestamp: return named("int64", "org.apache.kafka.connect.data.Timestamp", opt)
        case .intervalString: return named("string", "io.debezium.time.Interval", opt)
        case .hstoreMap:
            return
                "{\"type\":\"map\",\"keys\":{\"type\":\"string\",\"optional\":false},"
                + "\"values\":{\"type\":\"string\",\"optional\":true},\"optional\":\(opt)}"
        case .array(let element, let elementOptional):
            return "{\"type\":\"array\",\"items\":\(schema(element, optional: elementOptional)),\"optional\":\(opt)}"
        }
    }

    private static func named(_ type: String, _ name: String, _ optional: String) -> String {
        "{\"type\":\"\(type)\",\"optional\":\(optional),\"name\":\"\(name)\",\"version\":1}"
    }

    static func quote(_ text: String) -> String {
        var buffer = JSONBuffer(capacity: text.utf8.count + 2)
        buffer.appendString(text)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    static let source =
        "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
        + "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},{\"type\":\"string\",\"optional\":true,"
        + "\"name\":\"io.debezium.data.Enum\",\"version\":1,\"parameters\":{\"allowed\":"
        + "\"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental\"},\"default\":\"false\","
        + "\"field\":\"snapshot\"},{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
        + "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
        + "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
        + "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
        + "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"},"
        + "{\"type\":\"string\",\"optional\":true,\"field\":\"origin\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"origin_lsn\"}],"
        + "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\",\"version\":1,\"field\":\"source\"}"

    static let transaction =
        "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],"
        + "\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}"

    static let timestamps =
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
        + "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}"

    /// `{"schema":<schema>,"payload":<payload>}`: a value JsonConverter writes with `schemas.enable=true`, for
    /// transforms that make a new value.
    static func wrapped<Schema: Collection<UInt8>>(_ payload: [UInt8], schema: Schema) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(schema.count + payload.count + 24)
        out += "{\"schema\":".utf8
        out += schema
        out += ",\"payload\":".utf8
        out += payload
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `{"schema":<schema>,"payload":` — the bytes before a payload; the writer closes it with `}`.
    static func envelopePrefix(_ schema: String) -> [UInt8] {
        Array("{\"schema\":\(schema),\"payload\":".utf8)
    }

    static let messageKey =
        "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"field\":\"prefix\"}],"
        + "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.MessageKey\",\"version\":1}"

    static let messageValue =
        "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
        + "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},\(source),\(transaction),"
        + "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"field\":\"prefix\"},"
        + "{\"type\":\"bytes\",\"optional\":true,\"field\":\"content\"}],\"optional\":false,"
        + "\"name\":\"io.debezium.connector.postgresql.Message\",\"version\":1,\"field\":\"message\"}],"
        + "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.MessageValue\",\"version\":1}"
}
