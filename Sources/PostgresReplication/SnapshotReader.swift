public import PGOutput

/// Reads tables inside one consistent snapshot with `COPY … TO STDOUT`.
///
/// - Important: use from one thread only; `begin` before anything else, `close` at the end.
public final class SnapshotReader {
    private let connection: LibpqConnection
    /// A transaction `begin` opened is still open: the next `begin` ends it first (a BEGIN inside it would keep its
    /// snapshot).
    private var inTransaction = false

    /// The publication whose column lists the relations follow (PostgreSQL 15+), if any.
    private let publication: String?
    private var showsColumnLists: Bool?

    /// - Parameter publication: the relations hold only the columns this publication sends of each table.
    public init(settings: ConnectionSettings, publication: String? = nil) throws(PostgresError) {
        connection = try LibpqConnection(conninfo: settings.conninfo, overrides: settings.overrides(replication: false))
        self.publication = publication
    }

    /// Opens a REPEATABLE READ, READ ONLY transaction in the exported snapshot `snapshotName`, or in a fresh
    /// one when nil (ending the one opened before). Returns the transaction's id (the snapshot events' `txId`): 0 on a
    /// standby, which cannot assign one, as Debezium writes there.
    @discardableResult
    public func begin(snapshotName: String?) throws(PostgresError) -> UInt32? {
        if inTransaction { try connection.query("COMMIT") }
        try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        inTransaction = true
        // Tables and page ranges are read in ctid order (a resumed snapshot tells by it which rows Kafka holds): no
        // scan joining another's midway, no parallel workers.
        try connection.query("SET LOCAL synchronize_seqscans = off")
        try connection.query("SET LOCAL max_parallel_workers_per_gather = 0")
        if let snapshotName {
            try connection.query("SET TRANSACTION SNAPSHOT \(try connection.quoteLiteral(snapshotName))")
        }
        return try connection.query("SELECT CASE WHEN pg_is_in_recovery() THEN 0 ELSE txid_current() END").first?.first
            .flatMap {
                $0.flatMap { UInt32(truncatingIfNeeded: Int64($0) ?? 0) }
            }
    }

    /// Every column of the table but dropped and generated ones, in order, whatever the publication sends.
    public func allColumns(of table: TableName) throws(PostgresError) -> [String] {
        try connection.query(
            """
            SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            ORDER BY a.attnum
            """, [table.schema, table.name]
        ).compactMap { $0[0] }
    }

    /// The publication's row filter of the table (PostgreSQL 15+), as the server writes it; nil when it has none.
    public func rowFilter(_ table: TableName) throws(PostgresError) -> String? {
        guard let publication, try showsPublicationDetails() else { return nil }
        return try connection.query(
            "SELECT rowfilter FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
            [publication, table.schema, table.name]
        ).first?.first ?? nil
    }

    private func showsPublicationDetails() throws(PostgresError) -> Bool {
        if showsColumnLists == nil {
            let version = try connection.query("SHOW server_version_num").first?.first ?? nil
            showsColumnLists = (version.flatMap { Int($0) } ?? 0) >= 150000
        }
        return showsColumnLists == true
    }

    /// The columns the publication sends of the table (its column list, PostgreSQL 15+); nil when it does not say.
    private func publishedColumns(_ table: TableName) throws(PostgresError) -> Set<String>? {
        guard let publication, try showsPublicationDetails(),
            let row = try connection.query(
                "SELECT array_to_string(attnames, chr(31)) FROM pg_publication_tables "
                    + "WHERE pubname = $1 AND schemaname = $2 AND tablename = $3", [publication, table.schema, table.name]
            ).first, let names = row[0]
        else { return nil }
        return Set(names.split(separator: "\u{1F}").map(String.init))
    }

    /// Opens a REPEATABLE READ, READ ONLY transaction and takes its snapshot at once: returns it as
    /// `pg_current_snapshot()` writes it (`xmin:xmax:xip,…`), which tells the transactions every read that follows
    /// sees. Takes no transaction id and writes nothing.
    public func beginVisible() throws(PostgresError) -> String {
        if inTransaction { try connection.query("COMMIT") }
        try connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        inTransaction = true
        guard let snapshot = try connection.query("SELECT pg_current_snapshot()::text").first?.first ?? nil else {
            throw PostgresError(.protocolViolation, "pg_current_snapshot() returned nothing")
        }
        return snapshot
    }

    /// Whether the server is a standby (in recovery).
    public func isStandby() throws(PostgresError) -> Bool {
        try connection.query("SELECT pg_is_in_recovery()").first?.first == "t"
    }

