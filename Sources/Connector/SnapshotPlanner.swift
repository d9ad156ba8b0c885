import PGOutput

/// Splits a snapshot into units of work for the parallel readers: whole tables, or page ranges of a table large
/// enough to share, and a resumed table into the ranges it was split into before, less those Kafka already holds.
///
/// Pure: the table's size comes in as an argument, asked for only when it decides anything.
struct SnapshotPlanner {
    /// Readers sharing the snapshot (`snapshot.max_threads`).
    let threads: Int
    /// Tables of at least twice this many pages are split (`snapshot.range_pages`).
    let rangePages: Int

    /// The units of `table`, recording its ranges in `state`.
    ///
    /// - Parameters:
    ///   - query: `snapshot.select_overrides` for the table: it is read whole, by that query.
    ///   - previous: what an interrupted snapshot recorded.
    ///   - pages: the table's size in pages.
    func units(
        for table: TableName, relation: Relation, query: String?, previous: SnapshotState?, state: inout SnapshotState,
        pages: () throws -> Int64
    ) rethrows -> [SnapshotWork] {
        let key = table.description
        if let ranges = previous?.ranges[key], query == nil {
            // A resumed table keeps the ranges it was split into; the ones Kafka already holds are skipped.
            let done = Set(previous?.rangesDone[key] ?? [])
            state.ranges[key] = ranges
            state.rangesDone[key] = Array(done).sorted()
            return ranges.enumerated().filter { !done.contains($0.offset) }.map { index, range in
                SnapshotWork(table: table, relation: relation, pages: (range.lower, range.upper), query: nil, rangeIndex: index)
            }
        }
        guard query == nil, let ranges = Self.ranges(pages: try pages(), threads: threads, rangePages: rangePages) else {
            return [SnapshotWork(table: table, relation: relation, pages: nil, query: query, rangeIndex: nil)]
        }
        state.ranges[key] = ranges
        state.rangesDone[key] = []
        return ranges.enumerated().map { index, range in
            SnapshotWork(table: table, relation: relation, pages: (range.lower, range.upper), query: nil, rangeIndex: index)
        }
    }

    /// The page ranges of a table of `pages` pages: up to four per reader, of at least `rangePages` pages each, the
    /// last open-ended (the table may grow); nil when one reader should read it whole.
    static func ranges(pages: Int64, threads: Int, rangePages: Int) -> [SnapshotState.PageRange]? {
        let pagesPerRange = Int64(rangePages)
        guard threads > 1, pagesPerRange > 0, pages >= pagesPerRange * 2 else { return nil }
        let count = Int(min(Int64(threads * 4), pages / pagesPerRange))
        let step = pages / Int64(count)
        return (0..<count).map { index in
            let lower = Int64(index) * step
            return SnapshotState.PageRange(lower: lower, upper: index == count - 1 ? nil : lower + step)
        }
    }
}
