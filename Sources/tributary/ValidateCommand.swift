import ArgumentParser
import Connector
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check connector files without connecting to anything.",
        discussion: """
            Prints each problem as FILE:LINE:COL: error: message and exits 65 when a file is invalid, 0 when all are valid.

            Example:
              tributary validate connectors/*.yaml
            """)

    @Argument(help: "Connector files or directories of them.")
    var paths: [String]

    func run() throws {
        do {
            let configs = try ConnectorConfigLoader().load(files: try connectorFiles(paths))
            for config in configs { print("\(config.sourceFile): ok (\(config.name))") }
        } catch let errors as ConfigErrors {
            FileHandle.standardError.write(Data((errors.description + "\n").utf8))
            throw ExitCode(ExitStatus.dataError)
        }
    }
}
