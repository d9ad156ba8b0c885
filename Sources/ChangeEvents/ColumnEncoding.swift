public import PGOutput

/// How one column's values are written, decided once per relation from its type, modifier and catalog facts.
///
/// Mirrors the Debezium PostgreSQL connector's default mappings (`decimal.handling.mode=precise`,
/// `time.precision.mode=adaptive`, `binary.handling.mode=bytes`, `interval.handling.mode=numeric`,
/// `hstore.handling.mode=json`, `include.unknown.datatypes=false`).
public indirect enum ColumnEncoding: Sendable, Equatable {
    case boolean
    case int16
    case int32
    case int64
    case float32
    case float64
    /// `numeric(p,s)`: Connect `Decimal`, base64 two's-complement unscaled value.
    case decimal(precision: Int, scale: Int)
    /// `money`: Connect `Decimal` with scale 2 and no precision parameter.
    case money
    /// `numeric` without a modifier: `io.debezium.data.VariableScaleDecimal`.
    case variableDecimal
    case string
    case json
    case uuid
    case xml
    case tsvector
    /// An enum: `io.debezium.data.Enum` with its labels.
    case enumeration(allowed: String)
    case bytes
    /// `bit(1)`: a boolean.
    case bit
    /// `bit(n)` with n > 1 and `varbit`: `io.debezium.data.Bits`, little-endian bytes.
    case bits(length: Int)
    /// `io.debezium.time.Date`: days since the epoch.
    case date
    /// `io.debezium.time.Time`: milliseconds of the day (precision 0–3).
    case timeMillis
    /// `io.debezium.time.MicroTime`: microseconds of the day (precision 4–6).
    case timeMicros
    /// `io.debezium.time.ZonedTime`: ISO-8601 time in UTC.
    case zonedTime
    /// `io.debezium.time.Timestamp`: milliseconds since the epoch (precision 0–3).
    case timestampMillis
    /// `io.debezium.time.MicroTimestamp`: microseconds since the epoch (precision 4–6).
    case timestampMicros
    /// `io.debezium.time.ZonedTimestamp`: ISO-8601 in UTC with `fractionDigits` digits.
    case zonedTimestamp(fractionDigits: Int)
    /// `io.debezium.time.MicroDuration`: an interval as microseconds (365.25-day years, 30.4375-day months).
    case interval
    /// `io.debezium.data.geometry.Point`: x, y and WKB.
    case point
    /// `hstore` as a JSON object string (`io.debezium.data.Json`).
    case hstoreJSON
    /// An array of `element`s.
    case array(element: ColumnEncoding, elementOptional: Bool)
    /// `decimal.handling.mode=double`: numeric and money as a double (NaN and infinities as strings).
    case decimalDouble
    /// `decimal.handling.mode=string`: numeric and money as their plain text.
    case decimalString
    /// `time.precision.mode=connect`: `org.apache.kafka.connect.data.Date` (days).
    case connectDate
    /// `time.precision.mode=connect`: `org.apache.kafka.connect.data.Time` (milliseconds of the day).
    case connectTime
    /// `time.precision.mode=connect`: `org.apache.kafka.connect.data.Timestamp` (milliseconds).
    case connectTimestamp
    /// `binary.handling.mode` base64, base64-url-safe or hex: bytes as a string.
    case bytesText(ValueHandling.Binary)
    /// `interval.handling.mode=string`: `io.debezium.time.Interval`, ISO-8601 `P1Y2M3DT4H5M6.789S`.
    case intervalString
    /// `hstore.handling.mode=map`: a Connect map of strings.
    case hstoreMap
    /// A `name` column: Debezium's pgoutput path writes null for it.
    case alwaysNull
    /// A type Debezium does not know (geometric types but point, composites, …): left out of the event,
    /// as with Debezium's default `include.unknown.datatypes=false`.
    case omitted

    /// The encoding Debezium uses for a column, with its value handling options applied.
    public init(typeOID: UInt32, typeModifier: Int32, facts: ColumnTypeFacts? = nil, handling: ValueHandling) {
        self = ColumnEncoding(typeOID: typeOID, typeModifier: typeModifier, facts: facts).applying(handling)
    }

    /// This encoding as Debezium's handling options change it.
    func applying(_ handling: ValueHandling) -> ColumnEncoding {
        switch self {
        case .decimal, .variableDecimal, .money:
            switch handling.decimal {
            case .precise: return self
            case .double: return .decimalDouble
            case .string: return .decimalString
            }
        case .date: return handling.time == .connect ? .connectDate : self
        case .timeMillis, .timeMicros:
            switch handling.time {
            case .adaptive: return self
            case .adaptiveTimeMicroseconds: return .timeMicros
            case .connect: return .connectTime
            }
        case .timestampMillis, .timestampMicros: return handling.time == .connect ? .connectTimestamp : self
        case .bytes: return handling.binary == .bytes ? self : .bytesText(handling.binary)
        case .interval: return handling.interval == .string ? .intervalString : self
        case .hstoreJSON: return handling.hstore == .map ? .hstoreMap : self
        case .array(let element, let optional): return .array(element: element.applying(handling), elementOptional: optional)
        default: return self
        }
    }

    /// The encoding Debezium uses for a column with its default handling options.
    public init(typeOID: UInt32, typeModifier: Int32, facts: ColumnTypeFacts? = nil) {
        if let builtin = Self.builtin(typeOID, typeModifier) {
            self = builtin
            return
        }
        if let arrayElement = PostgresType.arrayElements[typeOID] {
            self = .array(element: ColumnEncoding(typeOID: arrayElement, typeModifier: typeModifier), elementOptional: true)
            return
        }
        guard let facts else {
            self = .omitted
            return
        }
        switch facts.kind {
        case "e":
            self = .enumeration(allowed: facts.enumLabels.joined(separator: ","))
        case "d":
            self = ColumnEncoding(typeOID: facts.baseOID, typeModifier: facts.baseModifier)
        case "b" where facts.elementOID != 0 && facts.name.hasPrefix("_"):
            if facts.elementKind == "e" {
                self = .array(element: .enumeration(allowed: facts.enumLabels.joined(separator: ",")), elementOptional: false)
            } else {
                let element = ColumnEncoding(
                    typeOID: facts.elementOID, typeModifier: typeModifier,
                    facts: Self.extensionFacts(facts.elementName))
                self = element == .omitted ? .omitted : .array(element: element, elementOptional: true)
            }
        case "b":
            switch facts.name {
            case "hstore": self = .hstoreJSON
            case "citext", "ltree": self = .string
            default: self = .omitted
            }
        default:
            self = .omitted
        }
    }

    private static func extensionFacts(_ name: String) -> ColumnTypeFacts? {
        ["hstore", "citext", "ltree"].contains(name) ? ColumnTypeFacts(name: name, kind: "b") : nil
    }

    private static func builtin(_ oid: UInt32, _ modifier: Int32) -> ColumnEncoding? {
        switch oid {
        case PostgresType.bool: return .boolean
        case PostgresType.int2: return .int16
        case PostgresType.int4: return .int32
        case PostgresType.int8, PostgresType.oid: return .int64
        case PostgresType.float4: return .float32
        case PostgresType.float8: return .float64
        case PostgresType.numeric:
            if modifier >= 4 {
                let value = Int(modifier) - 4
                return .decimal(precision: (value >> 16) & 0xFFFF, scale: value & 0xFFFF)
            }
            return .variableDecimal
        case PostgresType.money: return .money
        case PostgresType.json, PostgresType.jsonb: return .json
        case PostgresType.xml: return .xml
        case PostgresType.uuid: return .uuid
        case PostgresType.tsvector: return .tsvector
        case PostgresType.bytea: return .bytes
        case PostgresType.bit: return modifier == 1 ? .bit : .bits(length: modifier > 0 ? Int(modifier) : Int(Int32.max))
        case PostgresType.varbit: return .bits(length: modifier > 0 ? Int(modifier) : Int(Int32.max))
        case PostgresType.date: return .date
        case PostgresType.time: return (modifier >= 0 && modifier <= 3) ? .timeMillis : .timeMicros
        case PostgresType.timetz: return .zonedTime
        case PostgresType.timestamp: return (modifier >= 0 && modifier <= 3) ? .timestampMillis : .timestampMicros
        case PostgresType.timestamptz: return .zonedTimestamp(fractionDigits: modifier >= 0 ? Int(modifier) : 6)
        case PostgresType.interval: return .interval
        case PostgresType.point: return .point
        case PostgresType.name: return .alwaysNull
        case PostgresType.text, PostgresType.varchar, PostgresType.bpchar, PostgresType.char, PostgresType.inet,
            PostgresType.cidr, PostgresType.macaddr, PostgresType.macaddr8, PostgresType.int4range, PostgresType.int8range,
            PostgresType.numrange, PostgresType.tsrange, PostgresType.tstzrange, PostgresType.daterange:
            return .string
        default: return nil
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
    public static let xml: UInt32 = 142
    public static let point: UInt32 = 600
    public static let cidr: UInt32 = 650
    public static let float4: UInt32 = 700
    public static let float8: UInt32 = 701
    public static let macaddr8: UInt32 = 774
    public static let money: UInt32 = 790
    public static let macaddr: UInt32 = 829
    public static let inet: UInt32 = 869
    public static let bpchar: UInt32 = 1042
    public static let varchar: UInt32 = 1043
    public static let date: UInt32 = 1082
    public static let time: UInt32 = 1083
    public static let timestamp: UInt32 = 1114
    public static let timestamptz: UInt32 = 1184
    public static let interval: UInt32 = 1186
    public static let timetz: UInt32 = 1266
    public static let bit: UInt32 = 1560
    public static let varbit: UInt32 = 1562
    public static let numeric: UInt32 = 1700
    public static let uuid: UInt32 = 2950
    public static let tsvector: UInt32 = 3614
    public static let jsonb: UInt32 = 3802
    public static let int4range: UInt32 = 3904
    public static let numrange: UInt32 = 3906
    public static let tsrange: UInt32 = 3908
    public static let tstzrange: UInt32 = 3910
    public static let daterange: UInt32 = 3912
    public static let int8range: UInt32 = 3926

    /// Built-in array types and their element types.
    public static let arrayElements: [UInt32: UInt32] = [
        1000: bool, 1001: bytea, 1002: char, 1005: int2, 1007: int4, 1009: text, 1014: bpchar, 1015: varchar, 1016: int8,
        1021: float4, 1022: float8, 1028: oid, 1182: date, 1183: time, 1115: timestamp, 1185: timestamptz, 1187: interval,
        1231: numeric, 2951: uuid, 199: json, 3807: jsonb, 143: xml, 1041: inet, 651: cidr, 1040: macaddr, 775: macaddr8,
        791: money, 1270: timetz, 1561: bit, 1563: varbit, 1017: point, 3643: tsvector, 3905: int4range, 3907: numrange,
        3909: tsrange, 3911: tstzrange, 3913: daterange, 3927: int8range,
    ]
}
