import PGOutput

/// An incremental snapshot's state, as Debezium's watermark method (DBLog) keeps it, without I/O: the tables asked
/// for, where the current one's reading stands, and the chunk read but not yet sent.
///
/// A chunk is read between two watermarks the connector writes into the change stream (logical messages). Once the
/// stream reaches the first (the window opens), each change it brings to a row of the chunk drops that row: the stream's
/// event is newer than the read. At the second (the window closes) the rows left go out as `op: r` reads, and the next
/// chunk is read. So every row's last event is its current state, whatever the stream did meanwhile.
struct IncrementalSnapshot: Equatable {
    /// A table to read, with the signal's condition for it.
    struct Table: Equatable {
        var name: TableName
        var condition: String?
        var surrogateKey: String?
    }

    /// A key's values as text (PostgreSQL's output of each key column); nil for a null.
    typealias Key = [String?]

    /// Tables still to read, in order, after the current one.
    private(set) var pending: [Table] = []
    /// The table being read.
    private(set) var current: Table?
    /// The columns the current table is read in order of (its primary key, or the surrogate key).
    var keyColumns: [String] = []
    /// The last key read of the current table (the chunks so far); nil before its first chunk.
    var lastKey: Key?
    /// The largest key when the table's reading began: rows added after it come from the stream.
    var maximumKey: Key?
    /// The publication's row filter of the current table (read with its columns, not kept across runs).
    var rowFilter: String?
    var paused = false
    /// Rows read of the current table so far, and chunks.
    private(set) var rowsRead: Int = 0
    private(set) var chunks: Int = 0

    /// The chunk read and waiting for its watermarks.
    private(set) var window: Window?

    struct Window: Equatable {
        /// The id both watermarks carry.
        var id: String
        /// The stream has passed the opening watermark.
        var isOpen = false
        /// The rows read, in key order; a row the stream changes in the window is removed.
        var keys: [Key] = []
        var rows: [Key: TupleData] = [:]
        /// The last key the chunk read (whatever the stream removed): where the next chunk starts.
        var lastKeyRead: Key?
    }

    var isRunning: Bool { current != nil }

    /// What survives a restart (`<name>.incremental.json`): the tables, where the current one's reading stands (the
    /// last chunk Kafka acknowledged), and whether it is paused. A chunk read but not acknowledged is read again.
    struct Saved: Codable, Equatable {
        struct Table: Codable, Equatable {
            var schema: String
            var name: String
            var condition: String?
            var surrogateKey: String?
        }
        var pending: [Table]
        var current: Table?
        var lastKey: Key?
        var maximumKey: Key?
        var paused: Bool
    }

    var saved: Saved {
        func table(_ table: Table) -> Saved.Table {
            .init(schema: table.name.schema, name: table.name.name, condition: table.condition, surrogateKey: table.surrogateKey)
        }
        return Saved(
            pending: pending.map(table), current: current.map(table), lastKey: lastKey, maximumKey: maximumKey,
            paused: paused)
    }

    init() {}

    init(_ saved: Saved) {
        func table(_ table: Saved.Table) -> Table {
            Table(
                name: TableName(schema: table.schema, name: table.name), condition: table.condition,
                surrogateKey: table.surrogateKey)
        }
        pending = saved.pending.map(table)
        current = saved.current.map(table)
        lastKey = saved.lastKey
        maximumKey = saved.maximumKey
        paused = saved.paused
    }

    /// Adds tables; those asked for already (waiting or being read) are left as they are. Returns the tables added.
    @discardableResult
    mutating func add(_ tables: [Table]) -> [Table] {
        var added: [Table] = []
        for table in tables where current?.name != table.name && !pending.contains(where: { $0.name == table.name }) {
            pending.append(table)
            added.append(table)
        }
        if current == nil { advance() }
        return added
    }

    /// Stops reading the named tables (all when nil); the chunk waiting is dropped if its table is one of them.
    mutating func stop(_ tables: [TableName]?) {
        guard let tables else {
            pending = []
            finishTable()
            current = nil
            return
        }
        pending.removeAll { tables.contains($0.name) }
        if let current, tables.contains(current.name) { nextTable() }
    }

