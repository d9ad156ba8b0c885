import DequeModule
import Foundation
import PGOutput

/// One unit of snapshot reading: a table, or a range of its pages.
struct SnapshotWork: Sendable {
    var table: TableName
    var relation: Relation
    /// Pages `[lower, upper)`; nil upper = to the end; nil = the whole table.
    var pages: (lower: Int64, upper: Int64?)?
    /// A user's query instead of the table (snapshot.select_overrides).
    var query: String?
    /// The range's index among the table's ranges, when the table is split.
    var rangeIndex: Int?
}

/// Batches of raw COPY rows from the reading threads to the pipeline thread, bounded: a full
/// channel blocks the readers, so memory stays bounded however large the tables.
final class SnapshotRowChannel: @unchecked Sendable {
    enum Item {
        case rows(work: Int, lines: [[UInt8]])
        case finished(work: Int)
        case failed(any Error)
    }

    private let condition = NSCondition()
    private var items: Deque<Item> = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Blocks while full; false once the channel is closed (the reader should stop).
    func push(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits up to `timeout` for an item.
    func pop(timeout: Duration) -> Item? {
        condition.lock()
        defer { condition.unlock() }
        if items.isEmpty {
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(timeout / .milliseconds(1)) / 1000))
        }
        guard let item = items.popFirst() else { return nil }
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}

/// Reading threads: each owns one snapshot connection and takes work until none is left.
final class SnapshotWorkers: @unchecked Sendable {
    private let channel: SnapshotRowChannel
    private let work: [SnapshotWork]
    private let next = NSLock()
    private var nextIndex = 0
    private let done = DispatchGroup()

    init(readers: [any SnapshotSource], work: [SnapshotWork], channel: SnapshotRowChannel) {
        self.channel = channel
        self.work = work
        for (number, reader) in readers.enumerated() {
            done.enter()
            // Each reader moves to exactly one thread and is used only there from now on.
            let owned = OwnedReader(reader: reader)
            let thread = Thread { [self] in
                read(with: owned.reader)
                owned.reader.close()
                done.leave()
            }
            thread.name = "snapshot-\(number)"
            thread.start()
        }
    }

    private func take() -> Int? {
        next.lock()
        defer { next.unlock() }
        guard nextIndex < work.count else { return nil }
        defer { nextIndex += 1 }
        return nextIndex
    }

    private func read(with reader: any SnapshotSource) {
        do {
            while let index = take() {
                let item = work[index]
                try reader.startCopy(item.relation, pages: item.pages, query: item.query)
                var batch: [[UInt8]] = []
                batch.reserveCapacity(512)
                while let line = try reader.nextRow() {
                    batch.append(line)
                    if batch.count == 512 {
                        guard channel.push(.rows(work: index, lines: batch)) else { return }
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                if !batch.isEmpty { guard channel.push(.rows(work: index, lines: batch)) else { return } }
                guard channel.push(.finished(work: index)) else { return }
            }
        } catch {
            _ = channel.push(.failed(error))
        }
    }

    /// Waits for every reading thread to end (after the work ran out or the channel closed).
    func wait() {
        done.wait()
    }
}

/// A reader handed over to the one thread that uses it from then on.
private struct OwnedReader: @unchecked Sendable {
    let reader: any SnapshotSource
}
