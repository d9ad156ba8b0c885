import Testing

@testable import PostgresReplication

/// The stream reader's back pressure: it stops reading (and so stops the walsender) while its queue is full.
@Suite struct FrameQueueTests {
    static func batch(_ size: Int) -> [[UInt8]] { [Array(repeating: 0, count: size)] }

    @Test func aFullQueueHasNoRoomUntilABatchIsTaken() {
        var queue = FrameQueue(maxBatches: 3, maxBytes: 1_000)
        for _ in 0..<3 {
            #expect(queue.hasRoom(for: 100))
            queue.append(Self.batch(100), bytes: 100)
        }
        #expect(!queue.hasRoom(for: 1), "three batches is the limit, whatever their size")
        #expect(queue.popFirst()?.first?.count == 100)
        #expect(queue.hasRoom(for: 100) && queue.bytes == 200)
    }

    @Test func theByteLimitHoldsAndAnOversizedBatchGoesAlone() {
        var queue = FrameQueue(maxBatches: 8, maxBytes: 1_000)
        queue.append(Self.batch(600), bytes: 600)
        #expect(queue.hasRoom(for: 400) && !queue.hasRoom(for: 401))
        _ = queue.popFirst()
        #expect(queue.isEmpty && queue.bytes == 0)
        #expect(queue.hasRoom(for: 5_000), "an empty queue takes a batch larger than the limit, so reading never stalls")
        queue.append(Self.batch(5_000), bytes: 5_000)
        #expect(!queue.hasRoom(for: 1))
    }
}
