import ChangeEvents
import PGOutput

/// Gives snapshot reads the `source.snapshot` markers Debezium gives them, as rows arrive from parallel readers.
///
/// A row's marker is known only once the next row of its unit (a table, or a page range of one) or the unit's end
/// is seen, so each unit's newest row is held back; the last row of the most recently finished table waits for the
/// next table to finish, so that the snapshot's final row is `last`. Rows in, rows with markers out: the pipeline
/// writes and sends what comes out, in that order. `Row` is whatever the pipeline keeps of a row until then.
struct SnapshotMarkerSequencer<Row> {
    typealias Marker = ChangeEventBuilder.SnapshotMarker

    /// What the pipeline does next.
    enum Step {
        /// Write and send this row with this marker.
        case emit(unit: Int, row: Row, marker: Marker)
        /// Every row of the unit is out.
        case complete(unit: Int)
    }

    /// Each unit's table, as an index into the tables (a row is handled without hashing a table name).
    private let tableOf: [Int]
    /// Units of each table not yet read to the end.
    private var unitsLeft: [Int]
    /// Each unit's newest row, and whether it is its table's first.
    private var held: [(row: Row, first: Bool)?]
    /// Whether a row of each table has arrived.
    private var seen: [Bool]
    /// The last row of the table that finished last.
    private var finishedLast: (unit: Int, row: Row, first: Bool)?

    /// - Parameter tables: the table of each unit of work, by unit index.
    init(tables: [TableName]) {
        var indexes: [TableName: Int] = [:]
        tableOf = tables.map { table in
            if let index = indexes[table] { return index }
            indexes[table] = indexes.count
            return indexes.count - 1
        }
        unitsLeft = Array(repeating: 0, count: indexes.count)
        for table in tableOf { unitsLeft[table] += 1 }
        held = Array(repeating: nil, count: tables.count)
        seen = Array(repeating: false, count: indexes.count)
    }

    /// A row of `unit` arrived: the unit's previous row, now known not to be the table's last, goes out.
    mutating func add(_ row: Row, unit: Int) -> (row: Row, marker: Marker)? {
        let previous = held[unit].map { ($0.row, $0.first ? Marker.firstInDataCollection : .middle) }
        let table = tableOf[unit]
        held[unit] = (row, !seen[table])
        seen[table] = true
        return previous
    }

    /// `unit` was read to the end.
    mutating func finish(unit: Int) -> [Step] {
        let table = tableOf[unit]
        unitsLeft[table] -= 1
        guard let last = held[unit] else { return [.complete(unit: unit)] }
        held[unit] = nil
        if unitsLeft[table] > 0 {
            // Other ranges of the table are still being read: this is not the table's last row.
            return [
                .emit(unit: unit, row: last.row, marker: last.first ? .firstInDataCollection : .middle), .complete(unit: unit),
            ]
        }
        var steps: [Step] = []
        if let previous = finishedLast {
            steps.append(
                .emit(
                    unit: previous.unit, row: previous.row,
                    marker: previous.first ? .firstInDataCollection : .lastInDataCollection))
            steps.append(.complete(unit: previous.unit))
        }
        finishedLast = (unit, last.row, last.first)
        return steps
    }

    /// Every unit was read to the end: the final row goes out as `last`.
    mutating func end() -> [Step] {
        guard let final = finishedLast else { return [] }
        finishedLast = nil
        return [.emit(unit: final.unit, row: final.row, marker: .last), .complete(unit: final.unit)]
    }
}
