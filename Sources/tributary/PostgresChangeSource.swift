import ChangeEvents
import Connector
import Logging
import PGOutput
import PostgresReplication

/// Joins `PostgresReplication` to the pipeline: prerequisites, publication, slot, stream and catalog.
final class PostgresChangeSource: ChangeSource {
    private let config: ConnectorConfig
    private let logger: Logger
    private var catalog: CatalogClient?
    private var session: ReplicationSession?
    /// What `inspect` found, for `open`.
    private var existingSlot: CatalogClient.SlotInfo?
    private var identity: ReplicationSession.SystemIdentity?
    /// The server is a standby (decoding there, PostgreSQL 16+).
    private var isStandby = false

    init(config: ConnectorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    private var settings: ConnectionSettings {
        ConnectionSettings(
            conninfo: config.postgres.url, password: config.postgres.password, applicationName: applicationName)
    }

    /// What the server shows as this connector's `application_name`; another instance of the connector shows the same.
    private var applicationName: String { "tributary_\(config.name)" }

    func inspect() throws(ConnectorError) -> SlotObservation {
        do {
            return try prepare()
        } catch {
            throw Self.classify(error)
        }
    }

    func open(exportSnapshot: Bool, replacingSlot: Bool) throws(ConnectorError) -> SourcePosition {
        guard let catalog, let session, let identity else {
            throw ConnectorError(.transient, "open() before inspect(): the connections are not open")
        }
        do {
            if replacingSlot, existingSlot != nil {
                try catalog.dropSlot(config.postgres.slot)
                logger.warning("dropped the invalidated replication slot", metadata: ["slot": "\(config.postgres.slot)"])
                existingSlot = nil
            }
            if let existingSlot {
                if config.postgres.failoverSlot && !existingSlot.failover {
                    try session.alterSlot(config.postgres.slot, failover: true)
                    logger.notice(
                        "made the replication slot a failover slot (postgres.failover_slot)",
                        metadata: ["slot": "\(config.postgres.slot)"])
                }
                return SourcePosition(
                    databaseName: identity.databaseName, start: existingSlot.confirmedFlush ?? .zero, slotCreated: false)
            }
            if isStandby {
                let message =
                    "creating the replication slot on a standby: it is ready once the primary logs its running "
                    + "transactions (every 15 s while the primary is busy; SELECT pg_log_standby_snapshot() on the "
                    + "primary hurries it)"
                logger.info("\(message)", metadata: ["slot": "\(config.postgres.slot)"])
            }
            let (start, snapshotName) = try session.createSlot(
                config.postgres.slot, exportSnapshot: exportSnapshot, failover: config.postgres.failoverSlot)
            logger.info(
                "created replication slot", metadata: ["slot": "\(config.postgres.slot)", "consistent_point": "\(start)"])
            return SourcePosition(
                databaseName: identity.databaseName, start: start, slotCreated: true, snapshotName: snapshotName)
        } catch {
            throw Self.classify(error)
        }
    }

    func startStreaming() throws(ConnectorError) {
        guard let session else { throw ConnectorError(.transient, "replication connection is not open") }
        if config.postgres.pgoutputBinary {
            let version: Int?
            do { version = try catalog?.serverVersion() } catch { throw Self.classify(error) }
            if let version, version < 140000 {
                throw ConnectorError(
                    .configuration,
                    "postgres.pgoutput_binary needs PostgreSQL 14 or later (pgoutput's binary option); this server is "
                        + "\(version / 10000): remove it")
            }
        }
        do {
            try session.startReplication(
                slot: config.postgres.slot, publication: config.postgres.publication, binary: config.postgres.pgoutputBinary)
            // Streaming, the slot is the lock: another instance finds it active.
            try catalog?.unlockConnector(slot: config.postgres.slot)
            // From here on a catalog query runs on the pipeline's thread between frames: a server that stopped
            // answering must end the session, not hold it.
            catalog?.queryTimeout = config.postgres.receiveTimeout
        } catch {
            throw Self.classify(error)
        }
    }

    func snapshotTables() throws(ConnectorError) -> [TableName] {
        guard let catalog else { throw ConnectorError(.transient, "catalog connection is not open") }
        if !config.postgres.tables.isEmpty { return config.postgres.tables }
        do {
            return try catalog.publicationTables(config.postgres.publication)
        } catch {
            throw Self.classify(error)
        }
    }

    func makeSnapshotReader() throws(ConnectorError) -> any SnapshotSource {
        do {
            return PostgresSnapshotSource(
                reader: try SnapshotReader(settings: settings, publication: config.postgres.publication))
        } catch {
            throw Self.classify(error)
        }
    }

    private func prepare() throws(PostgresError) -> SlotObservation {
        let catalog = try CatalogClient(settings: settings)
        self.catalog = catalog
        let prerequisites = try catalog.prerequisites()
        try prerequisites.require()
        isStandby = prerequisites.isStandby
        try checkServerRole(prerequisites, catalog)
        let mode: CatalogClient.PublicationMode =
            switch config.postgres.publicationMode {
            case .filtered: .filtered
            case .allTables: .allTables
            case .existing: .existing
            }
        var tables = config.postgres.tables
        let filter = TableFilter(config.postgres)
        if mode == .filtered && filter.hasPatterns {
            // Debezium's filtered mode: the publication holds the tables that match when the connector starts.
            tables = try catalog.userTables().filter(filter.captures)
            guard !tables.isEmpty else {
                throw PostgresError(
                    .configuration,
                    "no table of the database passes postgres.tables and the include/exclude lists, so publication_mode "
                        + "filtered has nothing to publish; check the lists (regular expressions matched whole, ignoring case)")
            }
        }
        if mode == .filtered, let signals = config.signals.dataCollection, !tables.contains(signals) {
            // The signal table's inserts are read from the stream (Debezium adds it to a filtered publication too).
            tables.append(signals)
        }
        var columnLists: [TableName: [String]] = [:]
        if mode == .filtered && !config.postgres.columnFilter.isEmpty {
            columnLists = try publishedColumns(tables, catalog)
        }
        if let stray = config.postgres.rowFilters.keys.first(where: { !tables.contains($0) }) {
            throw PostgresError(
                .configuration, "postgres.row_filters names \(stray), which the connector does not capture; remove it")
        }
        let outcome = try catalog.preparePublication(
            config.postgres.publication, mode: mode, tables: tables, columnLists: columnLists,
            rowFilters: mode == .filtered ? config.postgres.rowFilters : [:],
            generatedColumns: config.postgres.publishGeneratedColumns)
        logger.info("\(outcome)")

        let database = try catalog.currentDatabase()
        let existing = try catalog.slot(config.postgres.slot)
        if let slot = existing {
            guard slot.slotType == "logical", slot.plugin == "pgoutput" else {
                throw PostgresError(
                    .configuration,
                    "replication slot \(config.postgres.slot) uses plugin \(slot.plugin ?? slot.slotType), not pgoutput; "
                        + "drop it (SELECT pg_drop_replication_slot('\(config.postgres.slot)')) or set postgres.slot to another name"
                )
            }
            if isStandby && slot.synced {
                throw PostgresError(
                    .configuration,
                    "replication slot \(config.postgres.slot) on this standby is the primary's failover slot, copied by "
                        + "slot synchronisation, and can be streamed only once the standby is promoted: point postgres.url "
                        + "at the primary (list both hosts with target_session_attrs=read-write to follow a promotion), "
                        + "or set postgres.slot to another name to decode on the standby itself")
            }
            guard slot.database == database else {
                throw PostgresError(
                    .configuration,
                    "replication slot \(config.postgres.slot) belongs to database \(slot.database ?? "?"), not \(database); "
                        + "set postgres.slot to another name")
            }
        }
        // Another process streaming from the slot: whether it is another instance of this connector decides how the
        // pipeline's record follows the slot while it stands by.
        let heldBySameConnector =
            try existing?.activePID.map { pid throws(PostgresError) in
                try catalog.replicationApplicationName(pid: pid) == applicationName
            } ?? false
        existingSlot = existing
        let lockHolder = try catalog.lockConnector(slot: config.postgres.slot)
        let session = try ReplicationSession(settings: settings)
        self.session = session
        let identity = try session.identifySystem()
        self.identity = identity
        return SlotObservation(
            systemIdentifier: identity.systemID, timeline: identity.timeline, databaseName: identity.databaseName,
            slot: existing.map {
                SlotObservation.Slot(
                    confirmedFlush: $0.confirmedFlush, invalidation: $0.invalidation, activePID: $0.activePID,
                    heldBySameConnector: heldBySameConnector)
            }, lockHolderPID: lockHolder)
    }

    func nextFrame(timeoutMilliseconds: Int) throws(ConnectorError) -> [UInt8]? {
        guard let session else { throw ConnectorError(.transient, "replication stream is not open") }
        do {
            return try session.readFrame(timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw ConnectorError(.transient, "replication stream: \(error)", code: error.sqlState.map { .sqlState($0) })
        }
    }

    func send(_ status: StandbyStatusUpdate) throws(ConnectorError) {
        guard let session else { throw ConnectorError(.transient, "replication stream is not open") }
        do {
            try session.send(status)
        } catch {
            throw ConnectorError(.transient, "standby status update: \(error)", code: error.sqlState.map { .sqlState($0) })
        }
    }

    /// What the server's role (primary or standby) allows of the file: a failover slot is made on a primary of
    /// PostgreSQL 17+; a standby takes no writes, so no heartbeat messages.
    private func checkServerRole(_ server: ServerPrerequisites, _ catalog: CatalogClient) throws(PostgresError) {
        if config.postgres.failoverSlot {
            guard server.serverVersion >= 170000 else {
                throw PostgresError(
                    .configuration,
                    "postgres.failover_slot needs PostgreSQL 17 or later, and the server is \(server.serverVersion / 10000); "
                        + "remove it, or upgrade")
            }
            guard !server.isStandby else {
                throw PostgresError(
                    .configuration,
                    "postgres.failover_slot: the server is a standby, and a failover slot is made on the primary (a "
                        + "standby copies it with sync_replication_slots); point postgres.url at the primary (list both hosts "
                        + "with target_session_attrs=read-write to follow a promotion)")
            }
            if (try catalog.setting("synchronized_standby_slots") ?? "").isEmpty {
                let message =
                    "postgres.failover_slot: synchronized_standby_slots is empty on the primary, so the connector can "
                    + "receive changes a standby has not: after a failover Kafka may hold changes the promoted server "
                    + "never had. Set it to the standby's physical slot (docs/operations.md, Failover)"
                logger.warning("\(message)")
            }
        }
        if server.isStandby && config.heartbeat.interval != nil {
            throw PostgresError(
                .configuration,
                "heartbeat.interval: the server is a standby, which takes no writes, so heartbeats (a logical message or "
                    + "heartbeat.action_query) cannot run there; remove heartbeat from the file (the standby's keepalives "
                    + "move the slot on)")
        }
    }

    /// The column lists a managed publication gets from the column filter, so that left-out columns never leave the
    /// database: for each table with such columns, unless its replica identity needs them (PostgreSQL refuses the
    /// table's updates and deletes when a column list misses an identity column; `REPLICA IDENTITY FULL` needs them
    /// all): the connector then leaves them out itself, and says so. Column lists need PostgreSQL 15.
    private func publishedColumns(
        _ tables: [TableName], _ catalog: CatalogClient
    ) throws(PostgresError) -> [TableName: [String]] {
        let version = try catalog.serverVersion()
        var lists: [TableName: [String]] = [:]
        for table in tables {
            let (columns, identity) = try catalog.publishableColumns(
                table, storedGenerated: config.postgres.publishGeneratedColumns)
            let excluded = config.postgres.columnFilter.excluded(table: table, columns: columns)
            guard !excluded.isEmpty else { continue }
            let where_ = "\(excluded.map { "\(table).\($0)" }.joined(separator: ", "))"
            if version < 150000 {
                logger.info(
                    "\("PostgreSQL \(version / 10000) has no publication column lists (15 has): the connector leaves out \(where_) itself")"
                )
            } else if let identity, !excluded.contains(where: identity.contains) {
                lists[table] = columns.filter { !excluded.contains($0) }
            } else {
                let them = excluded.count == 1 ? "it" : "them"
                let message =
                    "\(table)'s replica identity \(identity == nil ? "is FULL and holds" : "holds") \(where_), so the "
                    + "publication cannot leave \(them) out (PostgreSQL would refuse the table's updates and deletes): "
                    + "the connector leaves \(them) out of the events itself"
                logger.info("\(message)")
            }
        }
        return lists
    }

    func tableMetadata(relationOID: UInt32) throws(ConnectorError) -> TableMetadata {
        guard let catalog else { throw ConnectorError(.transient, "catalog connection is not open") }
        do {
            let facts = try catalog.tableMetadata(relationOID: relationOID)
            return TableMetadata(primaryKey: facts.primaryKey, notNull: facts.notNull, types: facts.types)
        } catch {
            throw Self.classify(error)
        }
    }

    func heartbeat(actionQuery: String?) throws(ConnectorError) {
        guard let catalog else { throw ConnectorError(.transient, "catalog connection is not open") }
        do {
            if let actionQuery {
                try catalog.execute(actionQuery)
            } else {
                try catalog.emitMessage(prefix: heartbeatMessagePrefix, content: config.name)
            }
        } catch {
            throw Self.classify(error)
        }
    }

    func emitWatermark(prefix: String, content: String) throws(ConnectorError) {
        guard let catalog else { throw ConnectorError(.transient, "catalog connection is not open") }
        do {
            // A transaction of its own: its commit flushes the WAL, so the walsender sends it at once (a non-transactional
            // message waits for the WAL writer), and it takes its place among the commits, as a watermark must.
            try catalog.emitMessage(prefix: prefix, content: content, transactional: true)
        } catch {
            throw Self.classify(error)
        }
    }

    func slotHealth() throws(ConnectorError) -> SlotHealth? {
        guard let catalog else { throw ConnectorError(.transient, "catalog connection is not open") }
        do {
            return try catalog.slotRetention(config.postgres.slot).map {
                SlotHealth(retainedBytes: $0.retainedBytes, walStatus: $0.walStatus, safeWALSize: $0.safeWALSize)
            }
        } catch {
            throw Self.classify(error)
        }
    }

    func unpublishedTables() throws(ConnectorError) -> [TableName] {
        guard let catalog else { throw ConnectorError(.transient, "catalog connection is not open") }
        do {
            let published = Set(try catalog.publicationTables(config.postgres.publication))
            let filter = TableFilter(config.postgres)
            return try catalog.userTables().filter { filter.captures($0) && !published.contains($0) }
        } catch {
            throw Self.classify(error)
        }
    }

    func close() {
        session?.close()
        session = nil
        catalog?.close()
        catalog = nil
    }

    /// Sorts a PostgreSQL failure by what the connector does next, from its kind and SQLSTATE; the SQLSTATE goes along.
    static func classify(_ error: PostgresError) -> ConnectorError {
        let code = error.sqlState.map { ConnectorError.Code.sqlState($0) }
        // object_in_use: another walsender streams from the slot.
        if error.sqlState == "55006" { return ConnectorError(.slotInUse, error.description, code: code) }
        let message = withConnectorFileKeys(error)
        switch error.kind {
        case .configuration:
            return ConnectorError(.configuration, message, code: code)
        case .query where !error.isRetriable:
            return ConnectorError(.configuration, message, code: code)
        default:
            return ConnectorError(.transient, message, code: code)
        }
    }

    /// The error's message with what to change in the connector file: the PostgreSQL layer knows no key names.
    static func withConnectorFileKeys(_ error: PostgresError) -> String {
        switch error.problem {
        case .tableMissing:
            return "\(error.description); or remove it from postgres.tables (or the table lists)"
        case .publicationMissing:
            return "\(error.description), or set postgres.publication_mode to filtered or all_tables"
        case .publicationForAllTables:
            return "\(error.description), or set postgres.publication_mode to all_tables"
        case .publicationWithoutTables:
            return "\(error.description): list them in postgres.tables, or set postgres.publication_mode to all_tables"
        case .unanswered:
            return "\(error.description); if the server is only slow, raise postgres.receive_timeout"
        case nil:
            return error.description
        }
    }
}

/// Joins `SnapshotReader` to the pipeline.
final class PostgresSnapshotSource: SnapshotSource {
    private let reader: SnapshotReader

    init(reader: SnapshotReader) {
        self.reader = reader
    }

    /// Runs a reader call, turning its `PostgresError` into the pipeline's `ConnectorError`.
    private func classified<T>(_ body: () throws(PostgresError) -> T) throws(ConnectorError) -> T {
        do {
            return try body()
        } catch {
            throw PostgresChangeSource.classify(error)
        }
    }

    func begin(snapshotName: String?) throws(ConnectorError) -> UInt32? {
        try classified { () throws(PostgresError) in try reader.begin(snapshotName: snapshotName) }
    }

    func allColumns(of table: TableName) throws(ConnectorError) -> [String] {
        try classified { () throws(PostgresError) in try reader.allColumns(of: table) }
    }

    func rowFilter(for table: TableName) throws(ConnectorError) -> String? {
        try classified { () throws(PostgresError) in try reader.rowFilter(table) }
    }

    func beginVisible() throws(ConnectorError) -> String {
        try classified { () throws(PostgresError) in try reader.beginVisible() }
    }

    func isStandby() throws(ConnectorError) -> Bool {
        try classified { () throws(PostgresError) in try reader.isStandby() }
    }

    func walPosition() throws(ConnectorError) -> LSN {
        try classified { () throws(PostgresError) in try reader.walPosition() }
    }

    func relation(for table: TableName) throws(ConnectorError) -> Relation {
        try classified { () throws(PostgresError) in try reader.relation(for: table) }
    }

    func estimatedRows(_ table: TableName) throws(ConnectorError) -> Int64 {
        try classified { () throws(PostgresError) in try reader.estimatedRows(table) }
    }

    func exportSnapshot() throws(ConnectorError) -> String {
        try classified { () throws(PostgresError) in try reader.exportSnapshot() }
    }

    func pageCount(_ table: TableName) throws(ConnectorError) -> Int64 {
        try classified { () throws(PostgresError) in try reader.pageCount(table) }
    }

    func startCopy(_ relation: Relation, pages: (lower: Int64, upper: Int64?)?, query: String?) throws(ConnectorError) {
        try classified { () throws(PostgresError) in try reader.startCopy(relation, pages: pages, query: query) }
    }

    func nextRow() throws(ConnectorError) -> [UInt8]? { try classified { () throws(PostgresError) in try reader.nextRow() } }

    func close() {
        reader.close()
    }
}
