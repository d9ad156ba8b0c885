import PGOutput
import Testing

@testable import Connector

/// The read-only incremental snapshot's watermark: which stream transactions a chunk's snapshot saw.
struct TransactionSnapshotTests {
    @Test func readsWhatPgCurrentSnapshotWrites() throws {
        let snapshot = try #require(TransactionSnapshot("725:731:726,729"))
        #expect(snapshot.xmin == 725 && snapshot.xmax == 731 && snapshot.running == [726, 729])
        #expect(snapshot.description == "725:731:726,729")
        #expect(TransactionSnapshot("729:729:") == TransactionSnapshot(xmin: 729, xmax: 729, running: []))
        for bad in ["", "1:2", "a:2:", "5:3:", "1:5:7", "1:5:0", "1:5:x", "1:2:3:4"] {
            #expect(TransactionSnapshot(bad) == nil, "\(bad)")
        }
    }

    /// Ended before the snapshot: seen; running or started after it: not.
    @Test func seesWhatHadCommitted() throws {
        let snapshot = try #require(TransactionSnapshot("725:731:726,729"))
        #expect(snapshot.sees(700) && snapshot.sees(724) && snapshot.sees(725) && snapshot.sees(727) && snapshot.sees(730))
        #expect(!snapshot.sees(726) && !snapshot.sees(729) && !snapshot.sees(731) && !snapshot.sees(5000))
    }

    /// A chunk's snapshot must see every transaction the stream has brought, or its rows are older than changes already
    /// sent. Streamed but still listed as running, or the newest one streamed before the server counted it as ended
    /// (the snapshot's xmax at or below it, so not even listed): taken again.
    @Test func aSnapshotMissingAStreamedTransactionIsTakenAgain() throws {
        let snapshot = try #require(TransactionSnapshot("725:731:726,729"))
        #expect(snapshot.seesAll([700, 725, 727, 730]))
        #expect(!snapshot.seesAll([727, 726]))
        #expect(!snapshot.seesAll([730, 731]))
        #expect(snapshot.seesAll([]))
    }

    /// pgoutput's ids are 32-bit; the snapshot's carry the epoch. Near a wraparound the nearer id is meant.
    @Test func thirtyTwoBitIdsAcrossAWraparound() {
        let epoch: UInt64 = 1 << 32
        let snapshot = TransactionSnapshot(xmin: epoch - 10, xmax: epoch + 5, running: [epoch + 2, epoch - 3])
        #expect(snapshot.fullID(3) == epoch + 3)
        #expect(snapshot.fullID(UInt32.max - 1) == epoch - 2)
        #expect(snapshot.sees(UInt32.max - 20) && snapshot.sees(UInt32.max) && snapshot.sees(4))
        #expect(!snapshot.sees(UInt32(truncatingIfNeeded: epoch - 3)) && !snapshot.sees(2) && !snapshot.sees(5))
        #expect(!snapshot.sees(100))
        // Early in the first epoch nothing maps below zero.
        #expect(TransactionSnapshot(xmin: 3, xmax: 10, running: []).fullID(UInt32.max) == 0)
    }

    /// On a standby a chunk's read sees by replay position: a transaction whose commit record starts before the
    /// position read just before the snapshot was taken; any later one counts as unseen, whatever its id.
    @Test func onAStandbyByReplayPosition() throws {
        let visibility = ChunkVisibility.replayedBefore(try #require(LSN("0/3000100")))
        #expect(visibility.sees(9999, commitLSN: try #require(LSN("0/30000F0"))))
        #expect(!visibility.sees(1, commitLSN: try #require(LSN("0/3000100"))))
        #expect(!visibility.sees(1, commitLSN: try #require(LSN("0/4000000"))))
        // On a primary the transaction id decides.
        let byID = ChunkVisibility.snapshot(try #require(TransactionSnapshot("725:731:726")))
        #expect(byID.sees(727, commitLSN: .zero) && !byID.sees(726, commitLSN: .zero))
    }
}
