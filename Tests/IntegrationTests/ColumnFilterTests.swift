import Foundation
import KafkaSink
import TestSupport
import Testing

/// Column filters: left-out columns never leave the database where a publication column list can say so, and the
/// connector leaves them out itself where it cannot; a publication it does not manage is read with its column lists.
@Suite(.serialized) struct ColumnFilterTests {
    static func fields(_ records: [KafkaRecord], _ image: String = "after") -> Set<String> {
        Set(records.map(Event.init).compactMap { $0.value?[image] as? [String: Any] }.flatMap(\.keys))
    }

    @Test func excludedColumnsStayInTheDatabaseWhereTheIdentityAllows() async throws {
        let harness = try Harness(
            database: "columns_managed", snapshotMode: "initial",
            postgresExtra:
                "tables: [public.c_users, public.c_cards]\n  column_exclude_list: ['public.c_users.password', 'public.c_cards.card_.*']"
        )
        try harness.db.execute("CREATE TABLE c_users (id int PRIMARY KEY, name text NOT NULL, password text, email text)")
        try harness.db.execute("CREATE TABLE c_cards (id int PRIMARY KEY, holder text, card_number text, note text)")
        try harness.db.execute("ALTER TABLE c_cards REPLICA IDENTITY FULL")
        try harness.db.execute("INSERT INTO c_users VALUES (1, 'ann', 'hunter2', 'a@x')")
        try harness.db.execute("INSERT INTO c_cards VALUES (1, 'ann', '4111', 'n')")
        let connector = try await harness.startConnector()
        let published = try harness.db.execute(
            "SELECT tablename, array_to_string(attnames, ',') FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1",
            ["tributary_columns_managed"])
        #expect(
            published.map { "\($0[0] ?? ""): \($0[1] ?? "")" } == [
                "c_cards: id,holder,card_number,note", "c_users: id,name,email",
            ])
        #expect(connector.log.contains("public.c_cards's replica identity is FULL and holds public.c_cards.card_number"))
        // The FULL identity table's updates still work (a column list would make PostgreSQL refuse them).
        try harness.db.execute("UPDATE c_cards SET note = 'm', card_number = '4222' WHERE id = 1")
        try harness.db.execute("UPDATE c_users SET password = 'x', email = 'b@x' WHERE id = 1")
        let users = try await harness.records(["it.public.c_users"], atLeast: 2)
        let cards = try await harness.records(["it.public.c_cards"], atLeast: 2)
        #expect(Self.fields(users) == ["id", "name", "email"])
        #expect(Self.fields(cards) == ["id", "holder", "note"])
        #expect(Self.fields(cards, "before") == ["id", "holder", "note"])
        #expect(!(users + cards).contains { ($0.valueText ?? "").contains("hunter2") || ($0.valueText ?? "").contains("4111") })
        _ = try await connector.terminate()
    }

    /// A publication made by someone else with a column list: snapshot and stream send the listed columns only.
    @Test func anExistingPublicationsColumnListIsRespected() async throws {
        let harness = try Harness(
            database: "columns_existing", snapshotMode: "initial",
            postgresExtra: "publication: columns_existing_pub\n  publication_mode: existing")
        try harness.db.execute("CREATE TABLE people (id int PRIMARY KEY, name text, ssn text)")
        try harness.db.execute("INSERT INTO people VALUES (1, 'ann', '123-45-6789')")
        try harness.db.execute("CREATE PUBLICATION columns_existing_pub FOR TABLE people (id, name)")
        let connector = try await harness.startConnector()
        try harness.db.execute("INSERT INTO people VALUES (2, 'bob', '987-65-4321')")
        let records = try await harness.records(["it.public.people"], atLeast: 2)
        #expect(Set(records.map(Event.init).map(\.op)) == ["r", "c"])
        #expect(Self.fields(records) == ["id", "name"])
        _ = try await connector.terminate()
    }
}

