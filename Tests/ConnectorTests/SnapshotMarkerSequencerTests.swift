import PGOutput
import Testing

@testable import Connector

/// Debezium's `source.snapshot` markers, given to rows as parallel readers deliver them.
@Suite struct SnapshotMarkerSequencerTests {
    static let a = TableName(schema: "public", name: "a")
    static let b = TableName(schema: "public", name: "b")

    static func row(_ text: String) -> TupleData { TupleData(text: [text]) }

    /// Plays arrivals (`"0:a1"` = row a1 of unit 0, `"end 0"` = unit 0 read to the end) and returns what comes out.
    static func play(_ tables: [TableName], _ arrivals: [String]) -> [String] {
        var sequencer = SnapshotMarkerSequencer<TupleData>(tables: tables)
        var out: [String] = []
        func record(_ steps: [SnapshotMarkerSequencer<TupleData>.Step]) {
            for step in steps {
                switch step {
                case .emit(_, let row, let marker): out.append("\(row.text(0) ?? "?") \(marker.rawValue)")
                case .complete(let unit): out.append("done \(unit)")
                }
            }
        }
        for arrival in arrivals {
            if arrival.hasPrefix("end ") {
                record(sequencer.finish(unit: Int(arrival.dropFirst(4))!))
            } else {
                let parts = arrival.split(separator: ":")
                if let previous = sequencer.add(row(String(parts[1])), unit: Int(parts[0])!) {
                    out.append("\(previous.row.text(0) ?? "?") \(previous.marker.rawValue)")
                }
            }
        }
        record(sequencer.end())
        return out
    }

    @Test func oneTableRunsFromFirstInDataCollectionToLast() {
        #expect(
            Self.play([Self.a], ["0:a1", "0:a2", "0:a3", "end 0"]) == [
                "a1 first_in_data_collection", "a2 true", "a3 last", "done 0",
            ])
    }

    /// The last row of a table that finished first waits for the next table, so only the very last row is `last`.
    @Test func twoTablesInterleavedEndWithOneLast() {
        #expect(
            Self.play([Self.a, Self.b], ["0:a1", "1:b1", "1:b2", "0:a2", "end 1", "end 0"]) == [
                "b1 first_in_data_collection", "a1 first_in_data_collection",
                "b2 last_in_data_collection", "done 1", "a2 last", "done 0",
            ])
    }

    /// A range that ends while others of its table are still read does not hold the table's last row.
    @Test func rangesOfOneTableShareTheTablesMarkers() {
        #expect(
            Self.play([Self.a, Self.a], ["0:a1", "1:a9", "0:a2", "end 0", "1:a10", "end 1"]) == [
                "a1 first_in_data_collection", "a2 true", "done 0", "a9 true", "a10 last", "done 1",
            ])
    }

    @Test func anEmptyUnitCompletesAtOnce() {
        #expect(Self.play([Self.a, Self.b], ["end 0", "1:b1", "end 1"]) == ["done 0", "b1 last", "done 1"])
    }
}
