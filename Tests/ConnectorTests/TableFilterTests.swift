import Connector
import PGOutput
import Testing

/// Debezium's include and exclude lists: regular expressions matched whole, ignoring case.
@Suite struct TableFilterTests {
    static func filter(_ postgres: String) throws -> TableFilter {
        let config = try ConnectorConfigLoader(environment: [:]).parse(
            """
            name: t
            postgres: {url: "postgresql://x/db"\(postgres)}
            kafka: {bootstrap_servers: embedded, topic_prefix: p}
            """, file: "t.yaml")
        return TableFilter(config.postgres)
    }

    static func table(_ text: String) -> TableName { TableName(parsing: text)! }

    @Test func withoutListsEveryTablePasses() throws {
        let filter = try Self.filter("")
        #expect(filter.captures(Self.table("public.orders")))
        #expect(!filter.hasPatterns)
    }

    @Test func schemaIncludeListKeepsOnlyMatchingSchemasWhole() throws {
        let filter = try Self.filter(", schema_include_list: [inventory]")
        #expect(filter.captures(Self.table("inventory.customers")))
        #expect(filter.captures(Self.table("INVENTORY.customers")), "matched ignoring case, as Debezium does")
        #expect(!filter.captures(Self.table("inventory2.customers")), "anchored: the whole schema name must match")
        #expect(!filter.captures(Self.table("public.customers")))
    }

    @Test func tableListsMatchSchemaDotTable() throws {
        let include = try Self.filter(#", table_include_list: ['public\.orders_\d+', 'sales\..*']"#)
        #expect(include.captures(Self.table("public.orders_2024")))
        #expect(include.captures(Self.table("sales.anything")))
        #expect(!include.captures(Self.table("public.orders_archive")))
        #expect(!include.captures(Self.table("xpublic.orders_1")))
        let exclude = try Self.filter(#", table_exclude_list: ['public\.audit_.*']"#)
        #expect(!exclude.captures(Self.table("public.audit_log")))
        #expect(exclude.captures(Self.table("public.orders")))
    }

    @Test func everyListMustAgree() throws {
        let filter = try Self.filter(
            #", schema_exclude_list: [staging], table_include_list: ['.*\.orders'], exclude_tables: [public.orders]"#)
        #expect(filter.captures(Self.table("sales.orders")))
        #expect(!filter.captures(Self.table("staging.orders")))
        #expect(!filter.captures(Self.table("public.orders")))
        #expect(!filter.captures(Self.table("sales.customers")))
    }

    @Test func badListsAreRefusedWithTheirPlace() throws {
        #expect {
            try Self.filter(", table_include_list: ['public.(orders']")
        } throws: { "\($0)".contains("postgres.table_include_list: 'public.(orders' is not a regular expression") }
        #expect {
            try Self.filter(", table_include_list: [a], table_exclude_list: [b]")
        } throws: { "\($0)".contains("exclude each other") }
        #expect {
            try Self.filter(", on_slot_lost: ignore")
        } throws: { "\($0)".contains("postgres.on_slot_lost must be one of fail, snapshot, accept_gap") }
    }
}
