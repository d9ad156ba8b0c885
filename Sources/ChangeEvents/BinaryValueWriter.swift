/// pgoutput's binary mode: values written into Debezium's JSON straight from their send format.
extension ValueWriter {
    /// A decimal's unscaled value as Debezium writes it: base64 of its shortest two's-complement bytes.
    static func appendDecimalBytes(_ unscaled: Int64, into out: inout JSONBuffer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { bytes in
            let length = DecimalText.minimalBytes(unscaled, into: bytes.baseAddress!)
            out.appendBase64(UnsafeRawBufferPointer(start: bytes.baseAddress!, count: length))
        }
    }

    /// PostgreSQL's epoch (2000-01-01) from the Unix epoch, in days and in microseconds.
    static let epochShiftDays: Int64 = 10957
    static let epochShiftMicros: Int64 = 946_684_800_000_000
    /// Days since 2000-01-01 of 1900-01-01 and 2200-01-01: dates and times written straight from their binary form;
    /// outside (infinities, BC, far years) they go through their text, as text mode writes them.
    static let directDays: ClosedRange<Int64> = -36524...73049

    /// A value in its binary send format written as Debezium's JSON for `encoding`: straight from the bytes where the
    /// two meet (integers, booleans, text, json, jsonb, uuid, bytea, dates, times and timestamps of common years),
    /// through the value's text (`BinaryFormat.appendText`) otherwise. False when the bytes are not a value of `format`
    /// or the format is unknown.
    static func writeBinary(
        _ value: UnsafeRawBufferPointer, format: BinaryFormat?, as encoding: ColumnEncoding, into out: inout JSONBuffer
    ) -> Bool {
        guard let format else { return false }
        var reader = BinaryReader(value)
        switch (format, encoding) {
        case (.bool, .boolean):
            guard value.count == 1 else { return false }
            out.appendBool(value[0] != 0)
            return true
        case (.int2, .int16), (.int2, .int32), (.int2, .int64):
            guard value.count == 2, let number = reader.int16() else { return false }
            out.appendInteger(Int64(number))
            return true
        case (.int4, .int32), (.int4, .int64):
            guard value.count == 4, let number = reader.int32() else { return false }
            out.appendInteger(Int64(number))
            return true
        case (.int8, .int64):
            guard value.count == 8, let number = reader.int64() else { return false }
            out.appendInteger(number)
            return true
        case (.oid, .int64):
            guard value.count == 4, let number = reader.int32() else { return false }
            out.appendInteger(Int64(UInt32(bitPattern: number)))
            return true
        case (.text, .string), (.text, .json), (.text, .xml), (.text, .enumeration):
            out.appendString(value)
            return true
        case (.versionedText, .json), (.versionedText, .string):
            guard value.first == 1 else { return false }
            out.appendString(UnsafeRawBufferPointer(rebasing: value[1...]))
            return true
        case (.uuid, .uuid):
            guard value.count == 16 else { return false }
            out.append(UInt8(ascii: "\""))
            BinaryFormat.uuidText(value) { out.append($0) }
            out.append(UInt8(ascii: "\""))
            return true
        case (.bytea, .bytes):
            out.appendBase64(value)
            return true
        case (.date, .date):
            guard value.count == 4, let days = reader.int32(), directDays.contains(Int64(days)) else { break }
            out.appendInteger(Int64(days) + epochShiftDays)
            return true
        case (.time, .timeMicros), (.time, .timeMillis):
            guard value.count == 8, let micros = reader.int64(), micros >= 0 else { break }
            out.appendInteger(encoding == .timeMicros ? micros : micros / 1000)
            return true
        case (.timestamp, .timestampMicros), (.timestamp, .timestampMillis):
            guard value.count == 8, let micros = reader.int64(), directDays.contains(micros / BinaryFormat.microsPerDay)
            else { break }
            let unix = micros + epochShiftMicros
            out.appendInteger(encoding == .timestampMicros ? unix : floorDiv(unix, 1000))
            return true
        case (.timestamptz, .zonedTimestamp(let digits)):
            guard value.count == 8, let micros = reader.int64(), directDays.contains(micros / BinaryFormat.microsPerDay)
            else { break }
            out.append(UInt8(ascii: "\""))
            DateTimeText.appendISO8601UTC(micros: micros + epochShiftMicros, fractionDigits: digits, into: &out)
            out.append(UInt8(ascii: "\""))
            return true
        case (.numeric, .decimal(_, let scale)):
            guard let unscaled = BinaryFormat.smallUnscaled(value, scale: scale) else { break }
            appendDecimalBytes(unscaled.value, into: &out)
            return true
        case (.numeric, .variableDecimal):
            guard let unscaled = BinaryFormat.smallUnscaled(value, scale: nil) else { break }
            out.appendRaw("{\"scale\":")
            out.appendInteger(unscaled.scale)
            out.appendRaw(",\"value\":")
            appendDecimalBytes(unscaled.value, into: &out)
            out.append(UInt8(ascii: "}"))
            return true
        case (.array(let elementFormat), .array(let element, _)):
            if let written = writeBinaryArray(value, elementFormat, element, into: &out) { return written }
        case (.interval, .interval), (.interval, .intervalString):
            guard value.count == 16, let micros = reader.int64(), let days = reader.int32(), let months = reader.int32()
            else { return false }
            // The parts pgjdbc's PGInterval holds for PostgreSQL's text of the same interval.
            let parts = TimeText.IntervalParts(
                years: Int(months / 12), months: Int(months % 12), days: Int(days),
                hours: Int(micros / 3_600_000_000), minutes: Int(micros / 60_000_000 % 60),
                wholeSeconds: Int(micros / 1_000_000 % 60), microseconds: Int(micros % 1_000_000))
            if encoding == .interval {
                out.appendInteger(parts.debeziumMicros)
            } else {
                out.appendString(parts.isoText)
            }
            return true
        default:
            break
        }
        // Taken out of the buffer while in use (an array's elements may need one of their own).
        var text = out.scratch
        out.scratch = []
        defer { out.scratch = text }
        text.removeAll(keepingCapacity: true)
        guard format.appendText(value, to: &text) else { return false }
        return text.withUnsafeBytes { write($0, as: encoding, into: &out) }
    }

    /// A one-dimensional array with lower bound 1 written element by element from its send format, as the text path
    /// writes it; nil (having written nothing) for any other shape or an element the text path would write as a string
    /// of its text, which the text path then writes.
    static func writeBinaryArray(
        _ value: UnsafeRawBufferPointer, _ elementFormat: BinaryFormat, _ element: ColumnEncoding,
        into out: inout JSONBuffer
    ) -> Bool? {
        var reader = BinaryReader(value)
        guard let dimensions = reader.int32(), reader.int32() != nil, reader.int32() != nil else { return false }
        if dimensions == 0 {
            guard reader.atEnd else { return false }
            out.appendRaw("[]")
            return true
        }
        guard dimensions == 1, let count = reader.int32(), count >= 0, reader.int32() == 1 else { return nil }
        let start = out.count
        out.append(UInt8(ascii: "["))
        for index in 0..<Int(count) {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let length = reader.int32() else {
                out.truncate(to: start)
                return false
            }
            if length < 0 {
                out.appendNull()
                continue
            }
            guard let bytes = reader.bytes(Int(length)),
                writeBinary(UnsafeRawBufferPointer(rebasing: bytes), format: elementFormat, as: element, into: &out)
            else {
                out.truncate(to: start)
                return nil
            }
        }
        guard reader.atEnd else {
            out.truncate(to: start)
            return false
        }
        out.append(UInt8(ascii: "]"))
        return true
    }
}
