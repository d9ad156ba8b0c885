import ChangeEvents
import PGOutput
import Testing

@testable import Connector

/// Debezium's column.include.list / column.exclude.list over `schema.table.column`.
struct ColumnFilterUnitTests {
    let users = TableName(schema: "public", name: "users")

    @Test func excludeAndIncludeListsMatchWholeNamesIgnoringCase() {
        let exclude = ColumnFilter(exclude: ["public.users.PASSWORD", "public\\..*\\.secret_.*"])
        #expect(
            exclude.excluded(table: users, columns: ["id", "password", "secret_a", "passwords"]) == ["password", "secret_a"])
        let include = ColumnFilter(include: ["public.users.(id|name)"])
        #expect(include.excluded(table: users, columns: ["id", "name", "email"]) == ["email"])
        #expect(ColumnFilter().excluded(table: users, columns: ["id"]).isEmpty)
    }

    @Test func aPatternMatchingNoColumnIsFound() {
        let filter = ColumnFilter(exclude: ["public.users.password", "public.users.pasword"])
        #expect(filter.unmatchedPattern([(users, ["id", "password"])])! == ("column_exclude_list", "public.users.pasword"))
        #expect(ColumnFilter(exclude: ["public.users.password"]).unmatchedPattern([(users, ["id", "password"])]) == nil)
    }

    @Test func aKeyColumnCannotBeLeftOut() throws {
        let relation = Relation(
            oid: 1, namespace: "public", name: "users", replicaIdentity: .default,
            columns: ["id", "name"].map { Relation.Column(isKey: false, name: $0, typeOID: 25, typeModifier: -1) })
        let metadata = TableMetadata(primaryKey: ["id"], notNull: [])
        #expect(
            try ColumnFilter(exclude: ["public.users.name"]).applied(to: metadata, relation: relation).excludedColumns == ["name"]
        )
        #expect { try ColumnFilter(include: ["public.users.name"]).applied(to: metadata, relation: relation) } throws: {
            "\($0)".contains("column_include_list leaves out public.users.id")
        }
    }
}