    /// The current table is done (read to its maximum key, or it cannot be read): on to the next.
    mutating func nextTable() {
        finishTable()
        advance()
    }

    private mutating func finishTable() {
        window = nil
        keyColumns = []
        lastKey = nil
        maximumKey = nil
        rowsRead = 0
        chunks = 0
    }

    private mutating func advance() {
        current = pending.isEmpty ? nil : pending.removeFirst()
    }

    /// A chunk was read: it waits for its watermarks. An empty chunk ends the table.
    mutating func chunkRead(id: String, rows: [(key: Key, row: TupleData)]) {
        var window = Window(id: id)
        for (key, row) in rows where window.rows.updateValue(row, forKey: key) == nil {
            window.keys.append(key)
        }
        window.lastKeyRead = rows.last?.key
        rowsRead += rows.count
        chunks += 1
        self.window = window
    }

    /// The stream reached a watermark of chunk `id`: the opening one opens the window; the closing one returns the
    /// rows to send (in key order), and the reading moves past the chunk. Watermarks of other chunks (an earlier run's,
    /// replayed) are ignored: nil.
    mutating func watermark(id: String, closing: Bool) -> [TupleData]? {
        guard var window, window.id == id else { return nil }
        guard closing else {
            window.isOpen = true
            self.window = window
            return nil
        }
        self.window = nil
        lastKey = window.lastKeyRead ?? lastKey
        return window.keys.compactMap { window.rows[$0] }
    }

    /// The table's columns changed while a chunk waited (a Relation message): the chunk, read with the old columns,
    /// is read again with the new ones from where it started, as Debezium does.
    mutating func discardWindow() {
        guard let window else { return }
        rowsRead -= window.keys.count
        chunks -= 1
        self.window = nil
    }

    /// A change the stream brought to row `key` of `table`: within an open window, the row read is dropped (the
    /// stream's event is newer). Returns whether a row was dropped.
    @discardableResult
    mutating func changed(_ table: TableName, key: Key) -> Bool {
        guard current?.name == table, var window, window.isOpen, window.rows.removeValue(forKey: key) != nil else {
            return false
        }
        window.keys.removeAll { $0 == key }
        self.window = window
        return true
    }

    // MARK: SQL

    /// The query for the next chunk: rows after the last key read, up to the maximum key, in key order.
    func chunkQuery(columns: [String], chunkSize: Int, quote: (String) -> String) -> String? {
        guard let current, let maximumKey, !keyColumns.isEmpty else { return nil }
        let table = "\(quote(current.name.schema)).\(quote(current.name.name))"
        let keyList = keyColumns.map(quote).joined(separator: ", ")
        var conditions: [String] = []
        if let lastKey { conditions.append("(\(keyList)) > (\(Self.literals(lastKey)))") }
        conditions.append("(\(keyList)) <= (\(Self.literals(maximumKey)))")
        if let condition = current.condition { conditions.append("(\(condition))") }
        if let rowFilter { conditions.append("(\(rowFilter))") }
        return "SELECT \(columns.map(quote).joined(separator: ", ")) FROM \(table) WHERE "
            + conditions.joined(separator: " AND ") + " ORDER BY \(keyList) LIMIT \(chunkSize)"
    }

    /// The query for the current table's largest key (within its condition).
    func maximumKeyQuery(quote: (String) -> String) -> String? {
        guard let current, !keyColumns.isEmpty else { return nil }
        let table = "\(quote(current.name.schema)).\(quote(current.name.name))"
        let filters = [current.condition, rowFilter].compactMap { $0.map { "(\($0))" } }
        let where_ = filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND ")
        return "SELECT \(keyColumns.map(quote).joined(separator: ", ")) FROM \(table)\(where_) ORDER BY "
            + keyColumns.map { "\(quote($0)) DESC" }.joined(separator: ", ") + " LIMIT 1"
    }

    /// Key values as SQL literals of unknown type, which PostgreSQL reads as the columns' types in a row comparison.
    static func literals(_ key: Key) -> String {
        key.map { value in value.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL" }
            .joined(separator: ", ")
    }
}
