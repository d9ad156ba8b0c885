import ArgumentParser
import Connector
import Foundation
import KafkaSink
import UnixSignals

struct KafkaDevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-dev",
        abstract: "Run an embedded Kafka cluster (librdkafka's mock cluster) for development and tests.",
        discussion: """
            Prints its bootstrap servers on the first line of standard output and runs until SIGTERM or SIGINT.
            Point a connector at it with kafka.bootstrap_servers, so the broker outlives connector restarts.

            Example:
              tributary kafka-dev --brokers 3
            """)

    @Option(help: "Number of brokers.")
    var brokers = 1

    func run() async throws {
        guard brokers >= 1 && brokers <= 16 else { throw ValidationError("--brokers must be between 1 and 16") }
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let kafka = try EmbeddedKafka(brokers: brokers)
        // Written unbuffered: a parent process waits for this line.
        FileHandle.standardOutput.write(Data((kafka.bootstrapServers + "\n").utf8))
        for await _ in signals { break }
        kafka.close()
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("tributary \(Connector.TributaryVersion.current)")
    }
}
