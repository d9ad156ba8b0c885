import ArgumentParser
import ChangeEvents
import Foundation
import PGOutput
import PostgresReplication
import TestSupport

/// The per-event path without I/O: captured pgoutput frames → decoded messages → Debezium JSON bytes, on one thread.
struct Micro: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Events per second of decode + encode, on one core, for a 6-column and a 30-column row, plain and through "
            + "unwrap, and for an outbox table, plain and through the outbox router.")

    @Option(help: "Rows captured from PostgreSQL per table.")
    var rows = 100_000

    @Option(help: "CPU seconds of each measured round.")
    var seconds = 1.0

    @Option(help: "Rounds per case; the median round is reported (this machine's neighbours make single rounds noisy).")
    var rounds = 7

    @Option(help: "narrow, wide (issue 19's 30 common types), everytype, outbox, or all.")
    var table = "all"

    @Option(help: "plain, the table's transform (unwrap, or outbox for the outbox table), avro, or both (all).")
    var transform = "both"

    @Flag(help: "Frames as pgoutput's binary option sends them, read back as text (postgres.pgoutput_binary).")
    var binary = false

    func run() throws {
        let server = try PostgresServer.start()
        let db = try server.createDatabase("micro")
        defer { db.close() }
        try db.execute(BenchTables.narrowDDL)
        try db.execute(BenchTables.wideDDL)
        try db.execute(BenchTables.everyTypeDDL)
        try db.execute(BenchTables.outboxDDL)
        try db.execute("CREATE PUBLICATION micro FOR ALL TABLES")
        let cases = [
            ("narrow", BenchTables.narrowInsert), ("wide", BenchTables.wideInsert),
            ("everytype", BenchTables.everyTypeInsert), ("outbox", BenchTables.outboxInsert),
        ].filter { self.table == "all" || self.table == "both" || self.table == $0.0 }
        for (table, insert) in cases {
            try db.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", ["micro_\(table)"])
            try db.execute(insert(1, rows))
            // The messages exactly as the walsender sends them, each put in an XLogData frame.
            let messages = try db.execute(
                "SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, "
                    + "'proto_version', '1', 'publication_names', 'micro', 'binary', $2)",
                ["micro_\(table)", binary ? "true" : "false"])
            var frames: [[UInt8]] = []
            for row in messages {
                guard let text = row[0], let lsn = LSN(text), let hex = row[1] else { continue }
                frames.append(PGOutputBytes.xLogData(lsn, PGOutputBytes.bytes(byteaHex: hex)))
            }
            let oidText = try db.execute("SELECT $1::regclass::oid", ["public.\(table)"]).first?.first ?? nil
            guard let relationOID = oidText.flatMap({ UInt32($0) }) else { throw ValidationError("no table \(table)") }
            let facts = try db.tableMetadata(relationOID: relationOID)
            let metadata = TableMetadata(primaryKey: facts.primaryKey, notNull: facts.notNull, types: facts.types)
            // The plain envelope, then the same rows through unwrap with the fields a sink feed usually adds (or, for
            // the outbox table, through the outbox router with its defaults).
            var unwrap = Unwrap.Options()
            unwrap.addFields = ["op", "table", "lsn", "source.ts_ms"]
            unwrap.deleteHandling = .rewrite
            let transformName = table == "outbox" ? "outbox" : "unwrap"
            var shapes: [(String, Transform?)] = [
                ("", nil), ("+" + transformName, table == "outbox" ? .outbox(OutboxRouter.Options()) : .unwrap(unwrap)),
            ]
            if table != "outbox" { shapes.append(("+avro", .avro)) }
            let measured = shapes.filter { shape in
                guard self.transform != "both" else { return true }
                switch shape.1 {
                case nil: return self.transform == "plain"
                case .avro?: return self.transform == "avro"
                default: return self.transform == transformName
                }
            }
            // Rounds of the shapes alternate, so that a neighbour taking the core slows both alike; the transform's
            // cost is the median of its ratio to the plain round next to it.
            var results = measured.map { _ in [(eventsPerSecond: Double, bytesPerEvent: Double)]() }
            var ratios = measured.map { _ in [Double]() }
            for _ in 0..<max(1, rounds) {
                for (index, shape) in measured.enumerated() {
                    results[index].append(
                        try Self.measure(
                            frames: frames, metadata: metadata, seconds: seconds, transform: shape.1, binary: binary))
                }
                guard measured.first?.1 == nil, let plain = results[0].last else { continue }
                for index in measured.indices.dropFirst() {
                    if let other = results[index].last { ratios[index].append(plain.eventsPerSecond / other.eventsPerSecond) }
                }
            }
            for (index, (label, _)) in measured.enumerated() {
                let rounds = results[index]
                let result = rounds.sorted { $0.eventsPerSecond < $1.eventsPerSecond }[rounds.count / 2]
                print(
                    String(
                        format:
                            "micro %-16@ %2d columns%@: %10.0f events per CPU second, median of %d rounds (%.0f ns/event, %.0f bytes/event)",
                        (table + label) as NSString, table == "narrow" ? 6 : table == "outbox" ? 5 : 30,
                        (binary ? ", binary" : "") as NSString, result.eventsPerSecond, rounds.count,
                        1e9 / result.eventsPerSecond,
                        result.bytesPerEvent))
            }
            for (index, (label, _)) in measured.enumerated() where !ratios[index].isEmpty {
                let sorted = ratios[index].sorted()
                print(
                    String(
                        format: "micro %-16@ costs %.2fx the plain event (median of %d paired rounds, %.2f to %.2f)",
                        (table + label) as NSString, sorted[sorted.count / 2], sorted.count, sorted.first!, sorted.last!))
            }
        }
    }

    /// A transform measured after the envelope is written.
    enum Transform: Equatable {
        case unwrap(Unwrap.Options)
        case outbox(OutboxRouter.Options)
        /// Key and value as Confluent's AvroConverter writes them (ids from a registry that answers at once).
        case avro

        static func == (lhs: Transform, rhs: Transform) -> Bool {
            switch (lhs, rhs) {
            case (.avro, .avro): true
            case (.unwrap, .unwrap), (.outbox, .outbox): true
            default: false
            }
        }
    }

    static func measure(
        frames: [[UInt8]], metadata: TableMetadata, seconds: Double, transform: Transform? = nil, binary: Bool = false
    ) throws -> (
        eventsPerSecond: Double, bytesPerEvent: Double
    ) {
        let avro = transform == .avro
        // Avro as the connector writes it without transforms: by the builder itself, the ids filled in by the stage
        // for the first events of each schema.
        let ids = AvroSchemaIDs()
        let settings = EventSettings(
            topicPrefix: "bench", databaseName: "micro", schemas: avro, version: "0.1.0",
            envelopeLayouts: transform != nil && !avro, avro: avro ? ids : nil)
        var events = 0
        var bytes = 0
        // The thread's own CPU time, not the wall clock: another process taking the core does not count.
        let start = threadCPUSeconds()
        var secondsElapsed = 0.0
        while secondsElapsed < seconds {
            var builder = ChangeEventBuilder(settings: settings)
            var unwrap: Unwrap?
            var outbox: OutboxRouter?
            var conversion: AvroConversion?
            switch transform {
            case .unwrap(let options)?: unwrap = try Unwrap(options, schemas: false)
            case .outbox(let options)?: outbox = try OutboxRouter(options, schemas: false)
            case .avro?: conversion = AvroConversion()
            case nil: break
            }
            for frame in frames {
                guard case .xLogData(let data) = try ReplicationFrame.decode(frame) else { continue }
                // Binary values (--binary) are written by the builder itself, as the connector does.
                let message = try data.message()
                switch message {
                case .relation(let relation):
                    try builder.register(relation, metadata: metadata)
                case .begin(let begin):
                    builder.begin(begin)
                case .commit(let commit):
                    builder.commit(commit)
                default:
                    try builder.events(for: message, at: data.walStart, nowNanos: 1_700_000_000_000_000_000) { written in
                        var event = consume written  // handed over: no copy
                        // Optional chaining changes the transform in place; `unwrap!` would copy it for each event.
                        if try unwrap?.apply(&event) == false { return }
                        if try outbox?.apply(&event) == false { return }
                        if conversion != nil {
                            try conversion?.complete(&event, ids: ids) { _, schema in schema.connect.name == nil ? 1 : 2 }
                        }
                        events += 1
                        bytes += (event.key?.count ?? 0) + (event.value?.count ?? 0)
                    }
                }
            }
            secondsElapsed = threadCPUSeconds() - start
        }
        return (Double(events) / secondsElapsed, Double(bytes) / Double(max(events, 1)))
    }

    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

}

