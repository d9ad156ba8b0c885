public import ChangeEvents
public import PGOutput

/// Where changes come from: a PostgreSQL replication slot, seen through the few calls the pipeline makes.
///
/// - Important: every call is made from the pipeline's thread, one at a time.
public protocol ChangeSource: AnyObject {
    /// Connects, checks prerequisites, prepares publication and slot. When it creates the slot and
    /// `exportSnapshot` is set, the position names a snapshot of the database at the slot's consistent point.
    func open(exportSnapshot: Bool) throws -> SourcePosition
    /// Starts streaming from the slot (after any snapshot: it ends the exported snapshot).
    func startStreaming() throws
    /// The tables a snapshot reads: the configured ones, or every table of the publication.
    func snapshotTables() throws -> [TableName]
    /// A new connection for reading tables in a snapshot.
    func makeSnapshotReader() throws -> any SnapshotSource
    /// The next CopyData payload of the stream, or nil when none arrived within the timeout.
    func nextFrame(timeoutMilliseconds: Int) throws -> [UInt8]?
    func send(_ status: StandbyStatusUpdate) throws
    /// Catalog facts about a relation, read when its Relation message arrives.
    func tableMetadata(relationOID: UInt32) throws -> TableMetadata
    /// Ends the stream cleanly and disconnects.
    func close()
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
    func begin(snapshotName: String?) throws -> UInt32?
    /// The table's columns as a Relation message would describe them.
    func relation(for table: TableName) throws -> Relation
    /// The planner's row estimate for progress reports.
    func estimatedRows(_ table: TableName) throws -> Int64
    /// Exports the current transaction's snapshot so other readers can share it; returns its name.
    func exportSnapshot() throws -> String
    /// The table's size in pages (`pg_class.relpages`), for splitting it into ranges.
    func pageCount(_ table: TableName) throws -> Int64
    /// Starts reading the relation's rows (of pages `[lower, upper)` when given, or those `query` returns);
    /// then `nextRow` until nil.
    func startCopy(_ relation: Relation, pages: (lower: Int64, upper: Int64?)?, query: String?) throws
    /// One row in COPY text format, or nil when the table is done.
    func nextRow() throws -> [UInt8]?
    func close()
}

/// Where events go: a Kafka producer, seen through the few calls the pipeline makes.
public protocol EventSink: AnyObject {
    /// Queues one event; throws `EventSinkError.queueFull` when the queue has no room.
    func send(_ event: ChangeEvent, token: UInt64) throws
    /// Waits up to the timeout for delivery reports and hands each to `onDelivery` (error nil = acknowledged).
    func poll(timeoutMilliseconds: Int, _ onDelivery: (UInt64, (any Error)?) -> Void)
    /// Events queued and not yet reported.
    var outstanding: Int { get }
}

public enum EventSinkError: Error, Sendable {
    /// The producer's queue is full; poll and send again.
    case queueFull
}

/// A source or sink failure, classified by what the connector does next.
public struct ConnectorError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// Lost connection, server restarting, slot busy: back off and reconnect.
        case transient
        /// A setting on the server or in the file must change: report `failed`, keep retrying slowly.
        case configuration
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
