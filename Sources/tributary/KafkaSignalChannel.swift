import Connector
import Foundation
import KafkaSink
import Logging
import Synchronization

/// Debezium's Kafka signal channel: reads partition 0 of the signal topic on a thread of its own and hands each
/// record keyed by the connector's topic prefix to the connector (`{"id", "type", "data"}`), from after the last one it
/// acted on (kept in `<name>.signals.json`), else from the beginning, as Debezium does.
final class KafkaSignalChannel: Sendable {
    private let config: ConnectorConfig
    private let inbox: SignalInbox
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)

    init(config: ConnectorConfig, inbox: SignalInbox, logger: Logger) {
        self.config = config
        self.inbox = inbox
        self.logger = logger
    }

    func start() {
        Thread { [self] in run() }.start()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
    }

    private func run() {
        guard let topic = config.signals.kafkaTopic else { return }
        var reader: KafkaTopicReader?
        var assigned = false
        while !stopping.load(ordering: .relaxed) {
            do {
                if reader == nil {
                    let security = config.kafka.properties.filter {
                        $0.0.hasPrefix("security.") || $0.0.hasPrefix("sasl.") || $0.0.hasPrefix("ssl.")
                    }
                    reader = try KafkaTopicReader(
                        bootstrapServers: config.signals.kafkaBootstrapServers ?? config.kafka.bootstrapServers,
                        properties: security + [("client.id", "tributary-\(config.name)-signals")])
                }
                guard let reader else { continue }
                if !assigned {
                    assigned = try reader.assign(topic: topic, partition: 0, from: try SignalTopicPosition.start(config))
                    if !assigned {
                        Thread.sleep(forTimeInterval: 1)
                        continue
                    }
                    logger.info("reading signals from Kafka", metadata: ["topic": "\(topic)"])
                }
                guard let record = try reader.next(timeoutMilliseconds: 200) else { continue }
                take(record)
            } catch {
                logger.warning("the signal topic cannot be read: \(error); trying again", metadata: ["topic": "\(topic)"])
                reader = nil
                assigned = false
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// A record of the signal topic as Debezium reads it: keyed by the topic prefix, else left alone.
    private func take(_ record: KafkaRecord) {
        let metadata: Logger.Metadata = ["offset": "\(record.offset)"]
        guard record.keyText == config.kafka.topicPrefix else {
            logger.info(
                "a signal topic record keyed \(record.keyText ?? "null") is for another connector (this one is \(config.kafka.topicPrefix))",
                metadata: metadata)
            return
        }
        guard
            let signal = Signal(json: record.value ?? [], defaultID: "kafka-\(record.offset)", kafkaOffset: record.offset)
        else {
            logger.warning("signal skipped: the signal topic record is not a JSON object with a type", metadata: metadata)
            // Acted on as an unknown signal: counted, and the topic's position moves past it.
            inbox.post(Signal(id: "kafka-\(record.offset)", type: "", data: nil, kafkaOffset: record.offset))
            return
        }
        inbox.post(signal)
    }
}
