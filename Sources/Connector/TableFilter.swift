public import PGOutput

/// Which tables a connector captures: `postgres.tables` and `postgres.exclude_tables` by name, and Debezium's four
/// regular-expression lists, all of which a table must pass.
///
/// The expressions are read as Debezium reads them: each must match the whole schema name (schema lists) or the
/// whole `schema.table` (table lists), ignoring case. A table created later is captured as soon as it passes.
public struct TableFilter {
    private let tables: Set<TableName>
    private let excluded: Set<TableName>
    private let schemaInclude: [Regex<AnyRegexOutput>]
    private let schemaExclude: [Regex<AnyRegexOutput>]
    private let tableInclude: [Regex<AnyRegexOutput>]
    private let tableExclude: [Regex<AnyRegexOutput>]

    /// - Important: the loader has checked every expression (`patternProblem`); one that does not compile matches nothing.
    public init(_ postgres: ConnectorConfig.Postgres) {
        tables = Set(postgres.tables)
        excluded = Set(postgres.excludedTables)
        func compile(_ patterns: [String]) -> [Regex<AnyRegexOutput>] {
            patterns.compactMap { try? Regex($0).ignoresCase() }
        }
        schemaInclude = compile(postgres.tablePatterns.schemaInclude)
        schemaExclude = compile(postgres.tablePatterns.schemaExclude)
        tableInclude = compile(postgres.tablePatterns.tableInclude)
        tableExclude = compile(postgres.tablePatterns.tableExclude)
        hasPatterns = !postgres.tablePatterns.isEmpty
    }

    /// Whether any regular-expression list is set (the publication of `filtered` mode is then worked out at start).
    public let hasPatterns: Bool

    public func captures(_ table: TableName) -> Bool {
        if !tables.isEmpty && !tables.contains(table) { return false }
        if excluded.contains(table) { return false }
        guard hasPatterns else { return true }
        func matches(_ patterns: [Regex<AnyRegexOutput>], _ text: String) -> Bool {
            patterns.contains { (try? $0.wholeMatch(in: text)) != nil }
        }
        if !schemaInclude.isEmpty && !matches(schemaInclude, table.schema) { return false }
        if matches(schemaExclude, table.schema) { return false }
        let qualified = table.description
        if !tableInclude.isEmpty && !matches(tableInclude, qualified) { return false }
        return !matches(tableExclude, qualified)
    }

    /// Whether `pattern` matches the whole of `text`, ignoring case, as Debezium matches its lists; false when it is no
    /// regular expression.
    public static func matchesWhole(_ pattern: String, _ text: String) -> Bool {
        guard let regex = try? Regex(pattern).ignoresCase() else { return false }
        return (try? regex.wholeMatch(in: text)) != nil
    }

    /// Why `pattern` is not a regular expression, or nil when it is one.
    public static func patternProblem(_ pattern: String) -> String? {
        do {
            _ = try Regex(pattern)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
