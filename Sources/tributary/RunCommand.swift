import ArgumentParser
import Connector
import Dispatch
import Foundation
import KafkaSink
import Logging

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every connector of the given files and directories until SIGTERM or SIGINT.",
        discussion: """
            Each connector streams its replication slot to Kafka and confirms to PostgreSQL only what
            Kafka has acknowledged. SIGTERM or SIGINT stops reading, waits for Kafka, confirms and exits 0;
            a second signal exits at once.

            Example:
              tributary run connectors/ --health-port 8083
            """)

    @Argument(help: "Connector files or directories of them.")
    var paths: [String] = ["connectors"]

    @Option(help: "Address the health endpoint binds to.")
    var healthHost = "127.0.0.1"

    @Option(help: "Port of the health endpoint.")
    var healthPort = 8083

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let logger = Logger(label: "tributary")
        let configs: [ConnectorConfig]
        do {
            configs = try ConnectorConfigLoader().load(files: try connectorFiles(paths))
        } catch let errors as ConfigErrors {
            FileHandle.standardError.write(Data((errors.description + "\n").utf8))
            throw ExitCode(ExitStatus.configError)
        }

        var embedded: EmbeddedKafka?
        if configs.contains(where: { $0.kafka.isEmbedded }) {
            embedded = try EmbeddedKafka(brokers: 1)
            logger.info("embedded Kafka started", metadata: ["bootstrap_servers": "\(embedded!.bootstrapServers)"])
        }

        var runners: [ConnectorRunner] = []
        var producers: [KafkaProducer] = []
        for config in configs {
            var connectorLogger = logger
            connectorLogger[metadataKey: "connector"] = "\(config.name)"
            let servers = config.kafka.isEmbedded ? embedded!.bootstrapServers : config.kafka.bootstrapServers
            let producer: KafkaProducer
            do {
                producer = try KafkaProducer(properties: [("bootstrap.servers", servers)] + config.kafka.properties)
            } catch {
                FileHandle.standardError.write(Data("\(config.sourceFile): error: \(error)\n".utf8))
                throw ExitCode(ExitStatus.configError)
            }
            connectorLogger.info(
                "starting connector",
                metadata: [
                    "postgres": "\(config.redactedURL)", "slot": "\(config.postgres.slot)",
                    "publication": "\(config.postgres.publication) (\(config.postgres.publicationMode.rawValue))",
                    "tables":
                        "\(config.postgres.tables.isEmpty ? "all in publication" : config.postgres.tables.map(\.description).joined(separator: ","))",
                    "topics": "\(config.kafka.topicPrefix).<schema>.<table>", "kafka": "\(servers)",
                    "snapshot": "\(config.snapshot.mode.rawValue)",
                ])
            if config.snapshot.mode != .noData {
                connectorLogger.warning(
                    "initial snapshots are not implemented yet: existing rows are not emitted, only changes from the slot on")
            }
            producers.append(producer)
            let sink = KafkaEventSink(producer: producer, logger: connectorLogger)
            let sourceLogger = connectorLogger
            let runner = ConnectorRunner(config: config, sink: sink, logger: connectorLogger) {
                PostgresChangeSource(config: config, logger: sourceLogger)
            }
            runners.append(runner)
        }

        let allRunners = runners
        let signals = SignalWatcher([SIGTERM, SIGINT]) { count in
            if count == 1 {
                logger.info("stopping: draining Kafka and confirming; send the signal again to exit at once")
                allRunners.forEach { $0.stop() }
            } else {
                logger.warning("second signal: exiting at once")
                Foundation.exit(1)
            }
        }
        runners.forEach { $0.start() }
        runners.forEach { $0.wait() }
        signals.cancel()
        // Producers before the embedded cluster, so they do not log its disappearance.
        producers.forEach { $0.close() }
        embedded?.close()
    }
}

/// Turns SIGTERM/SIGINT into calls on a queue, counting them.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private var count = 0
    private let queue = DispatchQueue(label: "tributary.signals")

    init(_ signals: [Int32], handler: @escaping @Sendable (Int) -> Void) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [unowned self] in
                count += 1
                handler(count)
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        sources.forEach { $0.cancel() }
    }
}
