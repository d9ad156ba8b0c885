import ArgumentParser
import Connector
import Dispatch
import Foundation
import HealthServer
import KafkaSink
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every connector of the given files and directories until SIGTERM or SIGINT.",
        discussion: """
            Each connector streams its replication slot to Kafka and confirms to PostgreSQL only what
            Kafka has acknowledged. One that fails (bad password, missing table, lost database) reports
            failed or reconnecting on /status and retries with back-off; the others keep streaming.

            SIGTERM or SIGINT stops reading, waits (bounded) for Kafka to acknowledge what is in flight,
            sends the final confirmed position, closes and exits 0; a second signal exits at once.

            The HTTP endpoint serves /health, /health/live, /health/ready, /status and /metrics.

            Example:
              tributary run connectors/ --health-port 8083 --log-format json
            """)

    @Argument(help: "Connector files or directories of them.")
    var paths: [String] = ["connectors"]

    @Option(help: "Address the health endpoint binds to.")
    var healthHost = "127.0.0.1"

    @Option(help: "Port of the health endpoint.")
    var healthPort = 8083

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "tributary")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let configs: [ConnectorConfig]
        do {
            configs = try ConnectorConfigLoader().load(files: try connectorFiles(paths))
        } catch let errors as ConfigErrors {
            FileHandle.standardError.write(Data((errors.description + "\n").utf8))
            throw ExitCode(ExitStatus.dataError)
        }

        var embedded: EmbeddedKafka?
        if configs.contains(where: { $0.kafka.isEmbedded }) {
            let kafka = try EmbeddedKafka(brokers: 1)
            embedded = kafka
            logger.info("embedded Kafka started", metadata: ["bootstrap_servers": "\(kafka.bootstrapServers)"])
        }

        var runners: [ConnectorRunner] = []
        var sinks: [KafkaEventSink] = []
        for config in configs {
            var connectorLogger = logger
            connectorLogger[metadataKey: "connector"] = "\(config.name)"
            let servers =
                embedded.map { config.kafka.isEmbedded ? $0.bootstrapServers : config.kafka.bootstrapServers }
                ?? config.kafka.bootstrapServers
            let sink: KafkaEventSink
            do {
                sink = try KafkaEventSink(
                    properties: [("bootstrap.servers", servers)] + config.kafka.properties, logger: connectorLogger)
            } catch {
                FileHandle.standardError.write(Data("\(config.sourceFile): error: \(error)\n".utf8))
                throw ExitCode(ExitStatus.configError)
            }
            sinks.append(sink)
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
            let sourceLogger = connectorLogger
            runners.append(
                ConnectorRunner(config: config, sink: sink, logger: connectorLogger) {
                    PostgresChangeSource(config: config, logger: sourceLogger)
                })
        }

        let health = HealthEndpoint.application(
            host: healthHost, port: healthPort, statuses: runners.map(\.status), registry: registry, logger: logger)
        let connectors = ConnectorsService(runners: runners)
        // Services stop in reverse order: the connectors drain and confirm first, the endpoint answers until then.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: health),
                    .init(service: connectors, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        let secondSignal = SignalWatcher([SIGTERM, SIGINT]) { count in
            if count == 1 {
                logger.info("stopping: draining Kafka and confirming; send the signal again to exit at once")
            } else {
                logger.warning("second signal: exiting at once")
                Foundation.exit(1)
            }
        }
        defer { secondSignal.cancel() }
        do {
            try await group.run()
        } catch {
            logger.error("stopped on error", metadata: ["error": "\(error)"])
            runners.forEach { $0.stop() }
            runners.forEach { $0.wait() }
            Self.closeKafka(sinks: sinks, embedded: embedded, logger: logger)
            // Recognised by errno, not by the words of the message.
            if let error = error as? IOError, error.errnoCode == EADDRINUSE || error.errnoCode == EACCES {
                FileHandle.standardError.write(
                    Data("error: cannot listen on \(healthHost):\(healthPort) (\(error)); choose another --health-port\n".utf8))
                throw ExitCode(ExitStatus.configError)
            }
            throw ExitCode.failure
        }
        Self.closeKafka(sinks: sinks, embedded: embedded, logger: logger)
    }

    /// Closes the producers, then the embedded cluster (so the producers do not log its disappearance),
    /// within 10 s. Every connector has stopped and confirmed what Kafka acknowledged by now, so a Kafka
    /// client stuck in its own shutdown must not keep the process from exiting.
    static func closeKafka(sinks: [KafkaEventSink], embedded: EmbeddedKafka?, logger: Logger) {
        let closed = DispatchSemaphore(value: 0)
        let work = ClosingWork(sinks: sinks, embedded: embedded)
        Thread {
            work.sinks.forEach { $0.close() }
            work.embedded?.close()
            closed.signal()
        }.start()
        if closed.wait(timeout: .now() + 10) == .timedOut {
            logger.warning("the Kafka client did not close within 10 s; exiting anyway (what Kafka acknowledged is confirmed)")
            Foundation.exit(0)
        }
    }
}

/// What `closeKafka` hands to its thread.
private struct ClosingWork: @unchecked Sendable {
    let sinks: [KafkaEventSink]
    let embedded: EmbeddedKafka?
}

/// The connectors as one service: started together, stopped gracefully together.
struct ConnectorsService: Service {
    let runners: [ConnectorRunner]

    func run() async throws {
        runners.forEach { $0.start() }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    for runner in runners { group.addTask { await runner.finished() } }
                }
            } onGracefulShutdown: {
                runners.forEach { $0.stop() }
            }
        } onCancel: {
            runners.forEach { $0.stop() }
        }
    }
}

/// Counts SIGTERM/SIGINT deliveries and calls back on a queue of its own.
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
