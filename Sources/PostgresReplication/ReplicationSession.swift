public import PGOutput

/// A logical replication connection (`replication=database`) streaming one slot with pgoutput.
///
/// - Important: use from one thread only; libpq calls block that thread. Once streaming, a thread of
///   the session's own reads the socket (`StreamReader`); `readFrame` takes what it read.
public final class ReplicationSession {
    /// What `IDENTIFY_SYSTEM` says about the server.
    public struct SystemIdentity: Sendable {
        public var systemID: String
        public var timeline: Int
        public var walPosition: LSN
        public var databaseName: String
    }

    private let connection: LibpqConnection
    public private(set) var isStreaming = false
    /// Reads the stream on its own thread once it started.
    private var reader: StreamReader?

    public init(settings: ConnectionSettings) throws(PostgresError) {
        connection = try LibpqConnection(conninfo: settings.conninfo, overrides: settings.overrides(replication: true))
    }

    deinit {
        // A session dropped without close() must not leave its reading thread behind.
        reader?.stop()
    }

    public func identifySystem() throws(PostgresError) -> SystemIdentity {
        let rows = try connection.query("IDENTIFY_SYSTEM")
        guard let row = rows.first, row.count >= 4, let position = row[2].flatMap({ LSN($0) }) else {
            throw PostgresError(.protocolViolation, "IDENTIFY_SYSTEM returned an unexpected row")
        }
        guard let database = row[3] else {
            throw PostgresError(.configuration, "the replication connection is not bound to a database (replication=database)")
        }
        return SystemIdentity(
            systemID: row[0] ?? "", timeline: Int(row[1] ?? "") ?? 0, walPosition: position, databaseName: database)
    }

    /// Creates a logical slot with pgoutput and returns its consistent point and, when asked, the name of a
    /// snapshot of the database at that point.
    ///
    /// - Important: an exported snapshot stays importable only while this session runs no other command:
    ///   import it (`SnapshotReader.begin(snapshotName:)`) before `startReplication`.
    /// - Parameter failover: a failover slot (PostgreSQL 17+), which standbys with `sync_replication_slots` copy.
    public func createSlot(
        _ name: String, exportSnapshot: Bool = false, failover: Bool = false
    ) throws(PostgresError) -> (
        consistentPoint: LSN, snapshotName: String?
    ) {
        let rows = try connection.query(
            "CREATE_REPLICATION_SLOT \(try connection.quoteIdentifier(name)) LOGICAL pgoutput "
                + "(SNAPSHOT '\(exportSnapshot ? "export" : "nothing")'\(failover ? ", FAILOVER true" : ""))")
        guard let point = rows.first?[1].flatMap({ LSN($0) }) else {
            throw PostgresError(.protocolViolation, "CREATE_REPLICATION_SLOT returned no consistent point")
        }
        return (point, exportSnapshot ? rows.first?[2] ?? nil : nil)
    }

    /// Makes an existing slot a failover slot, or an ordinary one (`ALTER_REPLICATION_SLOT`, PostgreSQL 17+).
    public func alterSlot(_ name: String, failover: Bool) throws(PostgresError) {
        try connection.query("ALTER_REPLICATION_SLOT \(try connection.quoteIdentifier(name)) (FAILOVER \(failover))")
    }

    /// Starts streaming from the slot's confirmed position (`0/0` asks the server to use it).
    ///
    /// - Parameter binary: pgoutput's `binary` option (PostgreSQL 14+): values in their types' send format.
    public func startReplication(
        slot: String, publication: String, from position: LSN = .zero, binary: Bool = false
    ) throws(PostgresError) {
        let publicationList = try connection.quoteLiteral(try connection.quoteIdentifier(publication))
        let command =
            "START_REPLICATION SLOT \(try connection.quoteIdentifier(slot)) LOGICAL \(position) "
            + "(proto_version '1', publication_names \(publicationList), messages 'true'\(binary ? ", binary 'true'" : ""))"
        try connection.startCopyBoth(command)
        isStreaming = true
        reader = StreamReader(connection: connection)
    }

    /// The next frame from the server, or nil if none arrived within the timeout.
    public func readFrame(timeoutMilliseconds: Int) throws(PostgresError) -> [UInt8]? {
        try streaming().next(timeoutMilliseconds: timeoutMilliseconds)
    }

    public func send(_ status: StandbyStatusUpdate) throws(PostgresError) {
        let bytes = status.encoded()
        try streaming().withConnection { connection throws(PostgresError) in try connection.writeCopyData(bytes) }
    }

    private func streaming() throws(PostgresError) -> StreamReader {
        guard let reader else { throw PostgresError(.protocolViolation, "the replication stream is not started") }
        return reader
    }

    /// Ends the stream cleanly (CopyDone) and closes the connection.
    public func close() {
        reader?.stop()
        reader = nil
        if isStreaming {
            connection.endCopy(drainMilliseconds: 2000)
            isStreaming = false
        }
        connection.close()
    }
}
