import ArgumentParser
import Foundation

/// Sends a signal to a running connector over its HTTP endpoint (`signals.http: true`).
struct SignalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Send a signal (execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot, log) to a running connector.",
        discussion: """
            Posts the signal to POST /connectors/<name>/signals on the connector's HTTP endpoint, which takes
            signals only when its file sets signals.http: true. The endpoint checks the signal's form at once;
            the connector logs what it does with it.

            Examples:
              tributary signal inventory execute-snapshot --tables public.orders,public.customers
              tributary signal inventory execute-snapshot --tables public.orders --condition "public.orders:region = 'eu'"
              tributary signal inventory pause-snapshot
              tributary signal inventory log --message "replaying orders for the new search index"
            """)

    @Argument(help: "The connector's name (its file's name:).")
    var connector: String

    @Argument(help: "execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot or log.")
    var type: String

    @Option(help: "Tables (schema.table, regular expressions as Debezium reads them), comma-separated.")
    var tables: String?

    @Option(help: "A WHERE clause for a table, as table:filter (repeatable).")
    var condition: [String] = []

    @Option(help: "A column to read a table without a primary key by (Debezium's surrogate-key).")
    var surrogateKey: String?

    @Option(help: "The message of a log signal.")
    var message: String?

    @Option(help: "The signal's id (default: one made up).")
    var id: String?

    @Option(help: "Address of the connector's HTTP endpoint (IPv4).")
    var host = "127.0.0.1"

    @Option(help: "Port of the connector's HTTP endpoint.")
    var port = 8083

    func run() throws {
        var data: [String: Any] = [:]
        if let tables {
            data["data-collections"] = tables.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if !condition.isEmpty {
            data["additional-conditions"] = try condition.map { entry -> [String: String] in
                guard let colon = entry.firstIndex(of: ":") else {
                    throw ValidationError("--condition takes table:filter, such as \"public.orders:region = 'eu'\"")
                }
                return ["data-collection": String(entry[..<colon]), "filter": String(entry[entry.index(after: colon)...])]
            }
        }
        if let surrogateKey { data["surrogate-key"] = surrogateKey }
        if let message { data["message"] = message }
        var body: [String: Any] = ["type": type, "data": data]
        if let id { body["id"] = id }
        let bytes = Array(try JSONSerialization.data(withJSONObject: body))
        let escaped = connector.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? connector
        let answer: (status: Int, body: String)
        do {
            answer = try HealthCommand.request(
                "POST", host: host, port: port, path: "/connectors/\(escaped)/signals", body: bytes, timeoutSeconds: 10)
        } catch {
            FileHandle.standardError.write(Data("tributary signal: \(host):\(port): \(error)\n".utf8))
            throw ExitCode(1)
        }
        print(answer.body)
        if answer.status != 202 { throw ExitCode(1) }
    }
}
