import Foundation

/// Avro's binary encoding of a Connect value given as JsonConverter writes it (`payload`), following the Connect schema
/// an `AvroSchema` was derived from; and Confluent's wire format around it (magic byte 0, the schema id as 4 bytes
/// big-endian, then the Avro bytes).
public enum AvroEncoder {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A record as AvroConverter writes it to Kafka.
    public static func record(schemaID: Int32, payload: JSONTree, schema: ConnectSchemaNode) throws(Failure) -> [UInt8] {
        var bytes: [UInt8] = [0]
        bytes.reserveCapacity(256)
        let id = UInt32(bitPattern: schemaID)
        bytes += [
            UInt8(id >> 24), UInt8(truncatingIfNeeded: id >> 16), UInt8(truncatingIfNeeded: id >> 8),
            UInt8(truncatingIfNeeded: id),
        ]
        try encode(payload, schema, into: &bytes, path: "")
        return bytes
    }

    public static func encode(
        _ value: JSONTree, _ schema: ConnectSchemaNode, into bytes: inout [UInt8], path: String
    )
        throws(Failure)
    {
        if schema.optional {
            // ["null", T], or [T, "null"] when the schema has a default.
            let nullFirst = schema.defaultValue == nil
            if value == .null {
                writeLong(nullFirst ? 0 : 1, into: &bytes)
                return
            }
            writeLong(nullFirst ? 1 : 0, into: &bytes)
        } else if value == .null {
            guard let fallback = schema.defaultValue else {
                throw Failure(description: "\(path.isEmpty ? "the value" : path) is null but its schema is not optional")
            }
            return try encodeBase(fallback, schema, into: &bytes, path: path)
        }
        try encodeBase(value, schema, into: &bytes, path: path)
    }

    static func encodeBase(
        _ value: JSONTree, _ schema: ConnectSchemaNode, into bytes: inout [UInt8], path: String
    )
        throws(Failure)
    {
        func mismatch() -> Failure {
            Failure(description: "\(path.isEmpty ? "the value" : path) is not a \(schema.kind.rawValue): \(value)")
        }
        switch schema.kind {
        case .boolean:
            guard case .bool(let flag) = value else { throw mismatch() }
            bytes.append(flag ? 1 : 0)
        case .int8, .int16, .int32, .int64:
            guard case .number(let text) = value, let number = Int64(text) else { throw mismatch() }
            writeLong(number, into: &bytes)
        case .float32:
            let number = try floatingPoint(value, mismatch)
            var bits = Float(number).bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { bytes.append(contentsOf: $0) }
        case .float64:
            let number = try floatingPoint(value, mismatch)
            var bits = number.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { bytes.append(contentsOf: $0) }
        case .string:
            guard case .string(let text) = value else { throw mismatch() }
            let utf8 = Array(text.utf8)
            writeLong(Int64(utf8.count), into: &bytes)
            bytes += utf8
        case .bytes:
            guard case .string(let text) = value, let data = Data(base64Encoded: text) else { throw mismatch() }
            writeLong(Int64(data.count), into: &bytes)
            bytes += data
        case .structure:
            guard case .object(let members) = value else { throw mismatch() }
            for field in schema.fields {
                let member = members.first { $0.name == field.name }?.value ?? .null
                try encode(member, field.schema, into: &bytes, path: path.isEmpty ? field.name : "\(path).\(field.name)")
            }
        case .array:
            guard case .array(let elements) = value, let itemSchema = schema.elements else { throw mismatch() }
            if !elements.isEmpty {
                writeLong(Int64(elements.count), into: &bytes)
                for (index, element) in elements.enumerated() {
                    try encode(element, itemSchema, into: &bytes, path: "\(path)[\(index)]")
                }
            }
            bytes.append(0)
        case .map:
            guard case .object(let members) = value, let valueSchema = schema.elements else { throw mismatch() }
            if !members.isEmpty {
                writeLong(Int64(members.count), into: &bytes)
                for member in members {
                    let utf8 = Array(member.name.utf8)
                    writeLong(Int64(utf8.count), into: &bytes)
                    bytes += utf8
                    try encode(member.value, valueSchema, into: &bytes, path: "\(path).\(member.name)")
                }
            }
            bytes.append(0)
        }
    }

    /// JsonConverter writes a float's NaN and infinities as strings.
    static func floatingPoint(_ value: JSONTree, _ mismatch: () -> Failure) throws(Failure) -> Double {
        switch value {
        case .number(let text):
            guard let number = Double(text) else { throw mismatch() }
            return number
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        default: throw mismatch()
        }
    }

    /// Avro's `long` (and `int`): zig-zag, then 7 bits a byte, least significant first.
    @inline(__always)
    public static func writeLong(_ value: Int64, into bytes: inout [UInt8]) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while zigzag >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
            zigzag >>= 7
        }
        bytes.append(UInt8(zigzag))
    }
}
