public import PGOutput

/// The ceiling of a client: a slot streamed with pgoutput and every message discarded unread, through libpq as the
/// connector reads it. The benchmarks measure the connector next to it.
public enum ReplicationDrain {
    /// Streams `slot` from its confirmed position until the server has sent everything up to `until`, discarding it;
    /// returns the number of pgoutput messages.
    ///
    /// - Parameter binary: pgoutput's binary mode (`binary 'true'`, PostgreSQL 14+): values in their send format.
    public static func run(
        conninfo: String, slot: String, publication: String, binary: Bool, until: LSN
    ) throws(PostgresError) -> Int {
        let connection = try LibpqConnection(
            conninfo: conninfo, overrides: ConnectionSettings(conninfo: conninfo).overrides(replication: true))
        defer { connection.close() }
        let publicationList = try connection.quoteLiteral(try connection.quoteIdentifier(publication))
        try connection.startCopyBoth(
            "START_REPLICATION SLOT \(try connection.quoteIdentifier(slot)) LOGICAL 0/0 (proto_version '1', "
                + "publication_names \(publicationList)\(binary ? ", binary 'true'" : ""))")
        var messages = 0
        var reached = LSN.zero
        var quietPolls = 0
        while reached < until {
            let seen = try connection.withNextCopyData { frame -> UInt64 in
                // 'w' XLogData: walStart, walEnd, time, message. 'k' keepalive: walEnd, time, reply requested.
                guard frame.count >= 9 else { return 0 }
                var position: UInt64 = 0
                for index in 1...8 { position = position << 8 | UInt64(frame[index]) }
                if frame[0] == UInt8(ascii: "w") {
                    messages += 1
                    return position
                }
                return frame[0] == UInt8(ascii: "k") ? position : 0
            }
            if let seen {
                reached = max(reached, LSN(rawValue: seen))
                quietPolls = 0
                continue
            }
            if try !connection.waitReadable(timeoutMilliseconds: 100) {
                // Quiet: ask where the server is (a keepalive answers with its end of WAL).
                quietPolls += 1
                try connection.writeCopyData(
                    StandbyStatusUpdate(
                        written: reached, flushed: reached, applied: reached, clockMicros: 0, replyRequested: true
                    )
                    .encoded())
                guard quietPolls < 600 else {
                    throw PostgresError(.connection, "the server sent nothing for a minute before \(until)")
                }
            }
            try connection.consumeInput()
        }
        return messages
    }
}
