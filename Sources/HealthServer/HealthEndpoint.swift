public import Connector
import Foundation
public import Hummingbird
public import Logging
public import Prometheus

/// The HTTP endpoint: `/health`, `/health/live`, `/health/ready`, `/status`, `/metrics`, and
/// `POST /connectors/<name>/signals` for the connectors whose file enables it (`signals.http`).
public enum HealthEndpoint {
    /// Builds the application; run it as a `Service` (it stops when its service group shuts down). `signals`: the
    /// inboxes of the connectors that take signals over HTTP, by connector name.
    public static func application(
        host: String, port: Int, statuses: [ConnectorStatus], registry: PrometheusCollectorRegistry, logger: Logger,
        signals: [String: SignalInbox] = [:]
    ) -> some ApplicationProtocol {
        let router = Router()
        let names = Set(statuses.map(\.snapshot.name))
        router.post("/connectors/:name/signals") { request, context in
            let name = context.parameters.get("name") ?? ""
            guard names.contains(name) else {
                return json(SignalAnswer(error: "no connector named \(name) runs here"), status: .notFound)
            }
            guard let inbox = signals[name] else {
                return json(
                    SignalAnswer(error: "signals over HTTP are off for \(name); set signals.http: true in its file"),
                    status: .forbidden)
            }
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let signal = Signal(json: Array(buffer: body), defaultID: "http-\(UUID().uuidString)") else {
                return json(
                    SignalAnswer(error: #"the body must be a JSON object with "type" (and "data", "id")"#),
                    status: .badRequest)
            }
            do throws(SignalAction.Invalid) {
                _ = try SignalAction(signal)
            } catch {
                return json(SignalAnswer(id: signal.id, error: error.description), status: .badRequest)
            }
            inbox.post(signal)
            logger.info("signal accepted over HTTP", metadata: ["connector": "\(name)", "signal": "\(signal.id)"])
            return json(SignalAnswer(id: signal.id, status: "accepted"), status: .accepted)
        }
        router.get("/health") { _, _ in
            let report = HealthReport(connectors: statuses.map(\.snapshot))
            let failing = report.unhealthy
            return json(
                HealthBody(
                    status: failing.isEmpty ? "UP" : "DOWN",
                    connectors: report.connectors.map { connector in
                        let isFailing = failing.contains { $0.name == connector.name }
                        return .init(
                            name: connector.name, state: connector.state.rawValue, error: isFailing ? connector.lastError : nil)
                    }), status: failing.isEmpty ? .ok : .serviceUnavailable)
        }
        router.get("/health/live") { _, _ in
            let stuck = HealthReport(connectors: statuses.map(\.snapshot)).stuck
            return json(
                HealthBody(
                    status: stuck.isEmpty ? "UP" : "DOWN",
                    connectors: stuck.map { .init(name: $0.name, state: $0.state.rawValue, error: "no progress for over 120 s") }),
                status: stuck.isEmpty ? .ok : .serviceUnavailable)
        }
        router.get("/health/ready") { _, _ in
            let report = HealthReport(connectors: statuses.map(\.snapshot))
            let waiting = report.notReady
            let standby = report.standby
            return json(
                HealthBody(
                    status: !waiting.isEmpty ? "DOWN" : standby.isEmpty ? "UP" : "STANDBY",
                    connectors: (waiting + standby).map { .init(name: $0.name, state: $0.state.rawValue, error: $0.lastError) }),
                status: waiting.isEmpty ? .ok : .serviceUnavailable)
        }
        router.get("/status") { _, _ in
            json(StatusBody(connectors: statuses.map { StatusBody.Connector($0.snapshot) }), status: .ok)
        }
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "tributary"),
            onServerRunning: { channel in
                logger.info("health endpoint listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
            },
            logger: logger)
    }

    static func json(_ body: some Encodable, status: HTTPResponse.Status) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

struct HealthBody: Encodable {
    struct Connector: Encodable {
        var name: String
        var state: String
        var error: String?
    }

    var status: String
    var connectors: [Connector]
}

struct StatusBody: Encodable {
    struct Connector: Encodable {
        struct Positions: Encodable {
            var received: String
            var flushed: String
            var server: String
        }

        struct Lag: Encodable {
            var bytes: UInt64
            var ms: Int64
        }

        struct Events: Encodable {
            var total: UInt64
            var inFlight: Int
            var inFlightBytes: Int
            var deliveryErrors: UInt64
            var skipped: UInt64
            var deadLettered: UInt64
            var alreadyDelivered: UInt64

            enum CodingKeys: String, CodingKey {
                case total, skipped
                case alreadyDelivered = "already_delivered"
                case inFlight = "in_flight"
                case inFlightBytes = "in_flight_bytes"
                case deliveryErrors = "delivery_errors"
                case deadLettered = "dead_lettered"
            }
        }

