import PGOutput
import Testing

@Suite struct CopyTextRowTests {
    @Test func tabsSeparateColumnsAndBackslashNIsNull() throws {
        // As `COPY (SELECT 1, NULL::text, 'a b', '') TO STDOUT` writes it.
        let row = try CopyTextRow.decode(Array("1\t\\N\ta b\t\n".utf8), columnCount: 4)
        #expect(row.text(0) == "1")
        #expect(row.columns[1].kind == .null)
        #expect(row.text(2) == "a b")
        #expect(row.text(3) == "")
    }

    @Test func escapesAreResolved() throws {
        // `E'tab\there'`, `E'line\nbreak'`, `'back\slash'`, a literal `\N` text value.
        let row = try CopyTextRow.decode(Array("tab\\there\tline\\nbreak\tback\\\\slash\t\\\\N\t\\101\\x42".utf8), columnCount: 5)
        #expect(row.text(0) == "tab\there")
        #expect(row.text(1) == "line\nbreak")
        #expect(row.text(2) == "back\\slash")
        #expect(row.text(3) == "\\N")
        #expect(row.text(4) == "AB")
    }

    /// A snapshot's rows end with their ctid, read apart; a row without escapes keeps its line as its storage.
    @Test func aTrailingColumnIsReadApart() throws {
        let (row, trailing) = try CopyTextRow.decodeWithTrailing(Array("7\tname 7\t\t(0,3)\n".utf8), columnCount: 3)
        #expect(row.count == 3 && row.text(0) == "7" && row.text(1) == "name 7" && row.text(2) == "")
        #expect(row.columns.allSatisfy { $0.kind == .text })
        #expect(Array(row.storage[trailing.range]) == Array("(0,3)".utf8))
        let escaped = try CopyTextRow.decodeWithTrailing(Array("\\N\ta\\tb\t(12,1)".utf8), columnCount: 2)
        #expect(escaped.row.count == 2 && escaped.row.columns[0].kind == .null && escaped.row.text(1) == "a\tb")
        #expect(Array(escaped.row.storage[escaped.trailing.range]) == Array("(12,1)".utf8))
        #expect(throws: PGOutputError.self) { try CopyTextRow.decodeWithTrailing(Array("1\t(0,1)".utf8), columnCount: 2) }
    }

    @Test func aWrongColumnCountIsAnError() {
        #expect(throws: PGOutputError.self) { try CopyTextRow.decode(Array("1\t2".utf8), columnCount: 3) }
        #expect(throws: PGOutputError.self) { try CopyTextRow.decode(Array("1\\".utf8), columnCount: 1) }
    }
}
