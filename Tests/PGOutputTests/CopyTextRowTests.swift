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

    @Test func aWrongColumnCountIsAnError() {
        #expect(throws: PGOutputError.self) { try CopyTextRow.decode(Array("1\t2".utf8), columnCount: 3) }
        #expect(throws: PGOutputError.self) { try CopyTextRow.decode(Array("1\\".utf8), columnCount: 1) }
    }
}
