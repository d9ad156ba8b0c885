public import ChangeEvents
public import PGOutput

/// Where changes come from: a PostgreSQL replication slot, seen through the few calls the pipeline makes.
///
/// - Important: every call is made from the pipeline's thread, one at a time.
public protocol ChangeSource: AnyObject {
    /// Connects, checks prerequisites and prepares the publication; says what the server has of the slot
    /// (throwing `slotInUse` while another process streams from it) without creating or changing it.
    func inspect() throws(ConnectorError) -> SlotObservation
    /// Creates the slot when it is missing (after dropping it when `replacingSlot`: one the server invalidated),
    /// ready to stream. When it creates the slot and `exportSnapshot` is set, the position names a snapshot of the
    /// database at the slot's consistent point. Called once, after `inspect`.
    func open(exportSnapshot: Bool, replacingSlot: Bool) throws(ConnectorError) -> SourcePosition
    /// Starts streaming from the slot (after any snapshot: it ends the exported snapshot).
    func startStreaming() throws(ConnectorError)
    /// The tables a snapshot reads: the configured ones, or every table of the publication.
    func snapshotTables() throws(ConnectorError) -> [TableName]
    /// A new connection for reading tables in a snapshot.
    func makeSnapshotReader() throws(ConnectorError) -> any SnapshotSource
    /// The next CopyData payload of the stream, or nil when none arrived within the timeout.
    func nextFrame(timeoutMilliseconds: Int) throws(ConnectorError) -> [UInt8]?
    func send(_ status: StandbyStatusUpdate) throws(ConnectorError)
    /// Catalog facts about a relation, read when its Relation message arrives.
    func tableMetadata(relationOID: UInt32) throws(ConnectorError) -> TableMetadata
    /// Runs `actionQuery`, or emits a transactional logical message, so that the slot sees a change to confirm.
    func heartbeat(actionQuery: String?) throws(ConnectorError)
    /// How much WAL the slot holds back on the server; nil when the slot is gone.
    func slotHealth() throws(ConnectorError) -> SlotHealth?
    /// Tables the file's lists capture that the publication does not hold: ones created since a `filtered`
    /// publication was set at the start.
    func unpublishedTables() throws(ConnectorError) -> [TableName]
    /// Ends the stream cleanly and disconnects.
    func close()
    /// Writes a logical message into the WAL in a transaction of its own (an incremental snapshot's watermark): the
    /// stream brings it back at its place among the commits.
    func emitWatermark(prefix: String, content: String) throws(ConnectorError)
}

extension ChangeSource {
    public func emitWatermark(prefix: String, content: String) throws(ConnectorError) {
        throw ConnectorError(.configuration, "this source cannot write watermarks, so it cannot run incremental snapshots")
    }
}

/// The prefixes of an incremental snapshot's watermarks (logical messages the pipeline consumes); the content is the
/// chunk's id.
public let incrementalSnapshotOpenPrefix = "__tributary_incremental_open"
public let incrementalSnapshotClosePrefix = "__tributary_incremental_close"

/// The prefix of the logical messages a heartbeat emits; the pipeline consumes them without producing events.
public let heartbeatMessagePrefix = "__tributary_heartbeat"

/// A slot's WAL retention, from `pg_replication_slots`.
public struct SlotHealth: Sendable, Equatable {
    /// `wal_status` values, as PostgreSQL names them.
    public static let walStatuses = ["reserved", "extended", "unreserved", "lost"]
    /// `pg_current_wal_lsn() - restart_lsn`: WAL the server keeps for this slot.
    public var retainedBytes: UInt64
    /// reserved, extended, unreserved or lost.
    public var walStatus: String
    /// Bytes that can still be written before the slot is in danger of losing WAL; nil without `max_slot_wal_keep_size`.
    public var safeWALSize: Int64?

    public init(retainedBytes: UInt64, walStatus: String, safeWALSize: Int64?) {
        self.retainedBytes = retainedBytes
        self.walStatus = walStatus
        self.safeWALSize = safeWALSize
    }
}

/// Where streaming starts.
public struct SourcePosition: Sendable {
    public var databaseName: String
    /// The slot's confirmed position (or its consistent point when just created).
    public var start: LSN
    public var slotCreated: Bool
    /// The snapshot exported with the slot at its consistent point, if one was asked for.
    public var snapshotName: String?

    public init(databaseName: String, start: LSN, slotCreated: Bool, snapshotName: String? = nil) {
        self.databaseName = databaseName
        self.start = start
        self.slotCreated = slotCreated
        self.snapshotName = snapshotName
    }
}

