import Foundation
public import PGOutput

/// A regular SQL connection for the catalog: server settings, slots, publications and table metadata.
///
/// - Important: use from one thread only.
public final class CatalogClient {
    private let connection: LibpqConnection

    public init(settings: ConnectionSettings) throws(PostgresError) {
        connection = try LibpqConnection(conninfo: settings.conninfo, overrides: settings.overrides(replication: false))
    }

    public func close() {
        connection.close()
    }

    /// How long a statement waits for the server's answer before the connection is closed; nil (the default) waits
    /// as long as it takes.
    public var queryTimeout: Duration? {
        get { connection.queryTimeout }
        set { connection.queryTimeout = newValue }
    }

    /// Runs any SQL statement (parameters as text) and returns its rows as text, nil for NULL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> [[String?]] {
        try connection.query(sql, parameters)
    }

    public func setting(_ name: String) throws(PostgresError) -> String? {
        try connection.query("SELECT current_setting($1)", [name]).first?.first ?? nil
    }

    public func currentDatabase() throws(PostgresError) -> String {
        try connection.query("SELECT current_database()").first?.first.flatMap { $0 } ?? ""
    }

    // MARK: Slots

    public struct SlotInfo: Sendable, Equatable {
        public var plugin: String?
        public var slotType: String
        public var database: String?
        public var confirmedFlush: LSN?
        public var activePID: Int?
        public var walStatus: String?
        /// Why the server invalidated the slot (`wal_removed`, `rows_removed`, …); nil while it can stream.
        public var invalidation: String?
        /// A failover slot (PostgreSQL 17+), which standbys with `sync_replication_slots` keep a copy of.
        public var failover = false
        /// A standby's copy of a primary's failover slot (PostgreSQL 17+): unusable until the standby is promoted.
        public var synced = false
    }

    public func slot(_ name: String) throws(PostgresError) -> SlotInfo? {
        // invalidation_reason, failover and synced (PostgreSQL 17) and conflicting (16) are read through to_jsonb, so that
        // the query runs on servers without those columns; wal_status 'lost' says the same on every version since 13.
        let rows = try connection.query(
            """
            SELECT plugin, slot_type, database, confirmed_flush_lsn::text, active_pid::text, wal_status,
                   coalesce(to_jsonb(s) ->> 'invalidation_reason',
                            CASE WHEN to_jsonb(s) ->> 'conflicting' = 'true' THEN 'conflicting' END,
                            CASE WHEN wal_status = 'lost' THEN 'wal_removed' END),
                   to_jsonb(s) ->> 'failover', to_jsonb(s) ->> 'synced'
            FROM pg_replication_slots s WHERE slot_name = $1
            """, [name])
        guard let row = rows.first else { return nil }
        return SlotInfo(
            plugin: row[0], slotType: row[1] ?? "", database: row[2], confirmedFlush: row[3].flatMap { LSN($0) },
            activePID: row[4].flatMap { Int($0) }, walStatus: row[5], invalidation: row[6], failover: row[7] == "true",
            synced: row[8] == "true")
    }

    /// The `application_name` of the walsender process `pid`, or nil when it is gone.
    public func replicationApplicationName(pid: Int) throws(PostgresError) -> String? {
        try connection.query("SELECT application_name FROM pg_stat_replication WHERE pid = $1", [String(pid)]).first?.first
            ?? nil
    }

    /// Takes the connector's lock for `slot` (a session advisory lock, held until `unlockConnector` or until this
    /// connection ends), so that two instances of a connector never start and snapshot at once; returns nil when taken,
    /// or the server process holding it. The server drops a dead client's connection, and its lock, within about a
    /// minute (keepalives set for this connection).
    public func lockConnector(slot: String) throws(PostgresError) -> Int? {
        for setting in [
            "tcp_keepalives_idle = 30", "tcp_keepalives_interval = 10", "tcp_keepalives_count = 3", "tcp_user_timeout = 60000",
        ] {
            try connection.query("SET \(setting)")
        }
        let key = "tributary:\(slot)"
        if try connection.query("SELECT pg_try_advisory_lock(\(Self.lockClass), hashtext($1))", [key]).first?.first == "t" {
            return nil
        }
        let holder = try connection.query(
            """
            SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = \(Self.lockClass)::oid
            AND objid = hashtext($1)::oid AND objsubid = 2
            """, [key]
        ).first?.first
        return holder.flatMap { $0.flatMap { Int($0) } } ?? 0
    }

    /// Lets go of the connector's lock (the slot, active, is the lock from here on).
    public func unlockConnector(slot: String) throws(PostgresError) {
        try connection.query("SELECT pg_advisory_unlock(\(Self.lockClass), hashtext($1))", ["tributary:\(slot)"])
    }

    /// The first key of the connector's advisory lock ('TRIB').
    static let lockClass: Int32 = 0x5452_4942

    public func dropSlot(_ name: String) throws(PostgresError) {
        try connection.query("SELECT pg_drop_replication_slot($1)", [name])
    }

    // MARK: Publications

    public enum PublicationMode: String, Sendable {
        case filtered
        case allTables = "all_tables"
        case existing
    }

    /// Whether the server is a standby (in recovery), where nothing can be written.
    public func isStandby() throws(PostgresError) -> Bool {
        try connection.query("SELECT pg_is_in_recovery()").first?.first == "t"
    }

    /// SQL for the server's WAL position now: where it has written (a primary) or replayed to (a standby, where
    /// `pg_current_wal_lsn()` fails).
    static let walPositionSQL = "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END"

    /// The server's version number (`server_version_num`, 150004 for 15.4).
    public func serverVersion() throws(PostgresError) -> Int {
        Int(try setting("server_version_num") ?? "") ?? 0
    }

    /// SQL for the column numbers (`int2[]`) of the replica identity of the table `c` (a `pg_class` row): its
    /// identity index's, its primary key's, or none (`FULL` and `NOTHING`).
    static let identityColumnNumbers = """
        coalesce((SELECT i.indkey::int2[] FROM pg_index i WHERE i.indrelid = c.oid
            AND CASE c.relreplident WHEN 'i' THEN i.indisreplident WHEN 'd' THEN i.indisprimary ELSE false END
            LIMIT 1), '{}')
        """

    /// A table's columns a publication can send (not dropped, not generated), in order, and which of them its replica
    /// identity holds (nil: `REPLICA IDENTITY FULL`, every column).
    /// - Parameter storedGenerated: stored generated columns count too (`publish_generated_columns = stored`, 18+).
    public func publishableColumns(
        _ table: TableName, storedGenerated: Bool = false
    ) throws(PostgresError) -> (columns: [String], identity: Set<String>?) {
        let rows = try connection.query(
            """
            SELECT a.attname, c.relreplident,
                   a.attnum = ANY (\(Self.identityColumnNumbers))
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                AND a.attgenerated IN ('', \(storedGenerated ? "'s'" : "''"))
            WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum
            """, [table.schema, table.name])
        let full = rows.first?[1] == "f"
        return (rows.compactMap { $0[0] }, full ? nil : Set(rows.filter { $0[2] == "t" }.compactMap { $0[0] }))
    }

    /// Makes sure the publication exists as the mode asks; returns what was done, for the log. `columnLists`: in
    /// `filtered` mode, the columns to publish of the tables that publish fewer than all (PostgreSQL 15+).
    ///
    /// - Parameter generatedColumns: the publication sends stored generated columns (`publish_generated_columns`,
    ///   PostgreSQL 18+); a publication the connector manages is made or changed so.
    public func preparePublication(
        _ name: String, mode: PublicationMode, tables: [TableName], columnLists: [TableName: [String]] = [:],
        rowFilters: [TableName: String] = [:], generatedColumns: Bool = false
    ) throws(PostgresError) -> String {
        let existing = try publicationIsForAllTables(name)
        let quotedName = try connection.quoteIdentifier(name)
        if generatedColumns && mode != .existing {
            guard try serverVersion() >= 180000 else {
                throw PostgresError(
                    .configuration,
                    "postgres.publish_generated_columns needs PostgreSQL 18 or later (publish_generated_columns); remove it")
            }
        }
        let with = generatedColumns ? " WITH (publish_generated_columns = stored)" : ""
        // An existing publication the connector manages sends generated columns as the file says (18+).
        func setGeneratedColumns() throws(PostgresError) -> Bool {
            guard try serverVersion() >= 180000,
                let current = try connection.query("SELECT pubgencols FROM pg_publication WHERE pubname = $1", [name])
                    .first?.first ?? nil,
                (current == "s") != generatedColumns
            else { return false }
            try runConfiguring(
                "ALTER PUBLICATION \(quotedName) SET (publish_generated_columns = \(generatedColumns ? "stored" : "none"))")
            return true
        }
        switch mode {
        case .existing:
            guard existing != nil else {
                throw PostgresError(
                    .configuration,
                    "publication \(name) does not exist; create it (CREATE PUBLICATION \(quotedName) FOR TABLE …)",
                    problem: .publicationMissing(name))
            }
            return "using existing publication \(name)"
        case .allTables:
            if existing == nil {
                try runConfiguring("CREATE PUBLICATION \(quotedName) FOR ALL TABLES\(with)")
                return "created publication \(name) FOR ALL TABLES"
            }
            // Turned on when asked, never off: a FOR ALL TABLES publication may serve others too.
            if generatedColumns, try setGeneratedColumns() {
                return "updated publication \(name)'s publish_generated_columns"
            }
            return "using publication \(name)"
        case .filtered:
            guard !tables.isEmpty else {
                throw PostgresError(
                    .configuration, "a publication for chosen tables needs at least one table",
                    problem: .publicationWithoutTables)
            }
            let list = try tables.map { table throws(PostgresError) in
                let columns = try columnLists[table].map { columns throws(PostgresError) in
                    " ("
                        + (try columns.map { c throws(PostgresError) in try connection.quoteIdentifier(c) })
                        .joined(separator: ", ") + ")"
                }
                return "\(try connection.quoteIdentifier(table.schema)).\(try connection.quoteIdentifier(table.name))"
                    + (columns ?? "") + (rowFilters[table].map { " WHERE (\($0))" } ?? "")
            }.joined(separator: ", ")
            if !rowFilters.isEmpty {
                guard try serverVersion() >= 150000 else {
                    throw PostgresError(
                        .configuration, "postgres.row_filters need PostgreSQL 15 or later (publication WHERE clauses)")
                }
            }
            for table in tables {
                let found = try connection.query(
                    "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')", [table.schema, table.name])
                guard !found.isEmpty else {
                    throw PostgresError(
                        .configuration,
                        "table \(table) does not exist in this database; create it, or fix the name (names are "
                            + "case-sensitive: schema.table as PostgreSQL spells them)", problem: .tableMissing(table))
                }
            }
            guard let existing else {
                try changePublication("CREATE PUBLICATION \(quotedName) FOR TABLE \(list)\(with)", name, rowFilters)
                return "created publication \(name) for \(tables.map(\.description).joined(separator: ", "))"
            }
            if existing {
                throw PostgresError(
                    .configuration, "publication \(name) is FOR ALL TABLES; drop it",
                    problem: .publicationForAllTables(name))
            }
            // PostgreSQL 15 shows each table's published columns (all of them without a column list).
            let columnsShown = try serverVersion() >= 150000
            let rows = try connection.query(
                "SELECT schemaname, tablename\(columnsShown ? ", array_to_string(attnames, chr(31)), rowfilter" : "") "
                    + "FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2", [name])
            let current = rows.map { TableName(schema: $0[0] ?? "", name: $0[1] ?? "") }
            var listsDiffer = false
            if columnsShown {
                for (row, table) in zip(rows, current) {
                    let shown = Set((row[2] ?? "").split(separator: "\u{1F}").map(String.init))
                    var wanted = columnLists[table].map(Set.init)
                    if wanted == nil {
                        wanted = Set(try publishableColumns(table, storedGenerated: generatedColumns).columns)
                    }
                    if shown != wanted { listsDiffer = true }
                    // Row filters come back as the server writes them again: set them anew whenever there are any.
                    if row[3] != nil || rowFilters[table] != nil { listsDiffer = true }
                }
            }
            let generatedChanged = try setGeneratedColumns()
            if Set(current) != Set(tables) || listsDiffer {
                try changePublication("ALTER PUBLICATION \(quotedName) SET TABLE \(list)", name, rowFilters)
                return "updated publication \(name) to \(tables.map(\.description).joined(separator: ", "))"
            }
            return generatedChanged ? "updated publication \(name)'s publish_generated_columns" : "using publication \(name)"
        }
    }

    /// Whether the connected role may stream changes (REPLICATION or superuser); the role's name when it may not.
    /// The server settings and role facts every connector needs.
    public func prerequisites() throws(PostgresError) -> ServerPrerequisites {
        let role = try connection.query(
            "SELECT current_user, rolreplication OR rolsuper, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).first
        return ServerPrerequisites(
            walLevel: try setting("wal_level") ?? "unknown", role: role?[0] ?? "?", mayReplicate: role?[1] == "t",
            isSuperuser: role?[2] == "t", serverVersion: try serverVersion(), isStandby: try isStandby(),
            hotStandbyFeedback: try setting("hot_standby_feedback") == "on")
    }

    /// Whether a publication is FOR ALL TABLES; nil when there is no such publication.
    public func publicationIsForAllTables(_ name: String) throws(PostgresError) -> Bool? {
        try connection.query("SELECT puballtables FROM pg_publication WHERE pubname = $1", [name]).first.map { $0[0] == "t" }
    }

    /// How many more replication slots the server can hold (`max_replication_slots` less those in use).
    public func freeSlotCount() throws(PostgresError) -> Int {
        let free =
            try connection.query(
                "SELECT current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots)"
            ).first?.first ?? nil
        return free.flatMap { Int($0) } ?? 0
    }

    /// A table's replica identity (`d`efault, `f`ull, `i`ndex, `n`othing) and whether it has a primary key; nil when
    /// there is no such table.
    public func replicaIdentity(of table: TableName) throws(PostgresError) -> (identity: String, hasPrimaryKey: Bool)? {
        try connection.query(
            """
            SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2
            """, [table.schema, table.name]
        ).first.map { ($0[0] ?? "d", $0[1] == "t") }
    }

    /// Emits a transactional logical decoding message (`pg_logical_emit_message`), as a heartbeat does.
    public func emitMessage(prefix: String, content: String, transactional: Bool = true) throws(PostgresError) {
        try connection.query(
            "SELECT pg_logical_emit_message(\(transactional ? "true" : "false"), $1, $2)", [prefix, content])
    }

    /// The WAL a slot holds back (`pg_current_wal_lsn() - restart_lsn`), its `wal_status` and `safe_wal_size`; nil
    /// when the slot is gone.
    public func slotRetention(
        _ slot: String
    ) throws(PostgresError) -> (
        retainedBytes: UInt64, walStatus: String, safeWALSize: Int64?
    )? {
        try connection.query(
            """
            SELECT (\(Self.walPositionSQL) - restart_lsn)::bigint, wal_status, safe_wal_size
            FROM pg_replication_slots WHERE slot_name = $1
            """, [slot]
        ).first.map { row in
            (UInt64(row[0].flatMap { Int64($0) }.map { max(0, $0) } ?? 0), row[1] ?? "unknown", row[2].flatMap { Int64($0) })
        }
    }

    /// DDL whose failure means the user must change something (missing table, missing privilege).
    /// Creates or changes the publication; with row filters, in a transaction that first checks each filter uses only
    /// columns of its table's replica identity (PostgreSQL would otherwise refuse the table's UPDATEs and DELETEs).
    private func changePublication(_ sql: String, _ name: String, _ rowFilters: [TableName: String]) throws(PostgresError) {
        guard !rowFilters.isEmpty else { return try runConfiguring(sql) }
        try refuseOnStandby(sql)
        try connection.query("BEGIN")
        do throws(PostgresError) {
            do throws(PostgresError) {
                try connection.query(sql)
            } catch  where error.kind == .query && !error.isRetriable {
                throw PostgresError(
                    .configuration, "PostgreSQL refused postgres.row_filters: \(error.message)", sqlState: error.sqlState)
            }
            // The filters' columns, from the stored expressions (a Var node names its column by :varattno).
            let rows = try connection.query(
                """
                SELECT n.nspname, c.relname, c.relreplident, r.prqual::text,
                       \(Self.identityColumnNumbers)::text
                FROM pg_publication p JOIN pg_publication_rel r ON r.prpubid = p.oid
                JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE p.pubname = $1 AND r.prqual IS NOT NULL
                """, [name])
            for row in rows where row[2] != "f" {
                let identity = Set(
                    (row[4] ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
                        .split(separator: ",").compactMap { Int($0) })
                let used = (row[3] ?? "").matches(of: /:varattno (\d+)/).compactMap { Int($0.output.1) }
                if let outside = used.first(where: { !identity.contains($0) }) {
                    let column =
                        try connection.query(
                            "SELECT attname FROM pg_attribute WHERE attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND attnum = $3",
                            [row[0] ?? "", row[1] ?? "", String(outside)]
                        ).first?.first ?? nil
                    throw PostgresError(
                        .configuration,
                        "postgres.row_filters.\(row[0] ?? "").\(row[1] ?? "") uses column \(column ?? "#\(outside)"), which "
                            + "the table's replica identity does not hold, so PostgreSQL would refuse its UPDATEs and DELETEs; "
                            + "filter by replica identity columns, or ALTER TABLE … REPLICA IDENTITY FULL")
                }
            }
            try connection.query("COMMIT")
        } catch {
            try? connection.query("ROLLBACK")
            throw error
        }
    }

    private func runConfiguring(_ sql: String) throws(PostgresError) {
        try refuseOnStandby(sql)
        do {
            try connection.query(sql)
        } catch {
            if error.kind == .query, !error.isRetriable {
                throw PostgresError(.configuration, "\(sql) failed: \(error.message)", sqlState: error.sqlState)
            }
            throw error
        }
    }

    /// A standby takes no DDL: the publication is made on the primary and reaches the standby by replication.
    private func refuseOnStandby(_ sql: String) throws(PostgresError) {
        guard try isStandby() else { return }
        throw PostgresError(
            .configuration,
            "the server is a standby, where the publication cannot be made or changed: run \(sql) on the primary (it "
                + "reaches the standby by replication), or set postgres.publication_mode: existing")
    }

    /// Every ordinary and partitioned table outside the system schemas (partitions are published through their root).
    public func userTables() throws(PostgresError) -> [TableName] {
        try connection.query(
            """
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
              AND n.nspname NOT LIKE 'pg\\_temp\\_%'
            ORDER BY 1, 2
            """
        ).compactMap { row in
            guard let schema = row[0], let name = row[1] else { return nil }
            return TableName(schema: schema, name: name)
        }
    }

    /// Tables currently in the publication.
    public func publicationTables(_ name: String) throws(PostgresError) -> [TableName] {
        try connection.query(
            "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2", [name]
        ).map { TableName(schema: $0[0] ?? "", name: $0[1] ?? "") }
    }

    // MARK: Tables

    /// The primary key (in key order), NOT NULL columns and type facts of a relation.
    public func tableMetadata(
        relationOID: UInt32
    ) throws(PostgresError) -> (primaryKey: [String], notNull: Set<String>, types: [String: ColumnTypeFacts]) {
        let rows = try connection.query(
            """
            SELECT a.attname, a.attnotnull,
                   coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) WHERE k.attnum = a.attnum), 0),
                   t.typname, t.typtype, t.typbasetype, t.typtypmod, t.typelem, coalesce(e.typname, ''), coalesce(e.typtype, ' '),
                   (SELECT string_agg(l.enumlabel, ',' ORDER BY l.enumsortorder) FROM pg_enum l
                     WHERE l.enumtypid = CASE WHEN t.typtype = 'e' THEN t.oid ELSE t.typelem END),
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typelem <> 0
            LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
            WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
            """, [String(relationOID)])
        var key: [(Int, String)] = []
        var notNull: Set<String> = []
        var types: [String: ColumnTypeFacts] = [:]
        for row in rows {
            guard let name = row[0] else { continue }
            if row[1] == "t" { notNull.insert(name) }
            if let position = row[2].flatMap({ Int($0) }), position > 0 { key.append((position, name)) }
            types[name] = ColumnTypeFacts(
                name: row[3] ?? "", kind: row[4]?.first ?? "b",
                enumLabels: row[10].map { $0.split(separator: ",").map(String.init) } ?? [],
                baseOID: row[5].flatMap { UInt32($0) } ?? 0, baseModifier: row[6].flatMap { Int32($0) } ?? -1,
                elementOID: row[7].flatMap { UInt32($0) } ?? 0, elementName: row[8] ?? "", elementKind: row[9]?.first ?? " ",
                defaultExpression: row[11])
        }
        return (key.sorted { $0.0 < $1.0 }.map(\.1), notNull, types)
    }
}
