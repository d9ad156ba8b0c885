import TestSupport
import Testing

/// The long options `tributary SUBCOMMAND` accepts, read from its --help; nil when it is not a subcommand.
func tributaryOptions(of subcommand: String) throws -> Set<String>? {
    let help = try runCommand(TributaryProcess.executablePath, [subcommand, "--help"])
    guard help.status == 0, help.output.contains("USAGE: tributary \(subcommand)") else { return nil }
    let words = help.output.split(whereSeparator: { " \n,[]<>=".contains($0) })
    return Set(words.filter { $0.hasPrefix("--") }.map(String.init))
}

/// Records an issue for a command line (subcommand first) whose subcommand or options the binary does not
/// accept; returns option → value for the options followed by one (`--port 8083` or `--port=8083`).
@discardableResult
func checkTributaryOptions(_ arguments: [String], _ context: String) throws -> [String: String] {
    guard let subcommand = arguments.first, let accepted = try tributaryOptions(of: subcommand) else {
        Issue.record("\(context): `tributary \(arguments.first ?? "")` is not a subcommand")
        return [:]
    }
    var values: [String: String] = [:]
    for (index, argument) in arguments.enumerated() where argument.hasPrefix("--") {
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        #expect(accepted.contains(parts[0]), "\(context): tributary \(subcommand) has no option \(parts[0])")
        if parts.count == 2 {
            values[parts[0]] = parts[1]
        } else if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
            values[argument] = arguments[index + 1]
        }
    }
    return values
}
