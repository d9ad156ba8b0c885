import Connector
import Foundation
import PGOutput
import Testing

/// Whether a slot continues what the connector last confirmed, decided from the record and what the server has.
@Suite struct SlotContinuityTests {
    static let record = SlotRecord(
        slot: "tributary_shop", systemIdentifier: "7300000000000000001", timeline: 1, database: "shop",
        confirmedLSN: LSN(0x0300_0000), confirmedAt: "2026-11-30T01:02:03Z")

    static func server(
        system: String = "7300000000000000001", timeline: Int = 1, slot: SlotObservation.Slot?
    ) -> SlotObservation {
        SlotObservation(systemIdentifier: system, timeline: timeline, databaseName: "shop", slot: slot)
    }

    static func check(
        _ server: SlotObservation, record: SlotRecord? = record, slot: String = "tributary_shop"
    )
        -> SlotContinuity
    {
        SlotContinuity.check(record: record, slot: slot, server: server)
    }

    @Test func withoutARecordItIsAFirstStartWhateverTheServerHas() {
        #expect(Self.check(Self.server(slot: nil), record: nil) == .firstStart)
        #expect(Self.check(Self.server(slot: .init(confirmedFlush: LSN(1))), record: nil) == .firstStart)
    }

    @Test func aSlotAtOrBeforeTheRecordedPositionContinues() {
        #expect(Self.check(Self.server(slot: .init(confirmedFlush: LSN(0x0300_0000)))) == .continues)
        // The record is written before each status update, so the slot is often a little behind it.
        #expect(Self.check(Self.server(slot: .init(confirmedFlush: LSN(0x02FF_0000)))) == .continues)
        // A promoted standby's synchronised copy of the slot continues too.
        #expect(Self.check(Self.server(timeline: 2, slot: .init(confirmedFlush: LSN(0x02FF_0000)))) == .continues)
    }

    @Test func aMissingSlotIsLostFromTheRecordedPosition() throws {
        let verdict = Self.check(Self.server(timeline: 2, slot: nil))
        guard case .lost(let loss) = verdict else {
            Issue.record("expected a loss, got \(verdict)")
            return
        }
        #expect(loss.reason == .missing)
        #expect(!loss.slotMustBeReplaced)
        let message = loss.description
        #expect(message.contains("replication slot tributary_shop does not exist"))
        #expect(message.contains("after 0/3000000, which this connector confirmed at 2026-11-30T01:02:03Z"))
        #expect(message.contains("timeline went from 1 to 2"))
    }

    @Test func aSlotMovedPastTheRecordLeavesAGapUpToWhereItIs() throws {
        guard case .lost(let loss) = Self.check(Self.server(slot: .init(confirmedFlush: LSN(0x0400_0000)))) else {
            Issue.record("expected a loss")
            return
        }
        #expect(loss.reason == .advanced(LSN(0x0400_0000)))
        #expect(loss.description.contains("confirms 0/4000000"))
        #expect(loss.description.contains("up to 0/4000000"))
    }

    /// A standby saw another instance of the connector streaming: the slot moved on with that instance, not past it.
    @Test func aSlotAdvancedByAPeerInstanceContinues() throws {
        var record = Self.record
        record.peerStreaming = true
        #expect(Self.check(Self.server(slot: .init(confirmedFlush: LSN(0x0900_0000))), record: record) == .continues)
        #expect(Self.check(Self.server(slot: nil), record: record) != .continues, "a missing slot is lost all the same")
    }

    @Test func anInvalidatedSlotIsLostAndMustBeReplaced() throws {
        let server = Self.server(slot: .init(confirmedFlush: LSN(0x0200_0000), invalidation: "wal_removed"))
        guard case .lost(let loss) = Self.check(server) else {
            Issue.record("expected a loss")
            return
        }
        #expect(loss.reason == .invalidated("wal_removed"))
        #expect(loss.slotMustBeReplaced)
        #expect(loss.description.contains("invalidated by the server (wal_removed: the WAL it needed was removed"))
    }

    @Test func anotherClusterCannotContinueEvenWithASlotOfTheSameName() throws {
        let server = Self.server(system: "7400000000000000009", slot: .init(confirmedFlush: LSN(0x10)))
        guard case .lost(let loss) = Self.check(server) else {
            Issue.record("expected a loss")
            return
        }
        #expect(loss.reason == .otherSystem)
        #expect(loss.description.contains("7400000000000000009"))
        #expect(loss.description.contains("7300000000000000001"))
    }

    @Test func aRenamedSlotIsComparedWithWhatTheOldOneConfirmed() throws {
        guard case .lost(let loss) = Self.check(Self.server(slot: nil), slot: "shop_v2") else {
            Issue.record("expected a loss")
            return
        }
        #expect(loss.description.contains("postgres.slot was tributary_shop when the connector last streamed; it is shop_v2 now"))
    }

    @Test func theRecordSurvivesItsFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("slot-record-\(UUID().uuidString)").path
        let store = SlotRecordStore(directory: directory, connector: "shop")
        #expect(try store.load() == nil)
        try store.save(Self.record)
        #expect(try store.load() == Self.record)
        let text = try String(contentsOfFile: store.path, encoding: .utf8)
        #expect(text.contains("\"confirmed_lsn\" : \"0/3000000\""))
        try "{\"slot\": 1}".write(toFile: store.path, atomically: true, encoding: .utf8)
        #expect(throws: ConnectorError.self) { try store.load() }
    }

    @Test func theDefaultActionIsTheSafeOneForTheSnapshotMode() {
        #expect(ConnectorConfig.SlotLostAction.default(for: .noData) == .fail)
        #expect(ConnectorConfig.SlotLostAction.default(for: .initial) == .fail)
        #expect(ConnectorConfig.SlotLostAction.default(for: .initialOnly) == .fail)
        #expect(ConnectorConfig.SlotLostAction.default(for: .whenNeeded) == .snapshot)
        #expect(ConnectorConfig.SlotLostAction.default(for: .always) == .snapshot)
    }
}
