import Foundation
import Logging
import PGOutput
import Testing

@testable import Connector

/// What the slot guard does with the record it keeps: stands by for a peer, follows its position, acts on a loss
/// as `on_slot_lost` says, and records confirmations before they are sent.
@Suite struct SlotGuardTests {
    static let system = "7000000000000000001"

    static func config(_ postgres: String = "", mode: String = "initial") -> ConnectorConfig {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-guard-\(UUID())").path
        return try! ConnectorConfigLoader(environment: [:]).parse(
            """
            name: guarded
            postgres: {url: "postgresql://x/db", slot: s1, tables: [public.items]\(postgres)}
            kafka: {bootstrap_servers: embedded, topic_prefix: p}
            snapshot: {mode: \(mode), state_directory: \(directory)}
            """, file: "test.yaml")
    }

    static func guarded(_ config: ConnectorConfig) throws -> SlotGuard {
        try SlotGuard(config: config, metrics: ConnectorMetrics(connector: config.name), logger: Logger(label: "test"))
    }

    static func observation(_ slot: SlotObservation.Slot?, timeline: Int = 1) -> SlotObservation {
        SlotObservation(systemIdentifier: system, timeline: timeline, databaseName: "db", slot: slot)
    }

    /// Starts once at 0/100, as a first start with a new slot does, and returns the guard and its config.
    static func started() throws -> (SlotGuard, ConnectorConfig) {
        let config = config()
        var guarded = try guarded(config)
        let first = observation(nil)
        #expect(try guarded.admit(first, nowNanos: 0) == SlotGuard.Recovery())
        try guarded.started(
            first, at: SourcePosition(databaseName: "db", start: LSN(0x100), slotCreated: true), nowNanos: 0)
        return (guarded, config)
    }

    @Test func aFirstStartIsRecordedAndConfirmationsAreSavedOnlyForward() throws {
        var (guarded, config) = try Self.started()
        #expect(guarded.record?.confirmedLSN == LSN(0x100))
        try guarded.confirming(LSN(0x200), nowNanos: 1_000_000_000)
        try guarded.confirming(LSN(0x180), nowNanos: 2_000_000_000)
        let saved = try #require(try SlotRecordStore(directory: config.snapshot.stateDirectory, connector: "guarded").load())
        #expect(saved.confirmedLSN == LSN(0x200))
        #expect(saved.confirmedAt == "1970-01-01T00:00:01Z")
    }

    @Test func aSlotHeldByAPeerIsFollowedAndStoodBy() throws {
        let (_, config) = try Self.started()
        var next = try Self.guarded(config)
        let held = Self.observation(.init(confirmedFlush: LSN(0x900), activePID: 42, heldBySameConnector: true))
        #expect {
            _ = try next.admit(held, nowNanos: 0)
        } throws: { error in
            (error as? ConnectorError)?.kind == .slotInUse && "\(error)".contains("another instance of this connector")
        }
        #expect(next.record?.confirmedLSN == LSN(0x900) && next.record?.peerStreaming == true)

        // Another program holding the slot moves nothing.
        var other = try Self.guarded(config)
        let foreign = Self.observation(.init(confirmedFlush: LSN(0x999), activePID: 43))
        #expect(throws: ConnectorError.self) { _ = try other.admit(foreign, nowNanos: 0) }
        #expect(other.record?.confirmedLSN == LSN(0x900))
    }

    @Test(arguments: [
        ("", nil), (", on_slot_lost: snapshot", SlotGuard.Recovery(snapshot: true, replaceSlot: false)),
        (", on_slot_lost: accept_gap", SlotGuard.Recovery(snapshot: false, replaceSlot: false)),
    ])
    func aMissingSlotFollowsOnSlotLost(setting: String, recovery: SlotGuard.Recovery?) throws {
        let (_, first) = try Self.started()
        var config = Self.config(setting)
        config.snapshot.stateDirectory = first.snapshot.stateDirectory
        var guarded = try Self.guarded(config)
        if let recovery {
            #expect(try guarded.admit(Self.observation(nil), nowNanos: 0) == recovery)
        } else {
            #expect {
                _ = try guarded.admit(Self.observation(nil), nowNanos: 0)
            } throws: { error in
                (error as? ConnectorError)?.kind == .configuration && "\(error)".contains("postgres.on_slot_lost: snapshot")
            }
        }
    }

    @Test func anInvalidatedSlotIsReplacedWhenItIsReadAgain() throws {
        let (_, first) = try Self.started()
        var config = Self.config(", on_slot_lost: snapshot")
        config.snapshot.stateDirectory = first.snapshot.stateDirectory
        var guarded = try Self.guarded(config)
        let invalidated = Self.observation(.init(confirmedFlush: LSN(0x100), invalidation: "wal_removed"))
        #expect(try guarded.admit(invalidated, nowNanos: 0) == SlotGuard.Recovery(snapshot: true, replaceSlot: true))
    }
}