/// The benchmark tables: the 6-column row, and a 30-column row with every common type.
enum BenchTables {
    static let narrowDDL =
        "CREATE TABLE narrow (id int8 PRIMARY KEY, name text, qty int4, price numeric(12,2), at timestamptz, ok bool)"

    static func narrowInsert(_ from: Int, _ to: Int) -> String {
        "INSERT INTO narrow SELECT g, 'name ' || g, g % 1000, (g % 100000) / 100.0, "
            + "'2026-01-01'::timestamptz + g * interval '1 second', g % 2 = 0 FROM generate_series(\(from), \(to)) g"
    }

    static let outboxDDL =
        "CREATE TABLE outbox (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, aggregateid varchar(255) NOT NULL, "
        + "type varchar(255) NOT NULL, payload jsonb)"

    /// Order events with a payload of about 150 bytes.
    static func outboxInsert(_ from: Int, _ to: Int) -> String {
        "INSERT INTO outbox SELECT md5(g::text)::uuid, 'Order', g::text, 'OrderPlaced', jsonb_build_object('id', g, "
            + "'customer', 'customer ' || (g % 1000), 'total', (g % 100000) / 100.0, 'lines', jsonb_build_array("
            + "jsonb_build_object('sku', 'sku-' || (g % 50), 'qty', g % 5 + 1))) FROM generate_series(\(from), \(to)) g"
    }

