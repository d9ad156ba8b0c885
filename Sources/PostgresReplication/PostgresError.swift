public import PGOutput

/// A failure talking to PostgreSQL, with the server's words and SQLSTATE kept as data.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not connect or the connection broke: retry with back-off.
        case connection
        /// The server refused a statement.
        case query
        /// The stream did something the protocol does not allow.
        case protocolViolation
        /// A prerequisite on the server is not met (wal_level, privilege, publication…): a person must act.
        case configuration
    }

    /// What a person must change, as data, so that the layer that read the connector file can name its keys
    /// (this module knows none of them).
    public enum Problem: Sendable, Equatable {
        /// A table to capture or publish does not exist.
        case tableMissing(TableName)
        /// The publication must exist (`existing` mode) and does not.
        case publicationMissing(String)
        /// A publication for chosen tables is FOR ALL TABLES.
        case publicationForAllTables(String)
        /// A publication for chosen tables was asked for without any table.
        case publicationWithoutTables
        /// A statement went unanswered for the query timeout.
        case unanswered(Duration)
    }

    public var kind: Kind
    public var message: String
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: String?
    public var problem: Problem?

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil, problem: Problem? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.problem = problem
    }

    public var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }

    /// Whether reconnecting later may succeed.
    public var isRetriable: Bool {
        switch kind {
        case .connection: return true
        case .query:
            // Class 08 (connection exception), 57P (operator intervention: shutdown, terminated), 53 (resources),
            // 55006 (object in use: the slot is active elsewhere).
            guard let sqlState else { return false }
            return sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") || sqlState.hasPrefix("53") || sqlState == "55006"
        case .protocolViolation, .configuration: return false
        }
    }
}
