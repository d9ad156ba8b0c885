import ChangeEvents
import Metrics

/// A connector's metrics, through swift-metrics (exported in Prometheus format by the HTTP endpoint).
///
/// The pipeline counts events in plain integers and hands them over at each status tick,
/// so the per-event path never touches a metrics lock.
final class ConnectorMetrics {
    private let connector: String
    private var eventCounters: [String: Counter] = [:]
    private let bytes: Counter
    private let deliveryErrors: Counter
    private let reconnects: Counter
    private let received: Gauge
    private let flushed: Gauge
    private let server: Gauge
    private let lagBytes: Gauge
    private let lagMilliseconds: Gauge
    private let inFlight: Gauge
    private let inFlightBytes: Gauge
    private let retainedWAL: Gauge
    private let safeWALSize: Gauge
    private let walStatuses: [String: Gauge]
    private let refused: [String: Counter]
    private let alreadyDelivered: Counter
    private let slotLost: [String: Counter]
    private let registryRequests: [String: Counter]
    private let signals: [String: Counter]
    private let incrementalRows: Counter
    private let states: [ConnectorStatus.State: Gauge]

    init(connector: String) {
        self.connector = connector
        let dimensions = [("connector", connector)]
        bytes = Counter(label: "tributary_bytes_produced_total", dimensions: dimensions)
        deliveryErrors = Counter(label: "tributary_kafka_delivery_errors_total", dimensions: dimensions)
        reconnects = Counter(label: "tributary_reconnects_total", dimensions: dimensions)
        alreadyDelivered = Counter(label: "tributary_events_already_delivered_total", dimensions: dimensions)
        registryRequests = Dictionary(
            uniqueKeysWithValues: ["ok", "refused", "unavailable", "unauthorized"].map {
                ($0, Counter(label: "tributary_schema_registry_requests_total", dimensions: dimensions + [("outcome", $0)]))
            })
        signals = Dictionary(
            uniqueKeysWithValues: ["acted", "skipped"].map {
                ($0, Counter(label: "tributary_signals_total", dimensions: dimensions + [("outcome", $0)]))
            })
        incrementalRows = Counter(label: "tributary_incremental_snapshot_rows_total", dimensions: dimensions)
        received = Gauge(label: "tributary_lsn_received", dimensions: dimensions)
        flushed = Gauge(label: "tributary_lsn_flushed", dimensions: dimensions)
        server = Gauge(label: "tributary_lsn_server", dimensions: dimensions)
        lagBytes = Gauge(label: "tributary_lag_bytes", dimensions: dimensions)
        lagMilliseconds = Gauge(label: "tributary_lag_milliseconds", dimensions: dimensions)
        inFlight = Gauge(label: "tributary_kafka_in_flight_messages", dimensions: dimensions)
        inFlightBytes = Gauge(label: "tributary_kafka_in_flight_bytes", dimensions: dimensions)
        retainedWAL = Gauge(label: "tributary_slot_retained_wal_bytes", dimensions: dimensions)
        safeWALSize = Gauge(label: "tributary_slot_safe_wal_size_bytes", dimensions: dimensions)
        var walStatuses: [String: Gauge] = [:]
        for status in SlotHealth.walStatuses {
            walStatuses[status] = Gauge(label: "tributary_slot_wal_status", dimensions: dimensions + [("status", status)])
        }
        self.walStatuses = walStatuses
        refused = Dictionary(
            uniqueKeysWithValues: ["skip", "dead_letter"].map {
                ($0, Counter(label: "tributary_events_refused_total", dimensions: dimensions + [("action", $0)]))
            })
        slotLost = Dictionary(
            uniqueKeysWithValues: ConnectorConfig.SlotLostAction.allCases.map {
                ($0.rawValue, Counter(label: "tributary_slot_lost_total", dimensions: dimensions + [("action", $0.rawValue)]))
            })
        var states: [ConnectorStatus.State: Gauge] = [:]
        for state in ConnectorStatus.State.allCases {
            states[state] = Gauge(label: "tributary_connector_state", dimensions: dimensions + [("state", state.rawValue)])
        }
        self.states = states
    }

    /// A slot that could not continue the stream was found, and `action` was taken.
    func countSlotLost(action: String) {
        slotLost[action]?.increment()
    }

    func countEvents(table: String, op: String, count: UInt64) {
        let key = "\(table)\u{0}\(op)"
        let counter: Counter
        if let existing = eventCounters[key] {
            counter = existing
        } else {
            counter = Counter(
                label: "tributary_events_total", dimensions: [("connector", connector), ("table", table), ("op", op)])
            eventCounters[key] = counter
        }
        counter.increment(by: Int64(clamping: count))
    }

    func countBytes(_ count: UInt64) {
        bytes.increment(by: Int64(clamping: count))
    }

    func countDeliveryError() {
        deliveryErrors.increment()
    }

    /// Records a replay left out because Kafka already held them.
    func countAlreadyDelivered(_ count: UInt64) {
        if count > 0 { alreadyDelivered.increment(by: Int64(clamping: count)) }
    }

    /// A schema registry request (once per new schema and subject) and how it ended.
    func countRegistryRequest(outcome: String) {
        registryRequests[outcome]?.increment()
    }

    /// A signal read: acted on, or skipped (malformed, unknown, naming no captured table).
    func countSignal(acted: Bool) {
        signals[acted ? "acted" : "skipped"]?.increment()
    }

    /// Rows an incremental snapshot sent.
    func countIncrementalRows(_ count: Int) {
        if count > 0 { incrementalRows.increment(by: Int64(count)) }
    }

    func countRefused(mode: String) {
        refused[mode]?.increment()
    }

    func record(_ health: SlotHealth) {
        retainedWAL.record(Double(health.retainedBytes))
        safeWALSize.record(Double(health.safeWALSize ?? -1))
        for (status, gauge) in walStatuses { gauge.record(status == health.walStatus ? 1 : 0) }
    }

    func countReconnect() {
        reconnects.increment()
    }

    func record(_ snapshot: ConnectorStatus.Snapshot) {
        received.record(Double(snapshot.receivedLSN.rawValue))
        flushed.record(Double(snapshot.flushedLSN.rawValue))
        server.record(Double(snapshot.serverLSN.rawValue))
        lagBytes.record(Double(snapshot.lagBytes))
        lagMilliseconds.record(Double(snapshot.lagMilliseconds))
        inFlight.record(Double(snapshot.inFlight))
        inFlightBytes.record(Double(snapshot.inFlightBytes))
        for (state, gauge) in states { gauge.record(state == snapshot.state ? 1 : 0) }
    }
}
