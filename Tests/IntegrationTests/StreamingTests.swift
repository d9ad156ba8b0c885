import Foundation
import KafkaSink
import TestSupport
import Testing

/// A real PostgreSQL, the embedded Kafka in this process, and the `tributary` binary between them.
@Suite(.serialized) struct StreamingTests {
    @Test func everyChangeBecomesTheDebeziumEventInOrderPerKey() async throws {
        let harness = try Harness(database: "stream_events", extra: "events: {skipped_operations: []}")
        try harness.db.execute("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text)")
        try harness.db.execute("CREATE TABLE notes (body text, n int)")
        try harness.db.execute("ALTER TABLE notes REPLICA IDENTITY FULL")
        // One partition for the keyless table, so its events keep their order.
        try harness.kafka.createTopic("it.public.notes", partitions: 1)
        let connector = try await harness.startConnector()

        let x1 = try harness.transaction([
            "INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', NULL)",
            "INSERT INTO notes VALUES ('first', 1)",
        ])
        let x2 = try harness.transaction([
            "UPDATE customers SET name = 'Ann B' WHERE id = 1",
            "UPDATE customers SET id = 3 WHERE id = 2",
        ])
        let x3 = try harness.transaction([
            "DELETE FROM customers WHERE id = 1",
            "UPDATE notes SET n = 2",
            "DELETE FROM notes",
        ])
        let x4 = try harness.transaction(["TRUNCATE notes"])
        let x5 = try harness.transaction([
            "SELECT pg_logical_emit_message(true, 'audit', 'hello')",
            "INSERT INTO customers VALUES (4, 'Dee', NULL)",
        ])
        let end = try harness.currentWAL()

        let records = try await harness.records(
            ["it.public.customers", "it.public.notes", "it.message"], atLeast: 15)
        let events = records.map(Event.init)
        #expect(events.count == 15)

        // Per key, in order: customers' keys are spread over partitions, each key in one.
        func history(_ key: String) -> [String] {
            events.filter { $0.record.topic == "it.public.customers" && $0.key == key }.map {
                $0.isTombstone ? "tombstone" : $0.op ?? "?"
            }
        }
        #expect(history("{\"id\":1}") == ["c", "u", "d", "tombstone"])
        #expect(history("{\"id\":2}") == ["c", "d", "tombstone"])
        #expect(history("{\"id\":3}") == ["c"])
        #expect(history("{\"id\":4}") == ["c"])

        // Keys land where Kafka's Java client would put them, so Java consumers and Streams co-partition.
        let partitions =
            try KafkaTopicReader(bootstrapServers: harness.kafka.bootstrapServers).partitionCount("it.public.customers") ?? 0
        #expect(partitions > 1)
        for event in events where event.record.topic == "it.public.customers" {
            #expect(event.record.partition == javaPartition(event.record.key ?? [], partitions: partitions))
        }

        let customers = events.filter { $0.record.topic == "it.public.customers" && !$0.isTombstone }
        for event in customers {
            #expect(event.source["db"] as? String == "stream_events")
            #expect(event.source["schema"] as? String == "public")
            #expect(event.source["table"] as? String == "customers")
            #expect(event.source["snapshot"] as? String == "false")
            #expect(event.source["connector"] as? String == "postgresql")
            #expect(event.source["name"] as? String == "it")
            #expect(event.lsn != nil)
        }
        let ann = customers.filter { $0.key == "{\"id\":1}" }
        #expect(ann[0].after?["name"] as? String == "Ann")
        #expect(ann[0].after?["email"] as? String == "ann@example.com")
        #expect(ann[0].before == nil)
        #expect(ann[0].txId == x1)
        #expect(ann[1].after?["name"] as? String == "Ann B")
        #expect(ann[1].txId == x2)
        #expect(ann[2].before?["id"] as? Int == 1)
        #expect(ann[2].after == nil)
        #expect(ann[2].txId == x3)
        #expect(ann[0].lsn! < ann[1].lsn! && ann[1].lsn! < ann[2].lsn!)

        // Primary-key change: delete of the old key (with the new key in a header), tombstone, create.
        let bobDelete = customers.first { $0.key == "{\"id\":2}" && $0.op == "d" }
        #expect(bobDelete?.header("__debezium.newkey") == "{\"id\":3}")
        #expect(bobDelete?.before?["id"] as? Int == 2)
        #expect(bobDelete?.txId == x2)
        let bobCreate = customers.first { $0.key == "{\"id\":3}" }
        #expect(bobCreate?.header("__debezium.oldkey") == "{\"id\":2}")
        #expect(bobCreate?.after?["name"] as? String == "Bob")
        #expect(customers.first { $0.key == "{\"id\":4}" }?.txId == x5)

        // The table without a primary key: null keys, whole rows before and after, and the truncate.
        let notes = events.filter { $0.record.topic == "it.public.notes" }
        #expect(notes.map { $0.isTombstone ? "tombstone" : $0.op ?? "?" } == ["c", "u", "d", "tombstone", "t"])
        #expect(notes.allSatisfy { $0.key == nil })
        #expect(notes[0].after?["body"] as? String == "first")
        #expect(notes[1].before?["n"] as? Int == 1)
        #expect(notes[1].after?["n"] as? Int == 2)
        #expect(notes[2].before?["n"] as? Int == 2)
        #expect(notes[4].before == nil && notes[4].after == nil)
        #expect(notes[4].txId == x4)

        let message = events.first { $0.record.topic == "it.message" }
        #expect(message?.key == "{\"prefix\":\"audit\"}")
        #expect(message?.op == "m")
        #expect((message?.value?["message"] as? [String: Any])?["content"] as? String == "aGVsbG8=")
        #expect(message?.txId == x5)

        // Everything acknowledged: the slot moves to the end of the last transaction.
        try await harness.waitForSlot(toReach: end)
        #expect(try await connector.terminate() == 0)
    }

