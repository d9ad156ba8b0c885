import ChangeEvents
import PGOutput

/// Which records a session replaying from the slot must not write again: those at or below the position of the last
/// record this connector wrote to the partition they go to.
///
/// One idempotent producer appends each partition in send order, and a replay writes the same records at the same
/// positions, so a partition holds exactly the replayed records at or below its last position and none above it. Two
/// things break that prefix, and the guard leaves them alone: a record Kafka refused or never acknowledged (a gap:
/// from the lowest such position on, nothing is skipped), and a record whose partition cannot be known here (a
/// keyless record under a partitioner that scatters them). Pure: the pipeline reads the tails and sends.
struct ReplayGuard {
    /// Per topic, the position of each partition's last record of this connector (nil: none).
    private let tails: [String: [EventPosition?]]
    /// The highest position in Kafka: past it the replay is over and the guard is dropped.
    let highest: EventPosition
    /// The lowest position whose delivery failed and is not yet confirmed: nothing from it on is skipped.
    private let gapFrom: EventPosition?
    /// Whether a keyless record's partition follows from its key (librdkafka's `murmur2`), or is chosen at random.
    private let keylessPartitionKnown: Bool

    init(tails: [String: [EventPosition?]], gapFrom: EventPosition?, keylessPartitionKnown: Bool) {
        self.tails = tails
        self.gapFrom = gapFrom
        self.keylessPartitionKnown = keylessPartitionKnown
        highest = tails.values.lazy.flatMap { $0 }.compactMap { $0 }.max() ?? .snapshot
    }

    /// Whether Kafka already holds this record, written at `position` (never a snapshot row: snapshots keep their own
    /// resume rule).
    func holds(topic: String, key: [UInt8]?, partition explicit: Int32?, at position: EventPosition) -> Bool {
        guard !position.isSnapshot, position <= highest else { return false }
        if let gapFrom, position >= gapFrom { return false }
        guard let partitions = tails[topic],
            let partition = KeyPartitioner.partition(
                key: key, explicit: explicit, count: partitions.count, keylessKnown: keylessPartitionKnown),
            let tail = partitions[partition]
        else { return false }
        return position <= tail
    }

    /// Partitioners whose choice for a key the guard can work out; with another, nothing is skipped.
    static func partitioner(_ properties: [(String, String)]) -> (known: Bool, keyless: Bool) {
        switch properties.last(where: { $0.0 == "partitioner" })?.1 ?? "murmur2" {
        case "murmur2": (true, true)
        case "murmur2_random": (true, false)
        default: (false, false)
        }
    }
}

extension KeyPartitioner {
    /// The partition a record goes to among `count`: the one a transform chose, else its key's; nil when there is no
    /// such partition, or a keyless record's is chosen at random (`keylessKnown` false).
    static func partition(key: [UInt8]?, explicit: Int32?, count: Int, keylessKnown: Bool) -> Int? {
        let partition: Int
        if let explicit {
            partition = Int(explicit)
        } else {
            guard count > 0, key != nil || keylessKnown else { return nil }
            partition = Self.partition(key: key, count: count)
        }
        return partition >= 0 && partition < count ? partition : nil
    }
}

/// What the replay guard needs kept between runs, in `<state_directory>/<name>.kafka.json`: every topic the connector
/// has written (saved before its first record goes out, so a crash cannot leave a topic out), and the lowest position
/// whose delivery failed since the last confirmed one.
struct ReplayLedger: Codable, Equatable {
    var topics: [String] = []
    /// `EventPosition` as `lsn:order` text, nil when every failure has been confirmed past.
    var gapFrom: String?

    var gapPosition: EventPosition? {
        guard let gapFrom, let colon = gapFrom.lastIndex(of: ":"), let lsn = LSN(gapFrom[..<colon]),
            let order = UInt32(gapFrom[gapFrom.index(after: colon)...])
        else { return nil }
        return EventPosition(lsn: lsn, order: order)
    }

    static func text(_ position: EventPosition) -> String { "\(position.lsn):\(position.order)" }
}
