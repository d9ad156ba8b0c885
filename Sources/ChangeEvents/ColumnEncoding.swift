/// How one column's values are written, decided once per relation from its type and modifier.
///
/// Mirrors the Debezium PostgreSQL connector's default mappings
/// (`decimal.handling.mode=precise`, `time.precision.mode=adaptive`, `binary.handling.mode=bytes`).
public enum ColumnEncoding: Sendable, Equatable {
    case boolean
    case int16
    case int32
    case int64
    case float32
    case float64
    /// `numeric(p,s)`: Connect `Decimal`, base64 two's-complement unscaled value.
    case decimal(precision: Int, scale: Int)
    /// `numeric` without a modifier: `io.debezium.data.VariableScaleDecimal`.
    case variableDecimal
    case string
    case json
    case uuid
    case bytes
    /// `io.debezium.time.Date`: days since the epoch.
    case date
    /// `io.debezium.time.Timestamp`: milliseconds since the epoch (precision 0–3).
    case timestampMillis
    /// `io.debezium.time.MicroTimestamp`: microseconds since the epoch (precision 4–6).
    case timestampMicros
    /// `io.debezium.time.ZonedTimestamp`: ISO-8601 in UTC with `fractionDigits` digits.
    case zonedTimestamp(fractionDigits: Int)

    /// The encoding Debezium uses for a PostgreSQL type; unknown types go out as their text form.
    public init(typeOID: UInt32, typeModifier: Int32) {
        switch typeOID {
        case PostgresType.bool: self = .boolean
        case PostgresType.int2: self = .int16
        case PostgresType.int4, PostgresType.oid: self = .int32
        case PostgresType.int8: self = .int64
        case PostgresType.float4: self = .float32
        case PostgresType.float8: self = .float64
        case PostgresType.numeric:
            if typeModifier >= 4 {
                let modifier = Int(typeModifier) - 4
                self = .decimal(precision: (modifier >> 16) & 0xFFFF, scale: modifier & 0xFFFF)
            } else {
                self = .variableDecimal
            }
        case PostgresType.json, PostgresType.jsonb: self = .json
        case PostgresType.uuid: self = .uuid
        case PostgresType.bytea: self = .bytes
        case PostgresType.date: self = .date
        case PostgresType.timestamp:
            let precision = typeModifier >= 0 ? Int(typeModifier) : 6
            self = precision <= 3 ? .timestampMillis : .timestampMicros
        case PostgresType.timestamptz:
            self = .zonedTimestamp(fractionDigits: typeModifier >= 0 ? Int(typeModifier) : 6)
        default: self = .string
        }
    }
}

/// OIDs of the built-in PostgreSQL types (`pg_type.oid`), fixed across versions.
public enum PostgresType {
    public static let bool: UInt32 = 16
    public static let bytea: UInt32 = 17
    public static let char: UInt32 = 18
    public static let name: UInt32 = 19
    public static let int8: UInt32 = 20
    public static let int2: UInt32 = 21
    public static let int4: UInt32 = 23
    public static let text: UInt32 = 25
    public static let oid: UInt32 = 26
    public static let json: UInt32 = 114
    public static let float4: UInt32 = 700
    public static let float8: UInt32 = 701
    public static let bpchar: UInt32 = 1042
    public static let varchar: UInt32 = 1043
    public static let date: UInt32 = 1082
    public static let time: UInt32 = 1083
    public static let timestamp: UInt32 = 1114
    public static let timestamptz: UInt32 = 1184
    public static let numeric: UInt32 = 1700
    public static let uuid: UInt32 = 2950
    public static let jsonb: UInt32 = 3802
}
