internal import CLibPQ

#if canImport(Glibc)
    import Glibc
#endif

/// One libpq connection, used from one thread only.
///
/// - Important: not thread-safe; the owner serialises every call. `close()` (or deinit) frees the `PGconn`.
final class LibpqConnection {
    private var conn: OpaquePointer?

    /// Connects with `conninfo` (a URI or key=value string) plus `overrides`, which win over it.
    init(conninfo: String, overrides: [(String, String)]) throws(PostgresError) {
        // Defaults come first, so the connection string wins over them; `overrides` come last and win over both.
        // TCP keepalives and tcp_user_timeout find a dead peer in about a minute instead of the kernel's two hours.
        let defaults = Self.connectionDefaults
        let keywords = defaults.map(\.0) + ["dbname"] + overrides.map(\.0)
        let values = defaults.map(\.1) + [conninfo] + overrides.map(\.1)
        let connection = Self.connect(keywords: keywords, values: values)
        guard let connection else { throw PostgresError(.connection, "out of memory allocating a libpq connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.errorText(connection)
            PQfinish(connection)
            // The server answered and refused: a setting must change, retrying soon will not help.
            let refusals = [
                "password authentication failed", "does not exist", "no pg_hba.conf entry",
                "must be superuser or replication role",
                "permission denied", "is not permitted to log in", "authentication failed",
            ]
            let kind: PostgresError.Kind = refusals.contains { message.contains($0) } ? .configuration : .connection
            throw PostgresError(kind, "cannot connect to PostgreSQL: \(message)")
        }
        conn = connection
    }

    static let connectionDefaults = [
        ("connect_timeout", "10"), ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"),
        ("keepalives_count", "3"), ("tcp_user_timeout", "60000"),
    ]

    private static func connect(keywords: [String], values: [String]) -> OpaquePointer? {
        // The C strings live until PQconnectdbParams returns; libpq copies what it keeps.
        let keywordPointers = keywords.map { strdup($0) } + [nil]
        let valuePointers = values.map { strdup($0) } + [nil]
        defer {
            keywordPointers.forEach { free($0) }
            valuePointers.forEach { free($0) }
        }
        return keywordPointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { keys in
            valuePointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { vals in
                PQconnectdbParams(keys.baseAddress, vals.baseAddress, 1)
            }
        }
    }

    deinit {
        close()
    }

    func close() {
        if let conn {
            PQfinish(conn)
            self.conn = nil
        }
    }

    private func handle() throws(PostgresError) -> OpaquePointer {
        guard let conn else { throw PostgresError(.connection, "connection is closed") }
        return conn
    }

    static func errorText(_ conn: OpaquePointer?) -> String {
        guard let text = PQerrorMessage(conn) else { return "unknown libpq error" }
        return String(cString: text).trimmingTrailingWhitespace()
    }

    var serverVersion: Int {
        conn.map { Int(PQserverVersion($0)) } ?? 0
    }

    /// How long `query` waits for the server's answer; nil waits as long as it takes. When it runs out, the
    /// connection is closed: a server that stopped answering mid-statement leaves it in an unknown state.
    var queryTimeout: Duration?

    /// Runs a statement (parameters as text) and returns every row as text (nil = NULL).
    @discardableResult
    func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> [[String?]] {
        let conn = try handle()
        let sent: Int32
        if parameters.isEmpty {
            sent = PQsendQuery(conn, sql)
        } else {
            let copies = parameters.map { $0.map { strdup($0) } ?? nil }
            defer { copies.forEach { free($0) } }
            sent = copies.map { UnsafePointer($0) }.withUnsafeBufferPointer {
                PQsendQueryParams(conn, sql, Int32(parameters.count), nil, $0.baseAddress, nil, nil, 0)
            }
        }
        guard sent == 1 else {
            try check(nil, conn)
            return []
        }
        let result = try awaitResult(conn)
        defer { PQclear(result) }
        try check(result, conn)
        return rows(result)
    }

    /// The statement's result as PQexec would return it (the first error, else the last result), waiting at most
    /// `queryTimeout`.
    private func awaitResult(_ conn: OpaquePointer) throws(PostgresError) -> OpaquePointer? {
        let deadline = queryTimeout.map { ContinuousClock.now + $0 }
        var kept: OpaquePointer?
        while true {
            while PQisBusy(conn) == 1 {
                var wait: Int32 = -1
                if let deadline, let queryTimeout {
                    let left = deadline - ContinuousClock.now
                    guard left > .zero else {
                        PQclear(kept)
                        close()
                        throw PostgresError(
                            .connection,
                            "PostgreSQL did not answer within \(queryTimeout); the connection is closed (a network "
                                + "partition or a hung server)", problem: .unanswered(queryTimeout))
                    }
                    wait = Int32(clamping: Int((left / .milliseconds(1)).rounded(.up)))
                }
                do {
                    _ = try Self.waitReadable(PQsocket(conn), timeoutMilliseconds: wait)
                    try consumeInput()
                } catch {
                    PQclear(kept)
                    throw error
                }
            }
            guard let result = PQgetResult(conn) else { return kept }
            // A COPY result comes back at once, as from PQexec: the caller moves the data.
            if Self.isCopy(PQresultStatus(result)) {
                PQclear(kept)
                return result
            }
            if kept != nil && PQresultStatus(kept) == PGRES_FATAL_ERROR {
                PQclear(result)
            } else {
                PQclear(kept)
                kept = result
            }
        }
    }

    private func check(_ result: OpaquePointer?, _ conn: OpaquePointer) throws(PostgresError) {
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_BOTH else {
            if PQstatus(conn) != CONNECTION_OK {
                throw PostgresError(.connection, "connection to PostgreSQL lost: \(Self.errorText(conn))")
            }
            let message =
                PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
                ?? Self.errorText(conn)
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw PostgresError(.query, message, sqlState: sqlState)
        }
    }

    private func rows(_ result: OpaquePointer?) -> [[String?]] {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
            rows.append(values)
        }
        return rows
    }

