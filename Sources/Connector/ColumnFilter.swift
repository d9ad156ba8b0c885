public import ChangeEvents
import Foundation
public import PGOutput

/// Debezium's `column.include.list` / `column.exclude.list`: regular expressions over `schema.table.column`, matched
/// whole and ignoring case, saying which columns the events leave out.
public struct ColumnFilter: Sendable, Equatable {
    public var include: [String] = []
    public var exclude: [String] = []

    public init(include: [String] = [], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
    }

    public var isEmpty: Bool { include.isEmpty && exclude.isEmpty }

    /// The columns of the table (in table order) the events leave out.
    public func excluded(table: TableName, columns: [String]) -> [String] {
        guard !isEmpty else { return [] }
        func matches(_ patterns: [String], _ column: String) -> Bool {
            patterns.contains { TableFilter.matchesWhole($0, "\(table.schema).\(table.name).\(column)") }
        }
        return columns.filter { include.isEmpty ? matches(exclude, $0) : !matches(include, $0) }
    }

    /// The first pattern that matches no column of the tables (a misspelt column would otherwise leave the column in
    /// the events without a word), with the key it is under.
    public func unmatchedPattern(_ tables: [(table: TableName, columns: [String])]) -> (key: String, pattern: String)? {
        for (key, patterns) in [("column_include_list", include), ("column_exclude_list", exclude)] {
            for pattern in patterns {
                let matched = tables.contains { table, columns in
                    columns.contains { TableFilter.matchesWhole(pattern, "\(table.schema).\(table.name).\($0)") }
                }
                if !matched { return (key, pattern) }
            }
        }
        return nil
    }

    /// The table's metadata with its excluded columns marked. A key column cannot be left out (the record key is
    /// made of it): that stops the connector, naming it.
    public func applied(to metadata: TableMetadata, relation: Relation) throws(ConnectorError) -> TableMetadata {
        guard !isEmpty else { return metadata }
        let table = TableName(schema: relation.namespace, name: relation.name)
        let excluded = excluded(table: table, columns: relation.columns.map(\.name))
        if let key = excluded.first(where: metadata.primaryKey.contains) {
            throw ConnectorError(
                .configuration,
                "postgres.\(include.isEmpty ? "column_exclude_list" : "column_include_list") leaves out \(table).\(key), "
                    + "which the record key is made of; keep it (or key the table by other columns with "
                    + "postgres.message_key_columns)")
        }
        var changed = metadata
        changed.excludedColumns = Set(excluded)
        return changed
    }
}
