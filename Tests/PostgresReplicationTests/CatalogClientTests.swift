import PGOutput
import PostgresReplication
import TestSupport
import Testing

/// The catalog queries every part of Tributary asks through CatalogClient, against a real server.
@Suite(.serialized) struct CatalogClientTests {
    @Test func prerequisitesOfATestServerAreMet() throws {
        let server = try PostgresServer.start()
        let db = try server.createDatabase("catalog_prerequisites")
        defer { db.close() }
        let prerequisites = try db.prerequisites()
        #expect(prerequisites.walLevel == "logical" && prerequisites.role == "postgres")
        #expect(prerequisites.mayReplicate && prerequisites.isSuperuser)
        #expect(prerequisites.findings.map(\.passed) == [true, true])
        try prerequisites.require()
    }

    @Test func tablesReplicaIdentitiesAndPublications() throws {
        let server = try PostgresServer.start()
        let db = try server.createDatabase("catalog_tables")
        defer { db.close() }
        try db.execute("CREATE SCHEMA sales")
        try db.execute("CREATE TABLE sales.orders (id int PRIMARY KEY)")
        try db.execute("CREATE TABLE public.notes (body text)")
        try db.execute("ALTER TABLE public.notes REPLICA IDENTITY FULL")
        try db.execute("CREATE TABLE public.parts (id int) PARTITION BY RANGE (id)")
        try db.execute("CREATE TABLE public.parts_1 PARTITION OF public.parts FOR VALUES FROM (0) TO (10)")
        #expect(
            try db.userTables().map(\.description) == ["public.notes", "public.parts", "sales.orders"],
            "no system tables, and partitions through their root")
        let orders = try #require(try db.replicaIdentity(of: TableName(schema: "sales", name: "orders")))
        #expect(orders.identity == "d" && orders.hasPrimaryKey)
        let notes = try #require(try db.replicaIdentity(of: TableName(schema: "public", name: "notes")))
        #expect(notes.identity == "f" && !notes.hasPrimaryKey)
        #expect(try db.replicaIdentity(of: TableName(schema: "public", name: "nope")) == nil)

        // What a person must change comes as data; this layer names no connector-file key.
        #expect {
            try db.preparePublication("catalog_pub", mode: .filtered, tables: [TableName(schema: "public", name: "nope")])
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.problem == .tableMissing(TableName(schema: "public", name: "nope")) && error.kind == .configuration
                && !error.description.contains("postgres.")
        }
        #expect {
            try db.preparePublication("catalog_missing", mode: .existing, tables: [])
        } throws: { ($0 as? PostgresError)?.problem == .publicationMissing("catalog_missing") }
        #expect(try db.publicationIsForAllTables("catalog_pub") == nil)
        _ = try db.preparePublication("catalog_pub", mode: .filtered, tables: [TableName(schema: "sales", name: "orders")])
        #expect(try db.publicationIsForAllTables("catalog_pub") == false)
        #expect(try db.publicationTables("catalog_pub").map(\.description) == ["sales.orders"])
    }

    @Test func slotsTheirRetentionAndTheirHolder() throws {
        // A server of its own: other tests make and drop slots on the shared one, which would move the free count.
        let server = try PostgresServer.dedicated()
        let db = try server.createDatabase("catalog_slots")
        defer { db.close() }
        let free = try db.freeSlotCount()
        #expect(free > 0)
        #expect(try db.slot("catalog_slot") == nil)
        #expect(try db.slotRetention("catalog_slot") == nil)
        try db.execute("SELECT pg_create_logical_replication_slot('catalog_slot', 'pgoutput')")
        defer { _ = try? db.dropSlot("catalog_slot") }
        let slot = try #require(try db.slot("catalog_slot"))
        #expect(slot.plugin == "pgoutput" && slot.database == "catalog_slots" && slot.invalidation == nil)
        #expect(slot.activePID == nil && slot.confirmedFlush != nil)
        #expect(try db.freeSlotCount() == free - 1)
        try db.emitMessage(prefix: "catalog_test", content: "x")
        let retention = try #require(try db.slotRetention("catalog_slot"))
        #expect(retention.walStatus == "reserved" && retention.retainedBytes > 0)
        #expect(try db.replicationApplicationName(pid: 1) == nil)
    }
}
