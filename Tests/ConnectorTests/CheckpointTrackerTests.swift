import Connector
import PGOutput
import Testing

@Suite struct CheckpointTrackerTests {
    @Test func flushStaysAtStartUntilTheFirstTransactionIsAcknowledged() {
        var tracker = CheckpointTracker(start: LSN(100))
        let token = tracker.begin()
        tracker.sent(token: token)
        tracker.sent(token: token)
        tracker.commit(token: token, endLSN: LSN(200))
        #expect(tracker.flushPosition == LSN(100))
        tracker.delivered(token: token)
        #expect(tracker.flushPosition == LSN(100))
        tracker.delivered(token: token)
        #expect(tracker.flushPosition == LSN(200))
        #expect(tracker.inFlight == 0)
    }

    @Test func aLaterTransactionAcknowledgedFirstDoesNotMoveFlushPastAnEarlierOne() {
        var tracker = CheckpointTracker(start: LSN(100))
        let first = tracker.begin()
        tracker.sent(token: first)
        tracker.commit(token: first, endLSN: LSN(200))
        let second = tracker.begin()
        tracker.sent(token: second)
        tracker.commit(token: second, endLSN: LSN(300))
        tracker.delivered(token: second)
        #expect(tracker.flushPosition == LSN(100))
        tracker.delivered(token: first)
        #expect(tracker.flushPosition == LSN(300))
    }

    @Test func anOpenTransactionHoldsTheFlushEvenWhenItsEventsAreAcknowledged() {
        var tracker = CheckpointTracker(start: LSN(100))
        let token = tracker.begin()
        tracker.sent(token: token)
        tracker.delivered(token: token)
        tracker.serverSent(upTo: LSN(500))
        #expect(tracker.flushPosition == LSN(100))
        tracker.commit(token: token, endLSN: LSN(200))
        #expect(tracker.flushPosition == LSN(500))
    }

    @Test func idleStreamFollowsKeepalives() {
        var tracker = CheckpointTracker(start: LSN(100))
        tracker.serverSent(upTo: LSN(900))
        #expect(tracker.flushPosition == LSN(900))
        tracker.serverSent(upTo: LSN(800))
        #expect(tracker.flushPosition == LSN(900))
    }

    @Test func transactionsWithoutEventsAdvanceAtCommit() {
        var tracker = CheckpointTracker(start: LSN(100))
        let token = tracker.begin()
        tracker.commit(token: token, endLSN: LSN(250))
        #expect(tracker.flushPosition == LSN(250))
    }

    @Test func keepaliveDuringInFlightEventsDoesNotPassThem() {
        var tracker = CheckpointTracker(start: LSN(100))
        let token = tracker.begin()
        tracker.sent(token: token)
        tracker.commit(token: token, endLSN: LSN(200))
        tracker.serverSent(upTo: LSN(1000))
        #expect(tracker.flushPosition == LSN(100))
        tracker.delivered(token: token)
        #expect(tracker.flushPosition == LSN(1000))
    }

    @Test func reportsForAnEarlierSessionsTokensAreIgnored() {
        var tracker = CheckpointTracker(start: LSN(100), firstToken: 50)
        let token = tracker.begin()
        #expect(token == 50)
        tracker.sent(token: token)
        tracker.commit(token: token, endLSN: LSN(200))
        tracker.delivered(token: 7)
        tracker.delivered(token: 49)
        #expect(tracker.flushPosition == LSN(100))
        #expect(tracker.inFlight == 1)
        tracker.delivered(token: 50)
        #expect(tracker.flushPosition == LSN(200))
        #expect(tracker.tokenWatermark == 51)
    }

    @Test func flushNeverMovesBackwards() {
        var tracker = CheckpointTracker(start: LSN(500))
        let token = tracker.begin()
        tracker.commit(token: token, endLSN: LSN(300))
        #expect(tracker.flushPosition == LSN(500))
    }
}

@Suite struct CheckpointTrackerAcknowledgementTests {
    @Test func aTransactionIsAcknowledgedOnItsOwnWhileAnEarlierOneWaits() {
        var tracker = CheckpointTracker(start: LSN(100))
        let first = tracker.begin()
        tracker.sent(token: first)
        let second = tracker.begin()
        tracker.sent(token: second)
        tracker.commit(token: second, endLSN: LSN(100))
        #expect(!tracker.isAcknowledged(token: second))
        tracker.delivered(token: second)
        #expect(tracker.isAcknowledged(token: second))
        #expect(!tracker.isAcknowledged(token: first))
        #expect(!tracker.isFinished(token: second))
        tracker.commit(token: first, endLSN: LSN(100))
        tracker.delivered(token: first)
        #expect(tracker.isFinished(token: first) && tracker.isFinished(token: second))
    }
}
