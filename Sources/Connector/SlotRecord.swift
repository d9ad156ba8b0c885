import Foundation
public import PGOutput

/// What a connector remembers of the slot it streams from, so that a slot lost between two runs is noticed.
///
/// Written before every standby status update that confirms a new position, so the recorded position is never
/// behind the slot's `confirmed_flush_lsn` while the slot lives: a slot found further on was moved by someone
/// else, and a slot found missing lost everything after the recorded position.
public struct SlotRecord: Codable, Equatable, Sendable {
    public var slot: String
    /// `IDENTIFY_SYSTEM`'s systemid: the same for a primary and its physical standbys, different for another cluster.
    public var systemIdentifier: String
    public var timeline: Int
    public var database: String
    /// The newest position confirmed to the server (or about to be).
    public var confirmedLSN: LSN
    /// When that position was recorded, as an ISO 8601 UTC time stamp.
    public var confirmedAt: String
    /// Another instance of this connector (a standby's peer) was streaming from the slot when this instance last
    /// looked, so the slot may have moved past `confirmedLSN` with it.
    public var peerStreaming = false

    public init(
        slot: String, systemIdentifier: String, timeline: Int, database: String, confirmedLSN: LSN, confirmedAt: String
    ) {
        self.slot = slot
        self.systemIdentifier = systemIdentifier
        self.timeline = timeline
        self.database = database
        self.confirmedLSN = confirmedLSN
        self.confirmedAt = confirmedAt
    }

    enum CodingKeys: String, CodingKey {
        case slot, timeline, database
        case systemIdentifier = "system_identifier"
        case confirmedLSN = "confirmed_lsn"
        case confirmedAt = "confirmed_at"
        case peerStreaming = "peer_streaming"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        slot = try container.decode(String.self, forKey: .slot)
        systemIdentifier = try container.decode(String.self, forKey: .systemIdentifier)
        timeline = try container.decode(Int.self, forKey: .timeline)
        database = try container.decode(String.self, forKey: .database)
        let text = try container.decode(String.self, forKey: .confirmedLSN)
        guard let lsn = LSN(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: .confirmedLSN, in: container, debugDescription: "'\(text)' is not an LSN such as 0/16B3748")
        }
        confirmedLSN = lsn
        confirmedAt = try container.decode(String.self, forKey: .confirmedAt)
        peerStreaming = try container.decodeIfPresent(Bool.self, forKey: .peerStreaming) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(slot, forKey: .slot)
        try container.encode(systemIdentifier, forKey: .systemIdentifier)
        try container.encode(timeline, forKey: .timeline)
        try container.encode(database, forKey: .database)
        try container.encode(confirmedLSN.description, forKey: .confirmedLSN)
        try container.encode(confirmedAt, forKey: .confirmedAt)
        if peerStreaming { try container.encode(peerStreaming, forKey: .peerStreaming) }
    }

    /// An ISO 8601 UTC time stamp (seconds) of a wall-clock time in nanoseconds since 1970.
    public static func timestamp(nanos: Int64) -> String {
        Date(timeIntervalSince1970: Double(nanos) / 1e9).formatted(.iso8601)
    }
}

/// Keeps `SlotRecord` in `<state_directory>/<connector>.slot.json`, replaced atomically.
public struct SlotRecordStore: Sendable {
    private let file: StateFile<SlotRecord>
    public var path: String { file.path }

    public init(directory: String, connector: String) {
        file = StateFile(directory: directory, name: "\(connector).slot.json", what: "slot record")
    }

    /// The record, or nil before the connector's first start (or when the state directory was not kept).
    public func load() throws -> SlotRecord? {
        try file.load()
    }

    public func save(_ record: SlotRecord) throws {
        try file.save(record)
    }
}