    /// Quotes an identifier for SQL (`"My Table"`).
    func quoteIdentifier(_ name: String) throws(PostgresError) -> String {
        let conn = try handle()
        guard let quoted = PQescapeIdentifier(conn, name, name.utf8.count) else {
            throw PostgresError(.query, "cannot quote identifier \(name): \(Self.errorText(conn))")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    /// Quotes a string literal for SQL (`'it''s'`).
    func quoteLiteral(_ text: String) throws(PostgresError) -> String {
        let conn = try handle()
        guard let quoted = PQescapeLiteral(conn, text, text.utf8.count) else {
            throw PostgresError(.query, "cannot quote literal: \(Self.errorText(conn))")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: COPY BOTH

    /// Sends a replication command that switches the connection into COPY BOTH mode.
    func startCopyBoth(_ command: String) throws(PostgresError) {
        let conn = try handle()
        let result = PQexec(conn, command)
        defer { PQclear(result) }
        try check(result, conn)
        guard PQresultStatus(result) == PGRES_COPY_BOTH else {
            throw PostgresError(.protocolViolation, "\(command) did not start a COPY BOTH stream")
        }
        socketDescriptor = PQsocket(conn)
    }

    /// What one non-blocking read of the COPY BOTH stream found.
    enum CopyRead {
        case data([UInt8])
        /// No whole message is buffered: wait for the socket, then `consumeInput()`.
        case needInput
    }

    /// Takes the next buffered CopyData payload without blocking; throws when the stream ended or failed.
    func nextCopyData() throws(PostgresError) -> CopyRead {
        try withNextCopyData { CopyRead.data(Array($0)) } ?? .needInput
    }

    /// Hands the next buffered CopyData payload to `body` without copying it; nil when no whole message is buffered
    /// (wait for the socket, then `consumeInput()`). Throws when the stream ended or failed.
    func withNextCopyData<R>(_ body: (UnsafeRawBufferPointer) -> R) throws(PostgresError) -> R? {
        let conn = try handle()
        var buffer: UnsafeMutablePointer<CChar>? = nil
        let length = PQgetCopyData(conn, &buffer, 1)
        if length > 0, let buffer {
            // PQgetCopyData allocates the buffer; it is freed here once read.
            defer { PQfreemem(buffer) }
            return body(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
        }
        if length == 0 { return nil }
        if length == -1 {
            // The server ended the stream; its final result says why.
            var reason = "the server ended the replication stream"
            while let result = PQgetResult(conn) {
                defer { PQclear(result) }
                if PQresultStatus(result) == PGRES_FATAL_ERROR, let message = PQresultErrorMessage(result) {
                    reason = String(cString: message).trimmingTrailingWhitespace()
                    let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
                    throw PostgresError(.query, reason, sqlState: sqlState)
                }
            }
            throw PostgresError(.connection, reason)
        }
        throw PostgresError(.connection, "replication stream failed: \(Self.errorText(conn))")
    }

    /// Waits up to `timeoutMilliseconds` for the socket to be readable; true when it is.
    /// Touches only the socket descriptor, so it may run while another thread holds the connection.
    func waitReadable(timeoutMilliseconds: Int) throws(PostgresError) -> Bool {
        try Self.waitReadable(socketDescriptor, timeoutMilliseconds: Int32(clamping: timeoutMilliseconds))
    }

    /// Waits up to `timeoutMilliseconds` (-1: as long as it takes) for `descriptor` to be readable; true when it is.
    private static func waitReadable(_ descriptor: Int32, timeoutMilliseconds: Int32) throws(PostgresError) -> Bool {
        var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pollDescriptor, 1, timeoutMilliseconds)
        if ready < 0 && errno != EINTR {
            throw PostgresError(.connection, "poll on the PostgreSQL socket failed: errno \(errno)")
        }
        return ready > 0
    }

    /// Reads what the socket holds into libpq's buffer.
    func consumeInput() throws(PostgresError) {
        let conn = try handle()
        if PQconsumeInput(conn) == 0 {
            throw PostgresError(.connection, "connection to PostgreSQL lost: \(Self.errorText(conn))")
        }
    }

    private static func isCopy(_ status: ExecStatusType) -> Bool {
        status == PGRES_COPY_OUT || status == PGRES_COPY_IN || status == PGRES_COPY_BOTH
    }

    /// The connection's socket, read once when streaming starts.
    private(set) var socketDescriptor: Int32 = -1

    func writeCopyData(_ bytes: [UInt8]) throws(PostgresError) {
        let conn = try handle()
        let sent = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32(buffer.count)) }
        }
        guard sent == 1, PQflush(conn) == 0 else {
            throw PostgresError(.connection, "cannot send to PostgreSQL: \(Self.errorText(conn))")
        }
    }

    /// Starts `COPY … TO STDOUT`; rows are then read with `readCopyRow`.
    func startCopyOut(_ command: String) throws(PostgresError) {
        let conn = try handle()
        let result = PQexec(conn, command)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_OUT else {
            try check(result, conn)
            throw PostgresError(.protocolViolation, "\(command) did not start a COPY")
        }
    }

    /// The next row of a `COPY TO STDOUT` (blocking), or nil at its end.
    func readCopyRow() throws(PostgresError) -> [UInt8]? {
        let conn = try handle()
        var buffer: UnsafeMutablePointer<CChar>? = nil
        let length = PQgetCopyData(conn, &buffer, 0)
        if length > 0, let buffer {
            // PQgetCopyData allocates the row; it is freed here once copied.
            defer { PQfreemem(buffer) }
            return Array(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
        }
        if length == -1 {
            while let result = PQgetResult(conn) {
                defer { PQclear(result) }
                try check(result, conn)
            }
            return nil
        }
        throw PostgresError(.connection, "COPY failed: \(Self.errorText(conn))")
    }

    /// Ends COPY BOTH from our side (CopyDone), drains what the server still sends, and reads the final result.
    func endCopy(drainMilliseconds: Int) {
        guard let conn else { return }
        guard PQputCopyEnd(conn, nil) == 1, PQflush(conn) == 0 else { return }
        // The server may still be sending what it decoded before it saw CopyDone: skip it, within a deadline.
        let deadline = ContinuousClock.now + .milliseconds(drainMilliseconds)
        while ContinuousClock.now < deadline {
            do {
                if case .data = try nextCopyData() { continue }
                if try waitReadable(timeoutMilliseconds: 50) { try consumeInput() }
            } catch {
                break  // the stream ended (its final result is read) or the connection is gone
            }
        }
        // PQgetResult blocks while a result is incomplete, and returns the COPY result again for as long as the
        // server has not ended the stream: a server that stopped answering must not hold up the close.
        while PQisBusy(conn) == 0, let result = PQgetResult(conn) {
            let status = PQresultStatus(result)
            PQclear(result)
            if Self.isCopy(status) { break }
        }
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var text = self[...]
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