    /// The server's WAL position now: where it has written (a primary) or replayed to (a standby).
    public func walPosition() throws(PostgresError) -> LSN {
        let text =
            try connection.query(
                "SELECT (\(CatalogClient.walPositionSQL))::text"
            ).first?.first ?? nil
        guard let text, let position = LSN(text) else {
            throw PostgresError(.protocolViolation, "the server's WAL position '\(text ?? "")' is not an LSN")
        }
        return position
    }

    /// The table's columns as a snapshot reads them, in order: those the publication sends (its column list,
    /// PostgreSQL 15+; every column without one), and generated columns always — Debezium's snapshots read them
    /// (`SELECT *`), while the stream has them only where PostgreSQL 18 publishes them (`publish_generated_columns`).
    public func relation(for table: TableName) throws(PostgresError) -> Relation {
        var rows = try connection.query(
            """
            SELECT c.oid, c.relreplident, a.attname, a.atttypid, a.atttypmod, a.attgenerated <> ''
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum
            """, [table.schema, table.name])
        guard let first = rows.first, let oid = first[0].flatMap({ UInt32($0) }) else {
            throw PostgresError(
                .configuration, "table \(table) does not exist; create it", problem: .tableMissing(table))
        }
        // Generated columns are read whether the publication sends them or not, as Debezium's snapshots read them.
        if let published = try publishedColumns(table) {
            rows = rows.filter { $0[5] == "t" || published.contains($0[2] ?? "") }
        }
        let identity = first[1].flatMap { $0.utf8.first }.flatMap { Relation.ReplicaIdentity(rawValue: $0) } ?? .default
        let columns = rows.map { row in
            Relation.Column(
                isKey: false, name: row[2] ?? "", typeOID: row[3].flatMap { UInt32($0) } ?? 0,
                typeModifier: row[4].flatMap { Int32($0) } ?? -1)
        }
        return Relation(oid: oid, namespace: table.schema, name: table.name, replicaIdentity: identity, columns: columns)
    }

    /// The planner's row estimate (`pg_class.reltuples`), 0 when unknown.
    public func estimatedRows(_ table: TableName) throws(PostgresError) -> Int64 {
        let text =
            try connection.query(
                "SELECT greatest(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE n.nspname = $1 AND c.relname = $2", [table.schema, table.name]
            ).first?.first ?? nil
        return text.flatMap { Int64($0) } ?? 0
    }

    /// Exports this transaction's snapshot for other readers (`pg_export_snapshot`).
    public func exportSnapshot() throws(PostgresError) -> String {
        guard let name = try connection.query("SELECT pg_export_snapshot()").first?.first ?? nil else {
            throw PostgresError(.protocolViolation, "pg_export_snapshot returned nothing")
        }
        return name
    }

    /// `pg_class.relpages` of the table.
    public func pageCount(_ table: TableName) throws(PostgresError) -> Int64 {
        let text =
            try connection.query(
                "SELECT c.relpages FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                [table.schema, table.name]
            ).first?.first ?? nil
        return text.flatMap { Int64($0) } ?? 0
    }

    /// Starts copying the relation's columns, in its column order, then the row's `ctid`, in `ctid` order: every row, or
    /// the rows of pages `[lower, upper)` (a TID range scan); or what `query` returns (which must yield those columns,
    /// and no ctid).
    public func startCopy(
        _ relation: Relation, pages: (lower: Int64, upper: Int64?)? = nil, query: String? = nil
    ) throws(PostgresError) {
        if let query {
            try connection.startCopyOut("COPY (\(query)) TO STDOUT")
            return
        }
        let columns = try relation.columns.map { column throws(PostgresError) in try connection.quoteIdentifier(column.name) }
        let table = "\(try connection.quoteIdentifier(relation.namespace)).\(try connection.quoteIdentifier(relation.name))"
        var conditions: [String] = []
        if let pages {
            conditions.append("ctid >= '(\(pages.lower),0)'::tid")
            if let upper = pages.upper { conditions.append("ctid < '(\(upper),0)'::tid") }
        }
        // The rows the publication sends: a snapshot reads those only.
        if let rowFilter = try rowFilter(TableName(schema: relation.namespace, name: relation.name)) {
            conditions.append("(\(rowFilter))")
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        try connection.startCopyOut(
            "COPY (SELECT \((columns + ["ctid"]).joined(separator: ", ")) FROM ONLY \(table)\(filter)) TO STDOUT")
    }

    /// The next row of the current COPY, or nil when the table is done.
    public func nextRow() throws(PostgresError) -> [UInt8]? {
        try connection.readCopyRow()
    }

    public func close() {
        try? connection.query("COMMIT")
        connection.close()
    }
}
