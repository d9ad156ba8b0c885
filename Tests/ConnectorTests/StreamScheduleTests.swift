import PGOutput
import Testing

@testable import Connector

/// The streaming session's timing rules, at chosen instants: no sleeps, no wall clock.
@Suite struct StreamScheduleTests {
    static let t0 = ContinuousClock.now

    static func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0 + .milliseconds(milliseconds) }

    static func schedule(heartbeat: Duration? = nil) -> StreamSchedule {
        StreamSchedule(statusInterval: .seconds(10), receiveTimeout: .seconds(60), heartbeatInterval: heartbeat, now: t0)
    }

    @Test func theFirstTickSendsAStatusAndChecksTheSlot() {
        var schedule = Self.schedule()
        let due = schedule.due(now: Self.t0, flush: LSN(0x10))
        #expect(due.contains(.status) && due.contains(.slotCheck) && !due.contains(.liveness))
    }

    @Test func anUnchangedPositionIsConfirmedOncePerInterval() {
        var schedule = Self.schedule()
        schedule.started(at: LSN(0x10))
        schedule.statusSent(now: Self.t0, flush: LSN(0x10))
        let r1 = schedule.due(now: Self.at(9_999), flush: LSN(0x10))
        #expect(!r1.contains(.status))
        let r2 = schedule.due(now: Self.at(10_000), flush: LSN(0x10))
        #expect(r2.contains(.status))
    }

    @Test func aMovedPositionIsConfirmedSoonButNotMoreThanTenTimesASecond() {
        var schedule = Self.schedule()
        schedule.statusSent(now: Self.t0, flush: LSN(0x10))
        let r3 = schedule.due(now: Self.at(99), flush: LSN(0x20))
        #expect(!r3.contains(.status))
        let r4 = schedule.due(now: Self.at(100), flush: LSN(0x20))
        #expect(r4.contains(.status))
        schedule.statusSent(now: Self.at(100), flush: LSN(0x20))
        let r5 = schedule.due(now: Self.at(250), flush: LSN(0x20))
        #expect(!r5.contains(.status))
    }

    /// The session's first status (or a keepalive's reply) confirms nothing new: the first acknowledgement after it is
    /// confirmed at once, not 100 ms later.
    @Test func theFirstMoveAfterAnUnchangedStatusGoesAtOnce() {
        var schedule = Self.schedule()
        schedule.started(at: LSN(0x10))
        schedule.statusSent(now: Self.t0, flush: LSN(0x10))
        let moved = schedule.due(now: Self.at(20), flush: LSN(0x20))
        #expect(moved.contains(.status))
        schedule.statusSent(now: Self.at(20), flush: LSN(0x20))
        let again = schedule.due(now: Self.at(50), flush: LSN(0x30))
        #expect(!again.contains(.status), "the next move waits out the spacing")
        let later = schedule.due(now: Self.at(120), flush: LSN(0x30))
        #expect(later.contains(.status))
    }

    @Test func livenessEverySecondAndSlotChecksAtMostEveryTenSeconds() {
        var schedule = Self.schedule()
        _ = schedule.due(now: Self.t0, flush: .zero)
        let r6 = schedule.due(now: Self.at(999), flush: .zero)
        #expect(!r6.contains(.liveness))
        let r7 = schedule.due(now: Self.at(1_000), flush: .zero)
        #expect(r7.contains(.liveness))
        let r8 = schedule.due(now: Self.at(9_999), flush: .zero)
        #expect(!r8.contains(.slotCheck))
        let r9 = schedule.due(now: Self.at(10_000), flush: .zero)
        #expect(r9.contains(.slotCheck))
        var fast = StreamSchedule(statusInterval: .seconds(1), receiveTimeout: .seconds(60), heartbeatInterval: nil, now: Self.t0)
        _ = fast.due(now: Self.t0, flush: .zero)
        let r10 = fast.due(now: Self.at(1_000), flush: .zero)
        #expect(r10.contains(.slotCheck), "a shorter status interval checks sooner")
    }

    @Test func heartbeatsRunEveryIntervalAndNeverWithoutOne() {
        var schedule = Self.schedule(heartbeat: .seconds(30))
        let r11 = schedule.heartbeatDue(now: Self.at(29_999))
        #expect(!r11)
        let r12 = schedule.heartbeatDue(now: Self.at(30_000))
        #expect(r12)
        let r13 = schedule.heartbeatDue(now: Self.at(30_001))
        #expect(!r13)
        let r14 = schedule.heartbeatDue(now: Self.at(60_000))
        #expect(r14)
        var off = Self.schedule()
        let r15 = off.heartbeatDue(now: Self.at(3_600_000))
        #expect(!r15)
    }

    @Test func theReadTimeoutEndsWhenTheNextStatusIsDue() {
        var schedule = Self.schedule()
        schedule.statusSent(now: Self.t0, flush: .zero)
        #expect(schedule.readTimeoutMilliseconds(now: Self.at(0)) == 100)
        #expect(schedule.readTimeoutMilliseconds(now: Self.at(9_950)) == 50)
        #expect(schedule.readTimeoutMilliseconds(now: Self.at(20_000)) == 1)
        #expect(schedule.readTimeoutMilliseconds(now: Self.at(0), awaitingAcknowledgements: true) == 2)
    }

    /// A quiet stream is asked for a keepalive every third of the timeout, and given up only after the whole
    /// timeout with a request unanswered for a third.
    @Test func aSilentServerIsAskedThenGivenUp() {
        var schedule = Self.schedule()
        let r16 = schedule.quiet(now: Self.t0)
        #expect(r16 == .wait)
        let r17 = schedule.quiet(now: Self.at(19_999))
        #expect(r17 == .wait)
        let r18 = schedule.quiet(now: Self.at(20_000))
        #expect(r18 == .askForKeepalive)
        let r19 = schedule.quiet(now: Self.at(30_000))
        #expect(r19 == .wait)
        let r20 = schedule.quiet(now: Self.at(40_000))
        #expect(r20 == .askForKeepalive)
        let r21 = schedule.quiet(now: Self.at(59_999))
        #expect(r21 == .wait)
        let r22 = schedule.quiet(now: Self.at(60_000))
        #expect(r22 == .giveUp)
    }

    @Test func aFrameEndsTheSilence() {
        var schedule = Self.schedule()
        _ = schedule.quiet(now: Self.t0)
        let r23 = schedule.quiet(now: Self.at(20_000))
        #expect(r23 == .askForKeepalive)
        schedule.heard()
        let r24 = schedule.quiet(now: Self.at(50_000))
        #expect(r24 == .wait, "a new silence starts")
        let r25 = schedule.quiet(now: Self.at(70_000))
        #expect(r25 == .askForKeepalive)
        let r26 = schedule.quiet(now: Self.at(109_999))
        #expect(r26 == .askForKeepalive)
        let r27 = schedule.quiet(now: Self.at(110_000))
        #expect(r27 == .wait)
    }

    /// The pipeline's own thread was held up past the whole timeout: it asks before it concludes anything.
    @Test func aHeldUpThreadAsksBeforeGivingUp() {
        var schedule = Self.schedule()
        _ = schedule.quiet(now: Self.t0)
        let r28 = schedule.quiet(now: Self.at(90_000))
        #expect(r28 == .askForKeepalive)
        let r29 = schedule.quiet(now: Self.at(100_000))
        #expect(r29 == .wait)
        let r30 = schedule.quiet(now: Self.at(110_000))
        #expect(r30 == .giveUp)
    }
}
