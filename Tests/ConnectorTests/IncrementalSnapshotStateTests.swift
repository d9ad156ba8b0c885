import PGOutput
import Testing

@testable import Connector

/// Signals read as Debezium reads them, and the incremental snapshot's window (DBLog's watermarks) on its own.
@Suite struct IncrementalSnapshotStateTests {
    @Test func signalsAreReadAsDebeziumDefinesThem() throws {
        let execute = try SignalAction(
            Signal(
                id: "1", type: "execute-snapshot",
                data: #"{"data-collections": ["public.orders", " public\\.o.* "], "type": "INCREMENTAL", "#
                    + #""additional-conditions": [{"data-collection": "public.orders", "filter": "id > 5"}]}"#))
        #expect(
            execute
                == .executeSnapshot(
                    .init(
                        patterns: ["public.orders", #"public\.o.*"#],
                        conditions: [.init(pattern: "public.orders", filter: "id > 5")], surrogateKey: nil)))
        #expect(try SignalAction(Signal(id: "2", type: "stop-snapshot", data: nil)) == .stopSnapshot(patterns: nil))
        #expect(try SignalAction(Signal(id: "3", type: "pause-snapshot", data: "")) == .pauseSnapshot)
        #expect(try SignalAction(Signal(id: "4", type: "log", data: #"{"message": "hi"}"#)) == .log("hi"))
        for (type, data, reason) in [
            ("execute-snapshot", "{not json", "not a JSON object"),
            ("execute-snapshot", #"{"data-collections": []}"#, "needs data-collections"),
            ("execute-snapshot", #"{"data-collections": [1]}"#, "list of strings"),
            ("execute-snapshot", #"{"data-collections": ["t"], "type": "blocking"}"#, "blocking snapshots"),
            ("explode", "{}", "unknown"),
            ("log", "{}", "needs a message"),
        ] {
            #expect {
                _ = try SignalAction(Signal(id: "x", type: type, data: data))
            } throws: { "\($0)".contains(reason) }
        }
        #expect(SignalAction.matches(#"public\.o.*"#, TableName(schema: "public", name: "Orders")) == true)
        #expect(SignalAction.matches("public.orders", TableName(schema: "public", name: "orders_old")) == false)
        #expect(SignalAction.matches("(", TableName(schema: "public", name: "x")) == nil)
    }

    static func row(_ id: Int, _ v: String) -> (key: IncrementalSnapshot.Key, row: TupleData) {
        (["\(id)"], TupleData(text: ["\(id)", v]))
    }

    /// Rows the stream changes inside the window are dropped; before the window opens, and for other tables, they stay;
    /// the next chunk starts after the last key read, dropped or not.
    @Test func theWindowDropsRowsTheStreamChanged() {
        let items = TableName(schema: "public", name: "items")
        var snapshot = IncrementalSnapshot()
        snapshot.add([.init(name: items), .init(name: TableName(schema: "public", name: "tags"))])
        #expect(snapshot.current?.name == items)
        snapshot.keyColumns = ["id"]
        snapshot.maximumKey = ["9"]
        snapshot.chunkRead(id: "c1", rows: [Self.row(1, "a"), Self.row(2, "b"), Self.row(3, "c")])
        let early = snapshot.changed(items, key: ["2"])
        #expect(!early, "before the window opens the stream's change is older")
        let foreign = snapshot.watermark(id: "other", closing: false)
        #expect(foreign == nil)
        let opened = snapshot.watermark(id: "c1", closing: false)
        #expect(opened == nil && snapshot.window?.isOpen == true)
        let dropped = snapshot.changed(items, key: ["3"])
        #expect(dropped)
        let otherTable = snapshot.changed(TableName(schema: "public", name: "tags"), key: ["1"])
        #expect(!otherTable)
        let sent = snapshot.watermark(id: "c1", closing: true)
        #expect(sent?.map { $0.text(1) } == ["a", "b"])
        #expect(snapshot.lastKey == ["3"])
        #expect(snapshot.window == nil)
        let query = snapshot.chunkQuery(columns: ["id", "v"], chunkSize: 3) { "\"\($0)\"" }
        #expect(
            query
                == #"SELECT "id", "v" FROM "public"."items" WHERE ("id") > ('3') AND ("id") <= ('9') ORDER BY "id" LIMIT 3"#)
        // A chunk waiting when the table's columns change is dropped, to be read again from the same key.
        snapshot.chunkRead(id: "c2", rows: [Self.row(4, "d")])
        snapshot.discardWindow()
        #expect(snapshot.window == nil && snapshot.lastKey == ["3"] && snapshot.chunks == 1 && snapshot.rowsRead == 3)
        snapshot.nextTable()
        #expect(snapshot.current?.name.name == "tags" && snapshot.lastKey == nil && snapshot.keyColumns.isEmpty)
        snapshot.stop(nil)
        #expect(!snapshot.isRunning)
    }

    @Test func keysAndConditionsInTheQueries() {
        var snapshot = IncrementalSnapshot()
        snapshot.add([.init(name: TableName(schema: "s", name: "t"), condition: "a = 'x'")])
        snapshot.keyColumns = ["a", "b"]
        #expect(
            snapshot.maximumKeyQuery { "\"\($0)\"" }
                == #"SELECT "a", "b" FROM "s"."t" WHERE (a = 'x') ORDER BY "a" DESC, "b" DESC LIMIT 1"#)
        snapshot.maximumKey = ["it's", nil]
        #expect(
            snapshot.chunkQuery(columns: ["a", "b"], chunkSize: 10) { "\"\($0)\"" }
                == #"SELECT "a", "b" FROM "s"."t" WHERE ("a", "b") <= ('it''s', NULL) AND (a = 'x') ORDER BY "a", "b" LIMIT 10"#)
    }
}
