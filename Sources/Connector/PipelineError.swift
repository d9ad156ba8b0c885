public import PGOutput

/// Why the pipeline stopped, with the position and bytes needed to reproduce it.
public enum PipelineError: Error, CustomStringConvertible {
    /// A frame from the server could not be decoded.
    case decode(lsn: LSN?, messageType: UInt8?, payload: [UInt8], underlying: PGOutputError)
    /// A change could not be turned into an event.
    case encode(lsn: LSN, underlying: any Error)
    /// A value is not what its column's type produces, and `errors.mode` is fail.
    case unwritable(lsn: LSN, underlying: any Error)
    /// Kafka did not acknowledge an event (timed out, cluster gone): a new session sends it again.
    case delivery(underlying: any Error)
    /// Kafka refused an event for good and `errors.mode` is fail.
    case refused(lsn: LSN?, table: String, underlying: SinkFailure)
    /// Nothing came on the replication stream for `postgres.receive_timeout`, not even a keepalive asked for.
    case silentServer(timeout: Duration)

    /// Whether retrying cannot help: the connector reports `failed` rather than `reconnecting`.
    public var isPermanent: Bool {
        switch self {
        case .refused, .unwritable: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .decode(let lsn, let type, let payload, let underlying):
            let kind = type.map { "'\(Character(UnicodeScalar($0)))'" } ?? "?"
            let hex = payload.prefix(256).map {
                String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
            }.joined()
            return
                "cannot decode message \(kind) at LSN \(lsn.map(\.description) ?? "?"): \(underlying); payload \(hex)\(payload.count > 256 ? "…" : "")"
        case .encode(let lsn, let underlying):
            return "cannot encode change at LSN \(lsn): \(underlying)"
        case .unwritable(let lsn, let underlying):
            return
                "cannot write the change at LSN \(lsn) as an event: \(underlying); the connector stops here without "
                + "confirming it. Set errors.mode to skip or dead_letter to go on without it"
        case .delivery(let underlying):
            return "Kafka did not acknowledge an event: \(underlying)"
        case .refused(let lsn, let table, let underlying):
            return
                "Kafka refused an event of \(table) at LSN \(lsn.map(\.description) ?? "?") "
                + "(\((underlying.event.key?.count ?? 0) + (underlying.event.value?.count ?? 0)) bytes) for good: \(underlying.message); "
                + "the connector stops here without confirming it. Fix the cause (for a too-large event raise the topic's "
                + "max.message.bytes and kafka.properties message.max.bytes; librdkafka takes at most 1000000000), "
                + "or set errors.mode to skip or dead_letter"
        case .silentServer(let timeout):
            return
                "PostgreSQL sent nothing on the replication stream for \(timeout), not even the keepalive asked for: "
                + "taking the connection for dead (a network partition or a hung server) and starting again from the slot; "
                + "if the server is only slow, raise postgres.receive_timeout"
        }
    }
}
