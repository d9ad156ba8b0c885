import ArgumentParser
import Connector
import DebeziumMigration
import Foundation

struct ImportDebeziumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-debezium",
        abstract: "Write the connector file equivalent to a Debezium PostgreSQL connector's JSON configuration.",
        discussion: """
            Reads the JSON given to Kafka Connect ({"name": …, "config": {…}}, or the config object alone;
            - for standard input) and writes a connector file to standard output or --output. Every property
            is mapped to a connector-file key, or changes nothing a consumer sees and is listed on standard
            error and as a comment in the file, or is refused: one that would change which records are written,
            what they hold, or a delivery guarantee (column lists, transforms, transaction metadata, another
            converter) fails the import with every such property named; so does one Debezium does not know.
            The file keeps Debezium's slot and publication, so Tributary can take over where Debezium stopped;
            the password is read from ${env:PGPASSWORD} rather than copied.

            Example:
              curl -s localhost:8083/connectors/inventory | tributary import-debezium - --bootstrap-servers kafka:9092 \\
                --continue-from-slot --output connectors/inventory.yaml
              tributary validate connectors/inventory.yaml
            """)

    @Argument(help: "The Debezium connector JSON file, or - for standard input.")
    var file: String

    @Option(help: "Kafka bootstrap servers for the file (a Debezium connector's are the Connect worker's).")
    var bootstrapServers = "localhost:9092"

    @Flag(help: "Stream from the slot's position without a snapshot (snapshot.mode: no_data), to take over from Debezium.")
    var continueFromSlot = false

    @Option(help: "Write the connector file here instead of standard output.")
    var output: String?

    func run() throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw ValidationError("\(file): cannot read the file")
            }
            data = contents
        }
        let result: DebeziumImport.Result
        do {
            result = try DebeziumImport(bootstrapServers: bootstrapServers, continueFromSlot: continueFromSlot).convert(data)
        } catch {
            FileHandle.standardError.write(Data("\(file): error: \(error.description)\n".utf8))
            throw ExitCode(ExitStatus.dataError)
        }
        for note in result.notes { FileHandle.standardError.write(Data("\(file): note: \(note)\n".utf8)) }
        if let output {
            do {
                try result.yaml.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write \(output): \(error.localizedDescription)")
            }
        } else {
            print(result.yaml, terminator: "")
        }
    }
}
