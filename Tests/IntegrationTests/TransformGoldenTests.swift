import Testing

/// Debezium's transforms, each option group compared with what Debezium 3.6.3 wrote with the same settings
/// (Golden/unwrap-*, made by tools/debezium-reference/run.sh over unwrap.sql and unwrap-dml.sql; each file's header
/// names its transform properties).
@Suite(.serialized) struct TransformGoldenTests {
    static let topics = ["dbz.public.u_items", "dbz.public.u_pairs", "dbz.message"]

    static let unwrapCases: [(golden: String, transform: String, count: Int, captured: String?, topics: [String])] = [
        ("unwrap-default", "{type: unwrap}", 10, nil, topics),
        (
            "unwrap-rewrite",
            "{type: unwrap, add_fields: [op, table, lsn, source.ts_ms, db, ts_ms], add_headers: [op, source.lsn, db], "
                + "delete_tombstone_handling_mode: rewrite}", 10, nil, topics
        ),
        (
            "unwrap-prefixes",
            "{type: unwrap, delete_tombstone_handling_mode: rewrite-with-tombstone, add_fields_prefix: meta_, "
                + "add_headers_prefix: h_, add_fields: ['op:operation', source.xmin, source.snapshot, transaction.id], "
                + "add_headers: ['source.table:tbl', ts_us]}", 13, nil, topics
        ),
        ("unwrap-drop", "{type: unwrap, delete_tombstone_handling_mode: drop}", 7, nil, topics),
        // Kafka's HeaderFrom after unwrap, captured with SimpleHeaderConverter writing the headers (Debezium's run stops
        // at the logical message, which Kafka's transform refuses; Tributary passes it on, so only the table is compared).
        (
            "headerfrom-copy",
            "{type: unwrap, delete_tombstone_handling_mode: drop}, {type: header_from, fields: [id, price, tags, category], "
                + "headers: [item-id, price, tags, category], operation: copy}", 4, "public.u_items", ["dbz.public.u_items"]
        ),
        (
            "headerfrom-move",
            "{type: unwrap, delete_tombstone_handling_mode: rewrite}, {type: header_from, fields: [name, category], "
                + "headers: [name, category], operation: move}", 6, "public.u_items", ["dbz.public.u_items"]
        ),
        (
            "headerfrom-key",
            "{type: unwrap, delete_tombstone_handling_mode: rewrite}, {type: header_from, from: key, fields: [id], "
                + "headers: [item-id], operation: copy}", 6, "public.u_items", ["dbz.public.u_items"]
        ),
        (
            "unwrap-route",
            "{type: unwrap, delete_tombstone_handling_mode: delete-to-tombstone, route_by_field: category}", 7,
            "public.u_items", ["books", "games", "dbz.public.u_items", "dbz.message"]
        ),
    ]

    static let routingCases: [(golden: String, transform: String, count: Int, topics: [String])] = [
        (
            "route-logical",
            #"[{type: logical_table_router, topic_regex: 'dbz\.public\.u_(.*)', topic_replacement: dbz.public.u_all}]"#, 14,
            ["dbz.public.u_all", "dbz.message"]
        ),
        (
            "route-logical-nokey",
            #"[{type: logical_table_router, topic_regex: 'dbz\.public\.u_(.*)', topic_replacement: dbz.public.u_all, key_enforce_uniqueness: false}]"#,
            14, ["dbz.public.u_all", "dbz.message"]
        ),
        (
            "route-regex", #"[{type: unwrap}, {type: regex_router, regex: 'dbz\.public\.(.*)', replacement: 'cdc.$1'}]"#, 10,
            ["cdc.u_items", "cdc.u_pairs", "dbz.message"]
        ),
        (
            "insert-header",
            "[{type: unwrap}, {type: insert_header, header: source-system, value_literal: orders-db}, "
                + "{type: insert_header, header: schema-version, value_literal: '42'}, "
                + "{type: insert_header, header: weight, value_literal: '1.50'}]", 10,
            ["dbz.public.u_items", "dbz.public.u_pairs", "dbz.message"]
        ),
    ]

    static let outboxCases: [(golden: String, transform: String, count: Int, topics: [String])] = [
        ("outbox-default", "[{type: outbox}]", 3, ["outbox.event.Order", "outbox.event.Customer"]),
        (
            "outbox-fields",
            "[{type: outbox, table_fields_additional_placement: ['type:header:eventType', 'aggregatetype:envelope:aggregate', "
                + "'version:envelope'], route_tombstone_on_empty_payload: true, route_topic_replacement: 'events.$${routedByValue}'}]",
            3, ["events.Order", "events.Customer"]
        ),
    ]

    /// Debezium's CloudEventsConverter as the value converter (Golden/cloudevents-*: VALUE_FORMAT=cloudevents).
    static let cloudEventsCases:
        [(golden: String, events: String, transform: String?, count: Int, topics: [String], snapshot: Bool)] = [
            ("cloudevents-default", "format: cloudevents", nil, 14, topics, false),
            (
                "cloudevents-snapshot", "format: cloudevents", nil, 1,
                ["dbz.public.u_items"], true
            ),
            (
                "cloudevents-routed", "format: cloudevents, cloudevents_extension_attributes: false",
                #"[{type: logical_table_router, topic_regex: 'dbz\.public\.u_(.*)', topic_replacement: dbz.public.u_all}]"#, 14,
                ["dbz.public.u_all", "dbz.message"], false
            ),
        ]