    /// The 30 columns of common types issue 19 measures (streaming, snapshot and the per-event path).
    static let wideDDL = """
        CREATE TABLE wide (id int8 PRIMARY KEY, c_small int2, c_int int4, c_big int8, c_price numeric(12,2),
          c_amount numeric, c_real float4, c_double float8, c_flag bool, c_text text, c_name varchar(64), c_code char(8),
          c_uuid uuid, c_date date, c_time time, c_ts timestamp, c_tstz timestamptz, c_interval interval, c_doc jsonb,
          c_bytes bytea, c_ints int4[], c_tags text[], c_ip inet, c_rate numeric(20,6), c_ts3 timestamp(3),
          c_note text, c_counter int8, c_active bool, c_day date, c_title varchar(255))
        """

    static func wideInsert(_ from: Int, _ to: Int) -> String {
        """
        INSERT INTO wide SELECT g, (g % 30000)::int2, g::int4, g * 1000, (g % 1000000) / 100.0, g / 7.0, g / 3.0,
          g / 9.0, g % 2 = 0, 'text value ' || g, 'name ' || g, 'c' || (g % 10), md5(g::text)::uuid,
          '2026-01-01'::date + (g % 1000), '12:34:56.789'::time, '2026-01-01 00:00:00'::timestamp + g * interval '1 ms',
          '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 s', make_interval(days => g % 30, secs => g % 60),
          jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b')), decode(md5(g::text), 'hex'),
          ARRAY[g, g + 1, g + 2], ARRAY['a', 'b ' || g], '10.1.2.3'::inet, g / 13.0,
          '2026-01-01 00:00:00'::timestamp + g * interval '1.5 ms', 'a longer note about row ' || g || ' for the bench',
          g * 7, g % 3 = 0, '2025-06-01'::date + (g % 365), 'title of row ' || g
        FROM generate_series(\(from), \(to)) g
        """
    }

    /// A 30-column row with nearly every type the connector encodes (the per-event path's breadth).
    static let everyTypeDDL = """
        CREATE TABLE everytype (id int8 PRIMARY KEY, a_small int2, a_int int4, a_big int8, a_real float4, a_double float8,
          a_numeric numeric(14,4), a_money money, a_text text, a_varchar varchar(64), a_char char(8), a_bool bool,
          a_date date, a_time time, a_timetz timetz, a_ts timestamp, a_tstz timestamptz, a_interval interval,
          a_uuid uuid, a_json json, a_jsonb jsonb, a_bytea bytea, a_inet inet, a_cidr cidr, a_macaddr macaddr,
          a_int_array int4[], a_text_array text[], a_bit bit(8), a_xml xml, a_tsrange tsrange)
        """

    static func everyTypeInsert(_ from: Int, _ to: Int) -> String {
        """
        INSERT INTO everytype SELECT g, (g % 30000)::int2, g::int4, g * 1000, g / 7.0, g / 3.0, g / 9.0, g / 100.0,
          'text ' || g, 'varchar ' || g, 'c' || (g % 10), g % 2 = 0, '2026-01-01'::date + (g % 1000),
          '12:34:56.789'::time, '12:34:56+02'::timetz, '2026-01-01 00:00:00'::timestamp + g * interval '1 ms',
          '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 s', make_interval(days => g % 30, secs => g % 60),
          md5(g::text)::uuid, json_build_object('n', g, 's', 'x'), jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b')),
          decode(md5(g::text), 'hex'), '10.1.2.3'::inet, '10.1.0.0/16'::cidr, '08:00:2b:01:02:03'::macaddr,
          ARRAY[g, g + 1, g + 2], ARRAY['a', 'b ' || g], (g % 256)::bit(8), ('<a>' || g || '</a>')::xml,
          tsrange('2026-01-01', '2026-01-02')
        FROM generate_series(\(from), \(to)) g
        """
    }
}
