import ArgumentParser
import Connector
import Foundation
import Logging

@main
struct Tributary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Change data capture from PostgreSQL to Kafka, with Debezium-compatible events.",
        discussion: """
            Example:
              tributary run connectors/inventory.yaml
              tributary kafka-dev
            """,
        version: TributaryVersion.current,
        subcommands: [
            RunCommand.self, ValidateCommand.self, CheckCommand.self, TailCommand.self, KafkaDevCommand.self,
            ImportDebeziumCommand.self,
            HealthCommand.self, SignalCommand.self, VersionCommand.self,
        ]
    )
}

/// Exit codes of sysexits.h, as operators' tooling expects them.
enum ExitStatus {
    /// The input data was incorrect: an invalid connector file (in every command that reads one) or Debezium JSON.
    static let dataError: Int32 = 65
    /// A valid file that cannot be used as it is: a Kafka property librdkafka refuses, a health port in use.
    static let configError: Int32 = 78
}

/// Expands files and directories into connector files (`*.yaml`, `*.yml`, sorted).
func connectorFiles(_ paths: [String]) throws -> [String] {
    var files: [String] = []
    for path in paths {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path): no such file or directory")
        }
        if isDirectory.boolValue {
            let entries = try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
            files.append(contentsOf: entries.map { (path as NSString).appendingPathComponent($0) })
        } else {
            files.append(path)
        }
    }
    if files.isEmpty { throw ValidationError("no connector files (*.yaml) in \(paths.joined(separator: ", "))") }
    return files
}
