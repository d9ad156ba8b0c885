import Foundation

/// Avro's binary encoding written straight from JsonConverter's bytes, without building a tree: the payload is walked
/// once, in the order of the schema's fields, which is the order JsonConverter (and every writer here) puts them in.
/// A payload that does not follow that order (a member missing or out of place) returns nil, and the caller takes the
/// tree path (`AvroEncoder`), which handles any order.
enum AvroStreamEncoder {
    /// Encodes the JSON value in `range` of `bytes` after `output`'s current end; nil (with `output` as it was) when the
    /// payload needs the tree path.
    static func encode(
        _ bytes: [UInt8], _ range: Range<Int>, _ schema: ConnectSchemaNode, into output: inout [UInt8]
    )
        -> Bool
    {
        let mark = output.count
        let done = bytes.withUnsafeBufferPointer { buffer -> Bool in
            var cursor = Cursor(bytes: buffer, index: range.lowerBound, end: range.upperBound)
            guard cursor.value(schema, into: &output) else { return false }
            cursor.skipSpace()
            return cursor.index == cursor.end
        }
        if !done { output.removeSubrange(mark...) }
        return done
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index: Int
        let end: Int

        @inline(__always)
        mutating func skipSpace() {
            while index < end, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        @inline(__always)
        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < end, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func isNull() -> Bool {
            skipSpace()
            guard index + 4 <= end, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
                bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
            else { return false }
            index += 4
            return true
        }

        mutating func value(_ schema: ConnectSchemaNode, into output: inout [UInt8]) -> Bool {
            if schema.optional {
                let nullFirst = !schema.hasDefault
                if isNull() {
                    output.append(nullFirst ? 0 : 2)
                    return true
                }
                output.append(nullFirst ? 2 : 0)
            } else if isNull() {
                return false  // a default to fill in: the tree path does it
            }
            return base(schema, into: &output)
        }

        mutating func base(_ schema: ConnectSchemaNode, into output: inout [UInt8]) -> Bool {
            skipSpace()
            guard index < end else { return false }
            switch schema.kind {
            case .boolean:
                if bytes[index] == UInt8(ascii: "t"), index + 4 <= end {
                    index += 4
                    output.append(1)
                    return true
                }
                if bytes[index] == UInt8(ascii: "f"), index + 5 <= end {
                    index += 5
                    output.append(0)
                    return true
                }
                return false
            case .int8, .int16, .int32, .int64:
                guard let number = integer() else { return false }
                AvroEncoder.writeLong(number, into: &output)
                return true
            case .float32, .float64:
                guard let number = floatingPoint() else { return false }
                if schema.kind == .float32 {
                    var bits = Float(number).bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { output.append(contentsOf: $0) }
                } else {
                    var bits = number.bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { output.append(contentsOf: $0) }
                }
                return true
            case .string:
                return string(into: &output)
            case .bytes:
                return base64(into: &output)
            case .structure:
                guard take(UInt8(ascii: "{")) else { return false }
                let done = schema.fields.withUnsafeBufferPointer { fields -> Bool in
                    for position in 0..<fields.count {
                        if position > 0, !take(UInt8(ascii: ",")) { return false }
                        guard name(equals: fields[position].quotedName), take(UInt8(ascii: ":")),
                            value(fields[position].schema, into: &output)
                        else {
                            return false
                        }
                    }
                    return true
                }
                return done && take(UInt8(ascii: "}"))
            case .array:
                guard let items = schema.elements, take(UInt8(ascii: "[")) else { return false }
                return blocks(closing: UInt8(ascii: "]"), into: &output) { cursor, block in cursor.value(items, into: &block) }
            case .map:
                guard let values = schema.elements, schema.keys?.kind == .string, take(UInt8(ascii: "{")) else {
                    return false
                }
                return blocks(closing: UInt8(ascii: "}"), into: &output) { cursor, block in
                    cursor.skipSpace()
                    return cursor.string(into: &block) && cursor.take(UInt8(ascii: ":")) && cursor.value(values, into: &block)
                }
            }
        }

        /// The elements up to `close` (an array's items, a map's entries) as one Avro block, its count first, then the
        /// zero that ends the blocks.
        mutating func blocks(
            closing close: UInt8, into output: inout [UInt8], _ element: (inout Cursor, inout [UInt8]) -> Bool
        ) -> Bool {
            var block: [UInt8] = []
            var count: Int64 = 0
            if !take(close) {
                repeat {
                    guard element(&self, &block) else { return false }
                    count += 1
                } while take(UInt8(ascii: ","))
                guard take(close) else { return false }
            }
            if count > 0 {
                AvroEncoder.writeLong(count, into: &output)
                output += block
            }
            output.append(0)
            return true
        }

        /// A member name equal to `quoted` (the name in quotes, without escapes, as field names are written).
        mutating func name(equals quoted: [UInt8]) -> Bool {
            skipSpace()
            let count = quoted.count
            guard index + count <= end else { return false }
            let same = quoted.withUnsafeBufferPointer { memcmp(bytes.baseAddress! + index, $0.baseAddress!, count) == 0 }
            guard same else { return false }
            index += count
            return true
        }

        mutating func integer() -> Int64? {
            var negative = false
            if bytes[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            var value: Int64 = 0
            let start = index
            while index < end, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.subtractingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                if overflow1 || overflow2 { return nil }
                value = sum
                index += 1
            }
            guard index > start else { return nil }
            if negative { return value }
            guard value != Int64.min else { return nil }
            return -value
        }

        mutating func floatingPoint() -> Double? {
            if bytes[index] == UInt8(ascii: "\"") {
                var text: [UInt8] = []
                guard rawString(into: &text) else { return nil }
                switch String(decoding: text, as: UTF8.self) {
                case "NaN": return .nan
                case "Infinity": return .infinity
                case "-Infinity": return -.infinity
                default: return nil
                }
            }
            let start = index
            while index < end {
                let byte = bytes[index]
                guard
                    (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                        || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                        || byte == UInt8(ascii: "E")
                else { break }
                index += 1
            }
            guard index > start else { return nil }
            return Double(Substring(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }

        /// A JSON string as Avro's length-prefixed UTF-8.
        mutating func string(into output: inout [UInt8]) -> Bool {
            guard index < end, bytes[index] == UInt8(ascii: "\"") else { return false }
            // Most strings hold no escape: their bytes go out as they are.
            var scan = index + 1
            while scan < end, bytes[scan] != UInt8(ascii: "\"") && bytes[scan] != UInt8(ascii: "\\") { scan += 1 }
            if scan < end, bytes[scan] == UInt8(ascii: "\"") {
                AvroEncoder.writeLong(Int64(scan - index - 1), into: &output)
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[(index + 1)..<scan]))
                index = scan + 1
                return true
            }
            var text: [UInt8] = []
            guard rawString(into: &text) else { return false }
            AvroEncoder.writeLong(Int64(text.count), into: &output)
            output += text
            return true
        }

        /// The unescaped bytes of a JSON string.
        mutating func rawString(into text: inout [UInt8]) -> Bool {
            guard index < end, bytes[index] == UInt8(ascii: "\"") else { return false }
            index += 1
            while index < end {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return true }
                guard byte == UInt8(ascii: "\\") else {
                    text.append(byte)
                    continue
                }
                guard index < end else { return false }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return false }
                    if (0xD800..<0xDC00).contains(code) {
                        guard index + 6 <= end, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { return false }
                        index += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return false }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { return false }
                    text.append(contentsOf: UTF8.encode(scalar)!)
                default:
                    return false
                }
            }
            return false
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= end, let code = JSONTree.hexQuad(bytes, at: index) else { return nil }
            index += 4
            return code
        }

        /// A base64 JSON string (Connect bytes) as Avro's length-prefixed bytes.
        mutating func base64(into output: inout [UInt8]) -> Bool {
            guard index < end, bytes[index] == UInt8(ascii: "\"") else { return false }
            let start = index + 1
            var scan = start
            while scan < end, bytes[scan] != UInt8(ascii: "\"") { scan += 1 }
            guard scan < end else { return false }
            let encoded = UnsafeBufferPointer(rebasing: bytes[start..<scan])
            guard let data = Data(base64Encoded: Data(encoded)) else { return false }
            AvroEncoder.writeLong(Int64(data.count), into: &output)
            output += data
            index = scan + 1
            return true
        }
    }
}