    /// Data events become CloudEvents with the envelope's attributes; tombstones stay, a logical message's value is
    /// null; a routed event's data schema takes the routed names.
    @Test(arguments: cloudEventsCases.indices, [false, true])
    func cloudEventsMatchDebezium(index: Int, schemas: Bool) async throws {
        let golden = Self.cloudEventsCases[index]
        try await TypeFidelityTests().run(
            golden.golden, ddl: "unwrap.sql", dml: "unwrap-dml.sql", schemas: schemas, events: golden.events,
            expectedCount: golden.count, topics: golden.topics, transforms: golden.transform,
            dataBeforeStart: golden.snapshot)
    }

    /// changed_fields before unwrap, whose drop_fields options leave unchanged columns out (Golden/changed-*, over
    /// changed.sql: a REPLICA IDENTITY FULL table, so updates carry the old row).
    static let changedCases: [(golden: String, transform: String, count: Int, topics: [String])] = [
        (
            "changed-drop",
            "[{type: changed_fields, header_changed_name: Changed, header_unchanged_name: Unchanged}, "
                + "{type: unwrap, drop_fields_header_name: Unchanged, delete_tombstone_handling_mode: rewrite}]", 5,
            ["dbz.public.c_items"]
        ),
        (
            "changed-drop-all",
            "[{type: changed_fields, header_changed_name: Changed, header_unchanged_name: Unchanged}, "
                + "{type: unwrap, drop_fields_header_name: Unchanged, delete_tombstone_handling_mode: rewrite, "
                + "drop_fields_keep_schema_compatible: false, drop_fields_from_key: true}]", 5, ["dbz.public.c_items"]
        ),
    ]

    @Test(arguments: changedCases.indices, [false, true])
    func changedFieldsMatchDebezium(index: Int, schemas: Bool) async throws {
        try await Self.compare(Self.changedCases[index], ddl: "changed.sql", dml: "changed-dml.sql", schemas: schemas)
    }

    /// `table_expand_json_payload` over nested objects, arrays, numbers of each size, nulls, a JSON string and `{}`.
    static let outboxExpandCases: [(golden: String, transform: String, count: Int, topics: [String])] = [
        (
            "outbox-expand",
            "[{type: outbox, table_expand_json_payload: true, table_fields_additional_placement: ['type:header:eventType']}]",
            3, ["outbox.event.Order", "outbox.event.Customer"]
        ),
        (
            "outbox-expand-envelope",
            "[{type: outbox, table_expand_json_payload: true, table_fields_additional_placement: ['type:envelope:eventType', "
                + "'version:envelope'], table_json_payload_null_behavior: optional_bytes}]",
            3, ["outbox.event.Order", "outbox.event.Customer"]
        ),
    ]

    @Test(arguments: outboxExpandCases.indices, [false, true])
    func outboxExpansionMatchesDebezium(index: Int, schemas: Bool) async throws {
        try await Self.compare(
            Self.outboxExpandCases[index], ddl: "outbox.sql", dml: "outbox-expand-dml.sql", schemas: schemas)
    }

    /// Inserts become events (one deleted in its own transaction too), the update is skipped with a warning.
    @Test(arguments: outboxCases.indices, [false, true])
    func outboxMatchesDebezium(index: Int, schemas: Bool) async throws {
        try await Self.compare(Self.outboxCases[index], ddl: "outbox.sql", dml: "outbox-dml.sql", schemas: schemas)
    }

    /// Runs one case's transforms over the reference tool's statements and compares with its golden file.
    static func compare(
        _ golden: (golden: String, transform: String, count: Int, topics: [String]), ddl: String, dml: String,
        schemas: Bool
    ) async throws {
        try await TypeFidelityTests().run(
            golden.golden, ddl: ddl, dml: dml, schemas: schemas, expectedCount: golden.count, topics: golden.topics,
            transforms: golden.transform)
    }

    @Test(arguments: routingCases.indices, [false, true])
    func routingMatchesDebezium(index: Int, schemas: Bool) async throws {
        try await Self.compare(Self.routingCases[index], ddl: "unwrap.sql", dml: "unwrap-dml.sql", schemas: schemas)
    }

    @Test(arguments: unwrapCases.indices, [false, true])
    func unwrapMatchesDebezium(index: Int, schemas: Bool) async throws {
        let unwrap = Self.unwrapCases[index]
        try await TypeFidelityTests().run(
            unwrap.golden, ddl: "unwrap.sql", dml: "unwrap-dml.sql", schemas: schemas, expectedCount: unwrap.count,
            topics: unwrap.topics, transforms: "[\(unwrap.transform)]", captured: unwrap.captured)
    }
}
