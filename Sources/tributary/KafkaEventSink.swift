import ChangeEvents
import Connector
import KafkaSink
import Logging

/// Joins `KafkaSink` to the pipeline.
///
/// A producer that fails fatally (librdkafka's idempotent producer when the broker loses its sequence) refuses
/// everything after: the sink replaces it, and the session restarts from the slot.
final class KafkaEventSink: EventSink {
    /// Shared, so that an event without headers builds no array of them.
    private static let noHeaders: [(String, [UInt8]?)] = []
    private var producer: KafkaProducer
    private let properties: [(String, String)]
    private let logger: Logger
    private var lastClientError: (message: String, time: ContinuousClock.Instant)?
    /// The headers last converted: most events share one array (Debezium's context headers), so it is converted once.
    private var convertedHeaders: (source: [ChangeEvent.Header], converted: [(String, [UInt8]?)]) = ([], [])

    private func kafkaHeaders(_ headers: [ChangeEvent.Header]) -> [(String, [UInt8]?)] {
        guard !headers.isEmpty else { return Self.noHeaders }
        // The cached source keeps its storage alive, so the same address is the same array.
        let same = headers.withUnsafeBufferPointer { new in
            convertedHeaders.source.withUnsafeBufferPointer { old in new.baseAddress == old.baseAddress && new.count == old.count
            }
        }
        if same { return convertedHeaders.converted }
        let converted = headers.map { ($0.name, $0.value) }
        convertedHeaders = (headers, converted)
        return converted
    }

    /// The connector's name as the position header writes it, and the buffer the header is written into.
    private let connector: String
    private let connectorBytes: [UInt8]
    private var positionBytes: [UInt8] = []

    init(properties: [(String, String)], connector: String, logger: Logger) throws(KafkaError) {
        self.properties = properties
        self.producer = try KafkaProducer(properties: properties)
        self.logger = logger
        self.connector = connector
        self.connectorBytes = Array(connector.utf8)
        positionBytes.reserveCapacity(connectorBytes.count + 32)
    }

    func close() {
        producer.close()
    }

    /// Replaces a producer that failed fatally; throws so the session restarts and reads again what it lost.
    private func replaceIfFatal() throws(EventSinkError) {
        guard let fatal = producer.fatalError else { return }
        logger.error("the Kafka producer failed fatally; starting a new one", metadata: ["error": "\(fatal)"])
        producer.close()
        do {
            producer = try KafkaProducer(properties: properties)
        } catch {
            throw .failed(ConnectorError(.transient, "cannot start a new Kafka producer: \(error)", code: .kafka(error.code)))
        }
        throw .failed(
            ConnectorError(
                .transient, "Kafka producer failed (\(fatal)); restarting from the last confirmed position",
                code: .kafka(fatal.code)))
    }

    func send(_ event: ChangeEvent, token: UInt64) throws(EventSinkError) {
        try replaceIfFatal()
        var position: (name: String, value: [UInt8])?
        if let eventPosition = event.position {
            eventPosition.write(connector: connectorBytes, into: &positionBytes)
            if let mark = event.snapshotMark, !mark.isEmpty {
                positionBytes.append(UInt8(ascii: ":"))
                positionBytes.append(contentsOf: mark)
            }
            position = (EventPosition.headerName, positionBytes)
        }
        do {
            try producer.send(
                topic: event.topic, key: event.key, value: event.value,
                headers: kafkaHeaders(event.headers), partition: event.partition, timestamp: event.timestamp, token: token,
                lastHeader: position)
        } catch {
            if error.isQueueFull { throw .queueFull }
            if error.isPermanent {
                throw .refused(SinkFailure(message: error.description, isPermanent: true, event: event, code: error.code))
            }
            throw .failed(ConnectorError(.transient, "cannot send to Kafka: \(error)", code: .kafka(error.code)))
        }
    }

    func poll(timeoutMilliseconds: Int, _ onDelivery: (Delivery) -> Void) {
        let events = producer.poll(timeoutMilliseconds: timeoutMilliseconds) { report in
            guard let error = report.error else {
                onDelivery(Delivery(token: report.token, bytes: report.bytes))
                return
            }
            let refused = report.refused
            // The position header comes back as the event's position, not as one of its own headers.
            var headers: [ChangeEvent.Header] = []
            var position: EventPosition?
            for (name, value) in refused?.headers ?? [] {
                if name == EventPosition.headerName, let value, let parsed = EventPosition(header: value, connector: connector) {
                    position = parsed
                } else {
                    headers.append(ChangeEvent.Header(name: name, value: value))
                }
            }
            var event = ChangeEvent(
                topic: refused?.topic ?? "", key: refused?.key, value: refused?.value, headers: headers, operation: nil)
            event.position = position
            onDelivery(
                Delivery(
                    token: report.token, bytes: report.bytes,
                    failure: SinkFailure(
                        message: error.description, isPermanent: error.isPermanent, event: event, code: error.code)))
        }
        for event in events {
            switch event {
            case .error(let error):
                // librdkafka repeats broker-down errors; log each distinct one at most every 10 s.
                let now = ContinuousClock.now
                if let last = lastClientError, last.message == error.message, now - last.time < .seconds(10) { continue }
                lastClientError = (error.message, now)
                logger.warning("kafka", metadata: ["error": "\(error)"])
            case .log(let level, let facility, let message):
                let mapped: Logger.Level = level <= 3 ? .error : level == 4 ? .warning : level <= 6 ? .info : .debug
                logger.log(level: mapped, "\(message)", metadata: ["librdkafka": "\(facility)"])
            }
        }
    }

    var outstanding: Int { producer.outstanding }

    func settle(timeoutMilliseconds: Int, _ onDelivery: (Delivery) -> Void) {
        guard producer.outstanding > 0 else { return }
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        // Reports for an earlier session's tokens are dropped by the pipeline; here they are only waited for.
        while producer.outstanding > 0 && ContinuousClock.now < deadline { poll(timeoutMilliseconds: 100, onDelivery) }
        guard producer.outstanding > 0 else { return }
        logger.warning(
            "events an earlier session sent are still unacknowledged; dropping them before reading Kafka back",
            metadata: ["outstanding": "\(producer.outstanding)"])
        producer.purge()
        let purgeDeadline = ContinuousClock.now + .seconds(5)
        while producer.outstanding > 0 && ContinuousClock.now < purgeDeadline { poll(timeoutMilliseconds: 100, onDelivery) }
    }

    func lastPositionHeaders(topics: [String]) throws(ConnectorError) -> [String: [[UInt8]?]] {
        let servers = properties.last { $0.0 == "bootstrap.servers" }?.1 ?? ""
        do {
            let reader = try KafkaTailReader(
                bootstrapServers: servers, properties: properties.filter { $0.0 != "bootstrap.servers" })
            defer { reader.close() }
            let prefix = connectorBytes + [UInt8(ascii: ":")]
            return try reader.lastHeaders(
                topics: topics, header: EventPosition.headerName, accept: { $0.starts(with: prefix) },
                timeoutMilliseconds: 30_000)
        } catch {
            throw ConnectorError(
                .transient, "cannot read back what Kafka holds of this connector's topics: \(error)", code: .kafka(error.code))
        }
    }
}
