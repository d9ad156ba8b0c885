import ArgumentParser
import Connector
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
        var registries: [RegistryAdapter] = []
        for config in configs {
            var connectorLogger = logger
            connectorLogger[metadataKey: "connector"] = "\(config.name)"
            let servers =
                embedded.map { config.kafka.isEmbedded ? $0.bootstrapServers : config.kafka.bootstrapServers }
                ?? config.kafka.bootstrapServers
            let sink: KafkaEventSink
            do {
                sink = try KafkaEventSink(
                    properties: [("bootstrap.servers", servers)] + config.kafka.properties, connector: config.name,
                    logger: connectorLogger)
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
            var registryClient: RegistryAdapter?
            if let settings = config.schemaRegistry {
                do {
                    let adapter = try RegistryAdapter(settings)
                    registries.append(adapter)
                    registryClient = adapter
                } catch {
                    FileHandle.standardError.write(
                        Data("\(config.sourceFile): error: schema_registry cannot be set up: \(error)\n".utf8))
                    throw ExitCode(ExitStatus.configError)
                }
            }
            runners.append(
                ConnectorRunner(config: config, sink: sink, logger: connectorLogger, registry: registryClient) {
                    PostgresChangeSource(config: config, logger: sourceLogger)
                })
        }

        let health = HealthEndpoint.application(
            host: healthHost, port: healthPort, statuses: runners.map(\.status), registry: registry, logger: logger,
            signals: Dictionary(
                runners.filter { $0.config.signals.http }.map { ($0.config.name, $0.signals) },
                uniquingKeysWith: { first, _ in first }))
        // Signal topics, read on threads of their own for as long as the process runs.
        let signalChannels = runners.filter { $0.config.signals.kafkaTopic != nil }.map {
            KafkaSignalChannel(config: $0.config, inbox: $0.signals, logger: logger)
        }
        signalChannels.forEach { $0.start() }
        defer { signalChannels.forEach { $0.stop() } }
        // Services stop in reverse order: on SIGTERM the connectors drain and confirm first, then the Kafka clients
        // close, and the endpoint answers until then. A second signal makes the connectors stop at once.
        let signals = SecondSignalService(runners: runners, logger: logger)
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: signals),
                .init(service: health),
                .init(
                    service: KafkaClientsService(
                        runners: runners, sinks: sinks, registries: registries, embedded: embedded, logger: logger)),
                .init(service: ConnectorsService(runners: runners), successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // The connectors' drain is bounded (30 s), and so is closing the Kafka clients (10 s): past both, the group
        // is cancelled, which stops the connectors at once; a cancellation that hangs ends the process.
        configuration.maximumGracefulShutdownDuration = .seconds(45)
        configuration.maximumCancellationDuration = .seconds(10)
        do {
            try await ServiceGroup(configuration: configuration).run()
            // Every connector has drained and confirmed, and the Kafka clients are closed: all that is left is to
            // exit. Once in the test suite the process stayed alive after this point (in a library's exit-time
            // teardown), so exiting gets a deadline.
            Self.exitWithin(seconds: 5, logger: logger)
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES {
            // Recognised by errno, not by the words of the message.
            FileHandle.standardError.write(
                Data("error: cannot listen on \(healthHost):\(healthPort) (\(error)); choose another --health-port\n".utf8))
            throw ExitCode(ExitStatus.configError)
        } catch {
            // A second signal ends the group by cancelling it: already said, not an error of its own.
            if !signals.stoppedUrgently { logger.error("stopped on error", metadata: ["error": "\(error)"]) }
            throw ExitCode.failure
        }
    }

    /// Ends the process with status 0 after `seconds` unless it has ended by then; the normal exit runs first.
    private static func exitWithin(seconds: Int, logger: Logger) {
        Thread {
            Thread.sleep(forTimeInterval: TimeInterval(seconds))
            logger.warning("the process did not end \(seconds) s after stopping; ending it (everything was confirmed)")
            fflush(nil)
            _exit(0)
        }.start()
    }
}
