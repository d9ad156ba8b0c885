import ChangeEvents
import Connector
import KafkaSink
import Logging

/// Joins `KafkaSink` to the pipeline.
final class KafkaEventSink: EventSink {
    private let producer: KafkaProducer
    private let logger: Logger
    private var lastClientError: (message: String, time: ContinuousClock.Instant)?

    init(producer: KafkaProducer, logger: Logger) {
        self.producer = producer
        self.logger = logger
    }

    func send(_ event: ChangeEvent, token: UInt64) throws {
        do {
            try producer.send(
                topic: event.topic, key: event.key, value: event.value, headers: event.headers.map { ($0.name, $0.value) },
                token: token)
        } catch {
            if error.isQueueFull { throw EventSinkError.queueFull }
            if error.isPermanent {
                throw EventSinkError.refused(SinkFailure(message: error.description, isPermanent: true, event: event))
            }
            throw error
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
                    failure: SinkFailure(message: error.description, isPermanent: error.isPermanent, event: event)))
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
