public import ChangeEvents
import Foundation
public import PGOutput

/// Debezium's `message.key.columns`: for tables a regular expression names, the columns whose values make the record
/// key (and so the partition) instead of the primary key; a table without one gets a key this way.
public struct MessageKeyColumns: Sendable, Equatable {
    /// One `schema.table:column1,column2` (the table part a regular expression over `schema.table`, each column one over
    /// the column's name), as written.
    public struct Entry: Sendable, Equatable, CustomStringConvertible {
        public var table: String
        public var columns: [String]

        public var description: String { "\(table):\(columns.joined(separator: ","))" }
    }

    public private(set) var entries: [Entry] = []

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// Reads an entry in Debezium's form; the problem when it is not one.
    public static func entry(_ text: String) -> Result<Entry, MessageKeyProblem> {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let table = parts[0].trimmingCharacters(in: .whitespaces)
        let columns =
            parts.count == 2
            ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            : []
        guard parts.count == 2, !table.isEmpty, !columns.isEmpty, !columns.contains(where: \.isEmpty),
            !parts[1].contains(":")
        else {
            return .failure(MessageKeyProblem("'\(text)' is not schema.table:column1,column2"))
        }
        if let pattern = ([table] + columns).first(where: { TableFilter.patternProblem($0) != nil }) {
            return .failure(MessageKeyProblem("'\(pattern)' in '\(text)' is not a regular expression"))
        }
        return .success(Entry(table: table, columns: columns))
    }

    /// The key columns of a table with these columns (in table order): as Debezium picks them, each entry's
    /// `table.column` expression matched whole, ignoring case, against `schema.table.column`, entry by entry and column
    /// by column, table columns in table order. nil when no entry names the table (the primary key stays). An entry
    /// that names the table but none of its columns is an error (Debezium would quietly keep the primary key).
    public func keyColumns(table: TableName, columns: [String]) throws(MessageKeyProblem) -> [String]? {
        var picked: [String] = []
        var named = false
        for entry in entries {
            guard TableFilter.matchesWhole(entry.table, "\(table.schema).\(table.name)") else { continue }
            named = true
            for column in entry.columns {
                let matching = columns.filter {
                    TableFilter.matchesWhole("\(entry.table).\(column)", "\(table.schema).\(table.name).\($0)")
                }
                guard !matching.isEmpty else {
                    throw MessageKeyProblem(
                        "postgres.message_key_columns: '\(entry)' names column '\(column)', which \(table) does not have; "
                            + "its columns are \(columns.joined(separator: ", "))")
                }
                picked += matching.filter { !picked.contains($0) }
            }
        }
        return named ? picked : nil
    }

    /// The table's metadata with the key columns in place of its primary key, when an entry names the table.
    public func applied(to metadata: TableMetadata, relation: Relation) throws(ConnectorError) -> TableMetadata {
        guard !entries.isEmpty else { return metadata }
        do {
            guard
                let key = try keyColumns(
                    table: TableName(schema: relation.namespace, name: relation.name), columns: relation.columns.map(\.name))
            else { return metadata }
            var changed = metadata
            changed.primaryKey = key
            return changed
        } catch {
            throw ConnectorError(.configuration, error.message)
        }
    }
}

public struct MessageKeyProblem: Error, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}