        struct SlotWAL: Encodable {
            var retainedBytes: UInt64
            var walStatus: String
            var safeWALSize: Int64?

            enum CodingKeys: String, CodingKey {
                case retainedBytes = "retained_bytes"
                case walStatus = "wal_status"
                case safeWALSize = "safe_wal_size"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(retainedBytes, forKey: .retainedBytes)
                try container.encode(walStatus, forKey: .walStatus)
                try container.encode(safeWALSize, forKey: .safeWALSize)
            }
        }

        var name: String
        var state: String
        var slot: String
        var lsn: Positions
        var lag: Lag
        var events: Events
        struct Snapshot: Encodable {
            var tablesTotal: Int
            var tablesDone: Int
            var rowsEmitted: UInt64
            var rowsEstimated: Int64
            var rowsPerSecond: Int
            var completed: Bool

            enum CodingKeys: String, CodingKey {
                case tablesTotal = "tables_total"
                case tablesDone = "tables_done"
                case rowsEmitted = "rows_emitted"
                case rowsEstimated = "rows_estimated"
                case rowsPerSecond = "rows_per_second"
                case completed
            }
        }

        struct IncrementalSnapshot: Encodable {
            var table: String
            var tablesWaiting: Int
            var chunks: Int
            var rowsRead: Int
            var rowsEstimated: Int64
            var paused: Bool

            enum CodingKeys: String, CodingKey {
                case table, chunks, paused
                case tablesWaiting = "tables_waiting"
                case rowsRead = "rows_read"
                case rowsEstimated = "rows_estimated"
            }
        }

        var reconnects: UInt64
        var slotWAL: SlotWAL?
        var snapshot: Snapshot
        var incrementalSnapshot: IncrementalSnapshot?
        var lastError: String?

        enum CodingKeys: String, CodingKey {
            case name, state, slot, lsn, lag, events, reconnects, snapshot
            case slotWAL = "slot_wal"
            case incrementalSnapshot = "incremental_snapshot"
            case lastError = "last_error"
        }

        init(_ snapshot: ConnectorStatus.Snapshot) {
            name = snapshot.name
            state = snapshot.state.rawValue
            slot = snapshot.slot
            lsn = Positions(
                received: snapshot.receivedLSN.description, flushed: snapshot.flushedLSN.description,
                server: snapshot.serverLSN.description)
            lag = Lag(bytes: snapshot.lagBytes, ms: snapshot.lagMilliseconds)
            events = Events(
                total: snapshot.eventsTotal, inFlight: snapshot.inFlight, inFlightBytes: snapshot.inFlightBytes,
                deliveryErrors: snapshot.deliveryErrors, skipped: snapshot.eventsSkipped,
                deadLettered: snapshot.eventsDeadLettered, alreadyDelivered: snapshot.eventsAlreadyDelivered)
            slotWAL = snapshot.slotHealth.map {
                SlotWAL(retainedBytes: $0.retainedBytes, walStatus: $0.walStatus, safeWALSize: $0.safeWALSize)
            }
            reconnects = snapshot.reconnects
            self.snapshot = Snapshot(
                tablesTotal: snapshot.snapshot.tablesTotal, tablesDone: snapshot.snapshot.tablesDone,
                rowsEmitted: snapshot.snapshot.rowsEmitted, rowsEstimated: snapshot.snapshot.rowsEstimated,
                rowsPerSecond: Int(snapshot.snapshot.rowsPerSecond), completed: snapshot.snapshot.completed)
            incrementalSnapshot = snapshot.incrementalSnapshot.map {
                IncrementalSnapshot(
                    table: $0.table, tablesWaiting: $0.tablesWaiting, chunks: $0.chunks, rowsRead: $0.rowsRead,
                    rowsEstimated: $0.rowsEstimated, paused: $0.paused)
            }
            lastError = snapshot.lastError
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(state, forKey: .state)
            try container.encode(slot, forKey: .slot)
            try container.encode(lsn, forKey: .lsn)
            try container.encode(lag, forKey: .lag)
            try container.encode(events, forKey: .events)
            try container.encode(reconnects, forKey: .reconnects)
            try container.encode(slotWAL, forKey: .slotWAL)
            try container.encode(snapshot, forKey: .snapshot)
            // Always present, null when there is none, so consumers need not test for the key.
            try container.encode(incrementalSnapshot, forKey: .incrementalSnapshot)
            try container.encode(lastError, forKey: .lastError)
        }
    }

    var connectors: [Connector]
}

/// `POST /connectors/<name>/signals`'s answer.
struct SignalAnswer: Encodable {
    var id: String?
    var status: String?
    var error: String?
}
