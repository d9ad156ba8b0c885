import PGOutput
import Testing

@testable import Connector

/// Debezium's `message.key.columns`, picked as Debezium's CustomKeyMapper picks them.
struct MessageKeyColumnsTests {
    static func keys(_ entries: [String]) throws -> MessageKeyColumns {
        MessageKeyColumns(entries: try entries.map { try MessageKeyColumns.entry($0).get() })
    }

    @Test func readsDebeziumsForm() throws {
        let entry = try MessageKeyColumns.entry(" public.orders : customer_id, region ").get()
        #expect(entry.table == "public.orders" && entry.columns == ["customer_id", "region"])
        for bad in ["public.orders", "public.orders:", ":a", "public.orders:a,,b", "a:b:c", "public.(orders:a"] {
            #expect(throws: MessageKeyProblem.self, "\(bad)") { try MessageKeyColumns.entry(bad).get() }
        }
    }

    /// Entry by entry and column by column; a pattern matching several columns adds them in table order.
    @Test func picksColumnsInDebeziumsOrder() throws {
        let keys = try Self.keys(["public.orders:region,customer_id", "(.*).items:c_.*", "public.ORDERS:id"])
        let orders = TableName(schema: "public", name: "orders")
        #expect(try keys.keyColumns(table: orders, columns: ["id", "customer_id", "region"]) == ["region", "customer_id", "id"])
        let items = TableName(schema: "sales", name: "items")
        #expect(try keys.keyColumns(table: items, columns: ["id", "c_b", "x", "c_a"]) == ["c_b", "c_a"])
        #expect(try keys.keyColumns(table: TableName(schema: "public", name: "other"), columns: ["id"]) == nil)
        // The table part is matched whole.
        #expect(try keys.keyColumns(table: TableName(schema: "public", name: "orders_2024"), columns: ["id"]) == nil)
    }

    /// Debezium falls back to the primary key; Tributary says which column is missing.
    @Test func aColumnTheTableLacksIsAnError() throws {
        let keys = try Self.keys(["public.orders:custmer_id"])
        #expect {
            try keys.keyColumns(table: TableName(schema: "public", name: "orders"), columns: ["id", "customer_id"])
        } throws: { ($0 as? MessageKeyProblem)?.message.contains("'custmer_id', which public.orders does not have") == true }
    }
}
