import ChangeEvents
import Testing

/// A snapshot row's `ctid` as COPY writes it, read once per row.
@Suite struct SnapshotRowMarkTests {
    @Test(
        arguments: [
            ("(0,1)", 0, 1), ("(12,34)", 12, 34), ("(4294967295,65535)", 4_294_967_295, 65535),
        ] as [(String, UInt32, UInt16)])
    func aTIDReadsAsItsPageAndItem(text: String, page: UInt32, item: UInt16) {
        let place = SnapshotRowMark.parseTID(ArraySlice(text.utf8))
        #expect(place?.page == page)
        #expect(place?.item == item)
    }

    @Test(arguments: ["", "(1,2", "1,2)", "(,1)", "(1,)", "(1;2)", "(4294967296,1)", "(1,65536)", "(1,2,3)", "(a,1)"])
    func anythingElseIsNotATID(text: String) {
        #expect(SnapshotRowMark.parseTID(ArraySlice(text.utf8)) == nil)
    }
}