    @Test func slotDoesNotMoveWhileKafkaIsDownAndCatchesUpAfter() async throws {
        let harness = try Harness(database: "stream_broker_down")
        try harness.db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        let connector = try await harness.startConnector()

        try harness.transaction(["INSERT INTO items VALUES (1, 'before the outage')"])
        let beforeOutage = try harness.currentWAL()
        try await harness.waitForSlot(toReach: beforeOutage)

        harness.kafka.setAllBrokers(up: false)
        try harness.transaction(["INSERT INTO items VALUES (2, 'during the outage')"])
        let afterFirst = try harness.currentWAL()
        for id in 3...21 {
            try harness.transaction(["INSERT INTO items VALUES (\(id), 'during the outage')"])
        }
        let afterWrites = try harness.currentWAL()
        // Several status intervals pass; nothing Kafka has not acknowledged may be confirmed. (The slot may follow
        // keepalives over other WAL while nothing is in flight, never past the first unacknowledged transaction.)
        for _ in 0..<8 {
            try await Task.sleep(for: .milliseconds(500))
            #expect(try !harness.slotReached(afterFirst))
        }
        #expect(try !harness.slotReached(afterWrites))

        harness.kafka.setAllBrokers(up: true)
        try await harness.waitForSlot(toReach: afterWrites, timeout: .seconds(120))
        let records = try await harness.records(["it.public.items"], atLeast: 21)
        let ids = Set(records.compactMap { Event($0).after?["id"] as? Int })
        #expect(ids == Set(1...21))
        #expect(try await connector.terminate() == 0)
    }

    @Test func restartedConnectorDeliversEveryChangeWithoutGaps() async throws {
        let harness = try Harness(database: "stream_restart")
        try harness.db.execute("CREATE TABLE counter (id int PRIMARY KEY, batch int NOT NULL)")
        var connector = try await harness.startConnector()
        var next = 1
        func write(batches: Int) throws {
            for batch in 0..<batches {
                let ids = (next..<(next + 50)).map { "(\($0), \(batch))" }.joined(separator: ",")
                try harness.transaction(["INSERT INTO counter VALUES \(ids)"])
                next += 50
            }
        }

        try write(batches: 10)
        // A clean stop in the middle of the stream, more writes while it is down, then a restart.
        #expect(try await connector.terminate() == 0)
        try write(batches: 10)
        connector = try await harness.startConnector()
        try write(batches: 10)
        // A crash (SIGKILL) with events possibly in flight, more writes, restart.
        try await connector.kill9()
        try write(batches: 10)
        connector = try await harness.startConnector()
        try write(batches: 5)
        let end = try harness.currentWAL()
        try await harness.waitForSlot(toReach: end)

        let total = next - 1
        let records = try await harness.records(["it.public.counter"], atLeast: total)
        let ids = records.compactMap { Event($0).after?["id"] as? Int }
        #expect(Set(ids) == Set(1...total), "missing: \(Set(1...total).subtracting(ids).sorted().prefix(20))")
        #expect(try await connector.terminate() == 0)
    }
}

/// Correlation ids and trace context set once per transaction reach every following event of it as headers,
/// through a real server's logical messages.
@Suite struct CorrelationTests {
    @Test func aTransactionsContextMessageBecomesItsEventsHeaders() async throws {
        let harness = try Harness(
            database: "stream_correlation", extra: "correlation: {headers: {traceparent: traceparent, order: x-order-id}}")
        try harness.db.execute("CREATE TABLE orders (id int PRIMARY KEY, total int)")
        // Made beforehand, so that a context message emitted by mistake would be read.
        try harness.kafka.createTopic("it.message", partitions: 1)
        let process = try await harness.startConnector()
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        _ = try harness.transaction([
            "SELECT pg_logical_emit_message(true, 'tributary.context', '{\"traceparent\": \"\(traceparent)\", \"order\": \"17\"}')",
            "INSERT INTO orders VALUES (17, 100)",
            "UPDATE orders SET total = 120 WHERE id = 17",
        ])
        _ = try harness.transaction([
            "INSERT INTO orders VALUES (18, 5)", "SELECT pg_logical_emit_message(true, 'audit', 'a message is still an event')",
        ])
        let records = try await harness.records(["it.public.orders", "it.message"], atLeast: 4)
        #expect(try await process.terminate() == 0)
        let orders = records.filter { $0.topic == "it.public.orders" }.map(Event.init)
        try #require(orders.count == 3)
        // By key: the topic's partitions do not keep order between keys.
        let seventeen = orders.filter { $0.key == "{\"id\":17}" }
        #expect(seventeen.count == 2)
        #expect(seventeen.allSatisfy { $0.header("traceparent") == traceparent && $0.header("x-order-id") == "17" })
        #expect(
            orders.first { $0.key == "{\"id\":18}" }?.header("traceparent") == nil, "another transaction, no context")
        let messages = records.filter { $0.topic == "it.message" }
        #expect(
            messages.count == 1 && messages[0].valueText?.contains("\"prefix\":\"audit\"") == true,
            "the context message is consumed; another prefix is an event")
    }
}
