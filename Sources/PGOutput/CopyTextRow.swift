/// One row of `COPY … TO STDOUT` in text format, decoded into the same `TupleData` a pgoutput change carries.
///
/// Columns are separated by tabs; `\N` is NULL; backslash escapes (`\t`, `\n`, `\\`, octal, `\xHH`) are
/// resolved. Values are otherwise each type's text output, as in pgoutput's text columns.
/// See [COPY, Text Format](https://www.postgresql.org/docs/15/sql-copy.html).
public enum CopyTextRow {
    /// Decodes one row (its trailing newline optional); throws when it has not `columnCount` columns.
    public static func decode(_ line: [UInt8], columnCount: Int) throws(PGOutputError) -> TupleData {
        let (storage, columns) = try split(line, columnCount: columnCount)
        return TupleData(storage: storage, columns: columns)
    }

    /// Decodes one row with one more column than `columnCount`, read apart (a snapshot's `ctid`): the row has
    /// `columnCount` columns, and the extra one's range is in the row's storage.
    public static func decodeWithTrailing(
        _ line: [UInt8], columnCount: Int
    ) throws(PGOutputError) -> (row: TupleData, trailing: TupleData.Column) {
        var (storage, columns) = try split(line, columnCount: columnCount + 1)
        let trailing = columns.removeLast()
        return (TupleData(storage: storage, columns: columns), trailing)
    }

    /// The row's storage and columns. A row without a backslash (no NULL, no escape: most rows) keeps the line as its
    /// storage, its values where they are; only a row with escapes is copied, value by value, to resolve them.
    private static func split(
        _ line: [UInt8], columnCount: Int
    ) throws(PGOutputError) -> (storage: [UInt8], columns: [TupleData.Column]) {
        var end = line.count
        if end > 0, line[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var columns: [TupleData.Column] = []
        columns.reserveCapacity(columnCount)
        var start = 0
        let plain = line.withUnsafeBufferPointer { bytes in
            for index in 0..<end {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\t") {
                    columns.append(TupleData.Column(kind: .text, range: start..<index))
                    start = index + 1
                } else if byte == UInt8(ascii: "\\") {
                    return false
                }
            }
            return true
        }
        guard plain else { return try unescape(line, end: end, columnCount: columnCount) }
        columns.append(TupleData.Column(kind: .text, range: start..<end))
        guard columns.count == columnCount else {
            throw .invalidLength(field: "COPY row column count (expected \(columnCount))", value: columns.count, offset: 0)
        }
        return (line, columns)
    }

    /// A row with backslashes: NULLs and escapes resolved into new storage.
    private static func unescape(
        _ line: [UInt8], end: Int, columnCount: Int
    ) throws(PGOutputError) -> (storage: [UInt8], columns: [TupleData.Column]) {
        var storage: [UInt8] = []
        storage.reserveCapacity(end)
        var columns: [TupleData.Column] = []
        columns.reserveCapacity(columnCount)
        var index = 0
        var start = 0
        var isNull = false
        while true {
            if index == end || line[index] == UInt8(ascii: "\t") {
                columns.append(
                    isNull
                        ? TupleData.Column(kind: .null, range: start..<start)
                        : TupleData.Column(kind: .text, range: start..<storage.count))
                if index == end { break }
                index += 1
                start = storage.count
                isNull = false
                continue
            }
            let byte = line[index]
            guard byte == UInt8(ascii: "\\") else {
                storage.append(byte)
                index += 1
                continue
            }
            guard index + 1 < end else { throw .truncated(field: "COPY escape", offset: index, needed: 2, available: 1) }
            let next = line[index + 1]
            index += 2
            switch next {
            case UInt8(ascii: "N") where storage.count == start && (index == end || line[index] == UInt8(ascii: "\t")):
                isNull = true
            case UInt8(ascii: "b"): storage.append(0x08)
            case UInt8(ascii: "f"): storage.append(0x0C)
            case UInt8(ascii: "n"): storage.append(0x0A)
            case UInt8(ascii: "r"): storage.append(0x0D)
            case UInt8(ascii: "t"): storage.append(0x09)
            case UInt8(ascii: "v"): storage.append(0x0B)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(next - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, index < end, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "7") {
                    value = value * 8 + Int(line[index] - UInt8(ascii: "0"))
                    index += 1
                    digits += 1
                }
                storage.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                var value = 0
                var digits = 0
                while digits < 2, index < end, let digit = hexDigit(line[index]) {
                    value = value * 16 + digit
                    index += 1
                    digits += 1
                }
                guard digits > 0 else { throw .invalidLength(field: "COPY \\x escape", value: 0, offset: index) }
                storage.append(UInt8(value))
            default:
                storage.append(next)
            }
        }
        guard columns.count == columnCount else {
            throw .invalidLength(field: "COPY row column count (expected \(columnCount))", value: columns.count, offset: 0)
        }
        return (storage, columns)
    }

    private static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}
