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

    init(properties: [(String, String)], logger: Logger) throws(KafkaError) {
        self.properties = properties
        self.producer = try KafkaProducer(properties: properties)
        self.logger = logger
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
        do {
            try producer.send(
                topic: event.topic, key: event.key, value: event.value,
                headers: kafkaHeaders(event.headers), partition: event.partition, timestamp: event.timestamp, token: token)
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
            let event = ChangeEvent(
                topic: refused?.topic ?? "", key: refused?.key, value: refused?.value,
                headers: (refused?.headers ?? []).map { ChangeEvent.Header(name: $0.0, value: $0.1) }, operation: nil)
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
}