/// Row filters: the publication's WHERE clauses (PostgreSQL 15+), which snapshots read by too; a filter PostgreSQL would
/// make the table's updates fail with is refused before the publication changes.
@Suite(.serialized) struct RowFilterTests {
    @Test func onlyTheRowsTheFilterPassesLeaveTheDatabase() async throws {
        let harness = try Harness(
            database: "rows_filtered", extra: "signals: {data_collection: public.debezium_signal}", snapshotMode: "initial",
            postgresExtra: "tables: [public.orders]\n  row_filters: {public.orders: \"region = 'eu'\"}")
        try harness.db.execute("CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32), data text)")
        try harness.db.execute("CREATE TABLE orders (id int PRIMARY KEY, region text NOT NULL)")
        try harness.db.execute("ALTER TABLE orders REPLICA IDENTITY FULL")
        try harness.db.execute("INSERT INTO orders VALUES (1, 'eu'), (2, 'us'), (3, 'eu')")
        let connector = try await harness.startConnector()
        try harness.db.execute("INSERT INTO orders VALUES (4, 'us'), (5, 'eu')")
        // Moved out of the filter: PostgreSQL sends it as a delete; moved in: as an insert.
        try harness.db.execute("UPDATE orders SET region = 'us' WHERE id = 3")
        try harness.db.execute("UPDATE orders SET region = 'eu' WHERE id = 4")
        let records = try await harness.records(["it.public.orders"], atLeast: 6)
        let events = records.map(Event.init).filter { $0.value != nil }
            .map { "\($0.op ?? "?") \((($0.after ?? $0.before)?["id"] as? NSNumber)?.intValue ?? 0)" }
        #expect(events.sorted() == ["c 4", "c 5", "d 3", "r 1", "r 3"], "\(events)")
        let filter =
            try harness.db.execute(
                "SELECT rowfilter FROM pg_publication_tables WHERE pubname = 'tributary_rows_filtered' AND tablename = 'orders'"
            ).first?.first ?? nil
        #expect(filter?.contains("'eu'") == true, "\(filter ?? "none")")

        // An incremental snapshot reads the rows the filter passes, and no others.
        try harness.db.execute(
            IncrementalSnapshotTests.signal("rows-1", "execute-snapshot", #"{"data-collections": ["public.orders"]}"#))
        try await connector.waitForLog("incremental snapshot of public.orders complete")
        let again = try await harness.records(["it.public.orders"], atLeast: records.count + 3)
        let reads = again.map(Event.init).filter { $0.op == "r" && $0.source["snapshot"] as? String == "incremental" }
        #expect(Set(reads.compactMap { ($0.after?["id"] as? NSNumber)?.intValue }) == [1, 4, 5] && reads.count == 3)
        _ = try await connector.terminate()
    }

    @Test func aFilterOutsideTheReplicaIdentityIsRefusedAndThePublicationLeftAlone() async throws {
        let harness = try Harness(
            database: "rows_refused", snapshotMode: "no_data",
            postgresExtra: "tables: [public.orders]\n  row_filters: {public.orders: \"region = 'eu'\"}")
        try harness.db.execute("CREATE TABLE orders (id int PRIMARY KEY, region text NOT NULL)")
        try harness.db.execute("CREATE PUBLICATION tributary_rows_refused FOR TABLE orders")
        let error = try await BadInputTests.failure(config: harness.configPath)
        BadInputTests.expectOneLine(error, mentions: ["row_filters.public.orders", "region", "REPLICA IDENTITY FULL"])
        #expect(
            try harness.db.execute("SELECT rowfilter FROM pg_publication_tables WHERE pubname = 'tributary_rows_refused'")
                .first?.first == .some(nil), "the publication is as it was")
        try harness.db.execute("UPDATE orders SET region = 'us'")  // the application's updates still work

        let bad = try Harness.writeConnectorFile(
            name: "rows-refused", url: harness.server.url(database: "rows_refused"),
            bootstrapServers: harness.kafka.bootstrapServers,
            postgresExtra: "tables: [public.orders]\n  row_filters: {public.orders: \"id >>> 3\"}")
        let refused = try await BadInputTests.failure(config: bad)
        BadInputTests.expectOneLine(refused, mentions: ["PostgreSQL refused postgres.row_filters", "operator does not exist"])
    }
}
