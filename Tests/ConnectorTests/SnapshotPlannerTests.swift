import PGOutput
import Testing

@testable import Connector

/// How a snapshot is split among readers, and how a resumed one skips what Kafka holds.
@Suite struct SnapshotPlannerTests {
    static let table = TableName(schema: "public", name: "big")
    static let relation = Relation(
        oid: 1, namespace: "public", name: "big", replicaIdentity: .default,
        columns: [.init(isKey: true, name: "id", typeOID: 23, typeModifier: -1)])

    @Test func smallTablesAndSingleReadersReadWhole() {
        #expect(SnapshotPlanner.ranges(pages: 4_095, threads: 4, rangePages: 2_048) == nil)
        #expect(SnapshotPlanner.ranges(pages: 1_000_000, threads: 1, rangePages: 2_048) == nil)
    }

    @Test func aLargeTableIsSplitIntoUpToFourRangesPerReaderWithAnOpenEnd() throws {
        let two = try #require(SnapshotPlanner.ranges(pages: 4_096, threads: 4, rangePages: 2_048))
        #expect(two == [.init(lower: 0, upper: 2_048), .init(lower: 2_048, upper: nil)])
        let many = try #require(SnapshotPlanner.ranges(pages: 1_000_000, threads: 2, rangePages: 2_048))
        #expect(many.count == 8)
        #expect(many.first?.lower == 0 && many.last?.upper == nil)
        #expect(zip(many, many.dropFirst()).allSatisfy { $0.upper == $1.lower }, "the ranges meet, with no gap")
    }

    @Test func aSplitTableIsRecordedAndAnOverriddenOneIsReadByItsQuery() throws {
        let planner = SnapshotPlanner(threads: 2, rangePages: 2_048)
        var state = SnapshotState(slot: "s")
        let units = planner.units(for: Self.table, relation: Self.relation, query: nil, previous: nil, state: &state) {
            100_000
        }
        #expect(units.count == 8 && units.map(\.rangeIndex) == Array(0..<8))
        #expect(state.ranges["public.big"]?.count == 8 && state.rangesDone["public.big"] == [])

        var other = SnapshotState(slot: "s")
        var asked = false
        let query = planner.units(
            for: Self.table, relation: Self.relation, query: "SELECT * FROM big WHERE id > 10", previous: nil, state: &other
        ) {
            asked = true
            return 100_000
        }
        #expect(query.count == 1 && query[0].query == "SELECT * FROM big WHERE id > 10" && query[0].pages == nil)
        #expect(!asked && other.ranges.isEmpty, "an overridden table is not measured or split")
    }

    /// A resumed table keeps its ranges and skips the ones Kafka already holds, without measuring it again.
    @Test func aResumedTableReadsOnlyItsUnfinishedRanges() {
        let planner = SnapshotPlanner(threads: 2, rangePages: 2_048)
        let ranges: [SnapshotState.PageRange] = [
            .init(lower: 0, upper: 10), .init(lower: 10, upper: 20), .init(lower: 20, upper: nil),
        ]
        let previous = SnapshotState(slot: "s", ranges: ["public.big": ranges], rangesDone: ["public.big": [2, 0]])
        var state = SnapshotState(slot: "s")
        var asked = false
        let units = planner.units(for: Self.table, relation: Self.relation, query: nil, previous: previous, state: &state) {
            asked = true
            return 1
        }
        #expect(units.map(\.rangeIndex) == [1])
        #expect(units.first?.pages?.lower == 10 && units.first?.pages?.upper == 20)
        #expect(!asked)
        #expect(state.ranges["public.big"] == ranges && state.rangesDone["public.big"] == [0, 2])
    }

    @Test func aSplitTableIsDoneOnceEveryRangeIsAndAWholeTableAtOnce() {
        var state = SnapshotState(slot: "s")
        state.ranges["public.big"] = [.init(lower: 0, upper: 10), .init(lower: 10, upper: nil)]
        state.rangesDone["public.big"] = []
        func range(_ index: Int) -> SnapshotWork {
            SnapshotWork(table: Self.table, relation: Self.relation, pages: (0, nil), query: nil, rangeIndex: index)
        }
        state.markDone(range(1))
        #expect(state.rangesDone["public.big"] == [1] && state.tablesDone.isEmpty)
        state.markDone(range(0))
        #expect(state.tablesDone == ["public.big"])
        #expect(state.ranges["public.big"] == nil && state.rangesDone["public.big"] == nil, "a done table keeps no ranges")

        let small = TableName(schema: "public", name: "small")
        state.markDone(SnapshotWork(table: small, relation: Self.relation, pages: nil, query: nil, rangeIndex: nil))
        #expect(state.tablesDone == ["public.big", "public.small"])
    }
}