/// Reads tables for a snapshot over a connection of its own.
///
/// - Important: every call is made from the pipeline's thread, one at a time.
public protocol SnapshotSource: AnyObject {
    /// Opens a repeatable-read transaction in the named snapshot (or a fresh one); returns its transaction id.
    func begin(snapshotName: String?) throws(ConnectorError) -> UInt32?
    /// Opens a repeatable-read transaction and takes its snapshot at once, with no transaction id (nothing written):
    /// returns it as `pg_current_snapshot()` writes it.
    func beginVisible() throws(ConnectorError) -> String
    /// Whether the server is a standby (in recovery).
    func isStandby() throws(ConnectorError) -> Bool
    /// The server's WAL position now: written (a primary) or replayed (a standby).
    func walPosition() throws(ConnectorError) -> LSN
    /// The table's columns as a Relation message would describe them (those the publication sends).
    func relation(for table: TableName) throws(ConnectorError) -> Relation
    /// Every column of the table, published or not (what column filters are checked against).
    func allColumns(of table: TableName) throws(ConnectorError) -> [String]
    /// The publication's row filter of the table (PostgreSQL 15+), which snapshot reads apply too.
    func rowFilter(for table: TableName) throws(ConnectorError) -> String?
    /// The planner's row estimate for progress reports.
    func estimatedRows(_ table: TableName) throws(ConnectorError) -> Int64
    /// Exports the current transaction's snapshot so other readers can share it; returns its name.
    func exportSnapshot() throws(ConnectorError) -> String
    /// The table's size in pages (`pg_class.relpages`), for splitting it into ranges.
    func pageCount(_ table: TableName) throws(ConnectorError) -> Int64
    /// Starts reading the relation's rows in `ctid` order, each followed by its `ctid` (of pages `[lower, upper)` when
    /// given), or those `query` returns (without a ctid); then `nextRow` until nil.
    func startCopy(_ relation: Relation, pages: (lower: Int64, upper: Int64?)?, query: String?) throws(ConnectorError)
    /// One row in COPY text format, or nil when the table is done.
    func nextRow() throws(ConnectorError) -> [UInt8]?
    func close()
}

/// Where events go: a Kafka producer, seen through the few calls the pipeline makes.
public protocol EventSink: AnyObject {
    /// Queues one event. Throws `EventSinkError.queueFull` when the queue has no room, and
    /// `EventSinkError.refused` when Kafka would refuse it whatever happens (larger than `message.max.bytes`).
    func send(_ event: ChangeEvent, token: UInt64) throws(EventSinkError)
    /// Waits up to the timeout for delivery reports and hands each to `onDelivery`.
    func poll(timeoutMilliseconds: Int, _ onDelivery: (Delivery) -> Void)
    /// Events queued and not yet reported.
    var outstanding: Int { get }
    /// Before a session reads Kafka back: waits up to the timeout for what earlier sessions queued to be reported, then
    /// drops what is left, so that little of it can land after the read (each dropped event is reported as failed).
    /// The reports go to `onDelivery`.
    func settle(timeoutMilliseconds: Int, _ onDelivery: (Delivery) -> Void)
    /// The `__tributary.position` header of the last record this connector wrote (the header names it) to each
    /// partition of each topic, nil for a partition holding none; topics that do not exist are left out.
    func lastPositionHeaders(topics: [String]) throws(ConnectorError) -> [String: [[UInt8]?]]
}

/// The outcome of one event sent.
public struct Delivery: Sendable {
    public var token: UInt64
    /// Key and value bytes, as counted when it was sent.
    public var bytes: Int
    /// nil when Kafka acknowledged the event.
    public var failure: SinkFailure?

    public init(token: UInt64, bytes: Int, failure: SinkFailure? = nil) {
        self.token = token
        self.bytes = bytes
        self.failure = failure
    }
}

/// Kafka did not take an event.
public struct SinkFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Kafka refuses this event for good (too large, not authorized, invalid): sending it again cannot help.
    /// Otherwise (timed out, broker gone) the session restarts and the event is read again from the slot.
    public var isPermanent: Bool
    /// The event as sent, for `errors.mode` skip and dead_letter.
    public var event: ChangeEvent
    /// librdkafka's error code, when Kafka gave one.
    public var code: Int32?

    public init(message: String, isPermanent: Bool, event: ChangeEvent, code: Int32? = nil) {
        self.message = message
        self.isPermanent = isPermanent
        self.event = event
        self.code = code
    }

    public var description: String { "\(message) (topic \(event.topic))" }
}

public enum EventSinkError: Error, Sendable {
    /// The producer's queue is full; poll and send again.
    case queueFull
    /// Kafka would refuse the event for good; nothing was queued.
    case refused(SinkFailure)
    /// The producer cannot send (it failed fatally and was replaced): the session restarts from the slot.
    case failed(ConnectorError)
}

/// A source or sink failure, classified by what the connector does next.
public struct ConnectorError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// Lost connection, server restarting, slot busy: back off and reconnect.
        case transient
        /// A setting on the server or in the file must change: report `failed`, keep retrying slowly.
        case configuration
        /// Another instance streams from the slot (PostgreSQL allows one reader): wait as a standby.
        case slotInUse
    }

    /// The code the failing side gave, kept as data: what decides `kind`, never the message's words (the
    /// server's `lc_messages` may not be English).
    public enum Code: Sendable, Equatable {
        /// PostgreSQL's five-character SQLSTATE.
        case sqlState(String)
        /// librdkafka's `rd_kafka_resp_err_t`.
        case kafka(Int32)
    }

    public var kind: Kind
    public var message: String
    public var code: Code?

    public init(_ kind: Kind, _ message: String, code: Code? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    public var description: String { message }
}
