import Foundation
import KafkaSink
import PostgresReplication
import TestSupport

/// One connector under test: its database, an embedded Kafka in this process, and a connector file.
final class Harness: @unchecked Sendable {
    let server: PostgresServer
    let database: String
    let db: CatalogClient
    let kafka: EmbeddedKafka
    let configPath: String

    init(
        database: String, tables: String? = nil, extra: String = "", topicPrefix: String = "it", snapshotMode: String = "initial",
        kafkaExtra: String = "", postgresExtra: String = "", snapshotExtra: String = "", server: PostgresServer? = nil,
        connectorURL: String? = nil
    ) throws {
        self.server = try server ?? PostgresServer.start()
        self.database = database
        db = try self.server.createDatabase(database)
        kafka = try EmbeddedKafka(brokers: 1)
        configPath = try Self.writeConnectorFile(
            name: database.replacingOccurrences(of: "_", with: "-"), url: connectorURL ?? self.server.url(database: database),
            bootstrapServers: kafka.bootstrapServers, postgresExtra: tables.map { "tables: [\($0)]" } ?? postgresExtra,
            extra: extra,
            topicPrefix: topicPrefix, snapshotMode: snapshotMode, kafkaExtra: kafkaExtra, snapshotExtra: snapshotExtra)
    }

    /// Drops the database's inactive slots: the suite shares one server, whose `max_replication_slots` a slot left
    /// behind by every test would exhaust (and each would hold back WAL).
    deinit {
        _ = try? db.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                + "WHERE database = current_database() AND NOT active")
    }

    /// Writes a connector file into a fresh temporary directory and returns its path.
    static func writeConnectorFile(
        name: String, url: String, bootstrapServers: String, postgresExtra: String = "", extra: String = "",
        topicPrefix: String = "it", snapshotMode: String = "initial", kafkaExtra: String = "", snapshotExtra: String = ""
    ) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("\(name).yaml").path
        let config = """
            name: \(name)
            postgres:
              url: \(url)
              status_interval: 1s
              \(postgresExtra)
            kafka:
              bootstrap_servers: \(bootstrapServers)
              topic_prefix: \(topicPrefix)
              \(kafkaExtra)
            snapshot:
              mode: \(snapshotMode)
              state_directory: \(directory.appendingPathComponent("state").path)
              \(snapshotExtra)
            \(extra)
            """
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    var slot: String { "tributary_\(database)" }

    func startConnector(waitFor text: String = "streaming", healthPort: Int? = nil) async throws -> TributaryProcess {
        let process = try TributaryProcess(
            ["run", configPath, "--log-level", "debug", "--health-port", "\(try healthPort ?? PostgresServer.freePort())"])
        try await process.waitForLog(text)
        return process
    }

    /// The connector's entry of `/status` on the health endpoint at `port`.
    static func status(port: Int) async throws -> [String: Any] {
        let response = try await httpGet("http://127.0.0.1:\(port)/status")
        let body = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
        return (body?["connectors"] as? [[String: Any]])?.first ?? [:]
    }

    /// Polls `/status` until the connector's state is `state`; returns that status.
    static func waitForState(
        _ state: String, port: Int, timeout: Duration = .seconds(30), process: TributaryProcess? = nil
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            if let status = try? await status(port: port) {
                last = status
                if status["state"] as? String == state { return status }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("state stayed \(last["state"] ?? "?") (wanted \(state)): \(last)\n\(process?.log ?? "")")
    }

    /// Runs statements in one transaction and returns its transaction id.
    @discardableResult
    func transaction(_ statements: [String]) throws -> Int64 {
        try db.execute("BEGIN")
        for statement in statements { try db.execute(statement) }
        let xid = Int64(try db.execute("SELECT txid_current()").first?.first.flatMap { $0 } ?? "") ?? -1
        try db.execute("COMMIT")
        return xid
    }

    func currentWAL() throws -> String {
        try db.execute("SELECT pg_current_wal_lsn()::text").first?.first.flatMap { $0 } ?? ""
    }

    func confirmedFlush() throws -> String? {
        try db.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", [slot]).first?.first
            ?? nil
    }

    /// Whether the slot's confirmed position has reached `lsn`.
    func slotReached(_ lsn: String) throws -> Bool {
        guard let confirmed = try confirmedFlush() else { return false }
        return try db.execute("SELECT $1::pg_lsn >= $2::pg_lsn", [confirmed, lsn]).first?.first == "t"
    }

    func waitForSlot(toReach lsn: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try !slotReached(lsn) {
            guard ContinuousClock.now < deadline else {
                throw TestSupportError("slot \(slot) stayed at \(try confirmedFlush() ?? "?"), expected \(lsn)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func records(_ topics: [String], atLeast count: Int) async throws -> [KafkaRecord] {
        try await KafkaCollector.records(bootstrapServers: kafka.bootstrapServers, topics: topics, atLeast: count)
    }
}

/// Runs `body` on a new thread; the task's value is its outcome.
func onThread(_ body: @escaping @Sendable () throws -> Void) -> Task<Void, any Error> {
    Task { try await onOwnThread(body) }
}

/// A decoded event value, for assertions.
struct Event {
    let record: KafkaRecord
    let value: [String: Any]?

    init(_ record: KafkaRecord) {
        self.record = record
        value = record.value.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }

    var key: String? { record.keyText }
    var isTombstone: Bool { record.value == nil }
    var op: String? { value?["op"] as? String }
    var before: [String: Any]? { value?["before"] as? [String: Any] }
    var after: [String: Any]? { value?["after"] as? [String: Any] }
    var source: [String: Any] { value?["source"] as? [String: Any] ?? [:] }
    var lsn: Int64? { (source["lsn"] as? NSNumber)?.int64Value }
    var txId: Int64? { (source["txId"] as? NSNumber)?.int64Value }

    func header(_ name: String) -> String? {
        record.headers[name].flatMap { $0.map { String(decoding: $0, as: UTF8.self) } }
    }
}

/// Kafka's Java partitioner for a keyed record: `toPositive(murmur2(key)) % partitions` (`Utils.murmur2`).
func javaPartition(_ key: [UInt8], partitions: Int) -> Int {
    let seed: UInt32 = 0x9747_b28c
    let m: UInt32 = 0x5bd1_e995
    let length = key.count
    var h = seed ^ UInt32(truncatingIfNeeded: length)
    var index = 0
    while index + 4 <= length {
        var k = UInt32(key[index]) | UInt32(key[index + 1]) << 8 | UInt32(key[index + 2]) << 16 | UInt32(key[index + 3]) << 24
        k = k &* m
        k ^= k >> 24
        k = k &* m
        h = h &* m
        h ^= k
        index += 4
    }
    let rest = length - index
    if rest >= 3 { h ^= UInt32(key[index + 2]) << 16 }
    if rest >= 2 { h ^= UInt32(key[index + 1]) << 8 }
    if rest >= 1 {
        h ^= UInt32(key[index])
        h = h &* m
    }
    h ^= h >> 13
    h = h &* m
    h ^= h >> 15
    return Int(h & 0x7fff_ffff) % partitions
}
