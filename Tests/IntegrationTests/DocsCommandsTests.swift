import Foundation
import TestSupport
import Testing

/// Commands shown in README.md and docs/ are ones the binary accepts, and `import-debezium` writes
/// files `validate` accepts.
@Suite struct DocsCommandsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every `tributary SUBCOMMAND …` in a code span or block, up to the end of the span or line.
    static func commands(in text: String) -> [String] {
        var found: [String] = []
        var inBlock = false
        var inShellBlock = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inBlock.toggle()
                // Shell blocks hold commands; other blocks (output, JSON, YAML) do not.
                inShellBlock = inBlock && ["sh", "bash", "shell", "console"].contains(line.dropFirst(3))
                continue
            }
            let pieces: [Substring]
            if inBlock {
                pieces = inShellBlock ? [line] : []
            } else {
                // The odd pieces between backquotes are code spans.
                pieces = line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
                    .filter { $0.offset % 2 == 1 }.map(\.element)
            }
            for piece in pieces {
                // A command starts the line or span, or follows a pipe; output lines that mention tributary are not commands.
                var text = piece.trimmingCharacters(in: .whitespaces)
                if let pipe = text.range(of: "| ", options: .backwards), !inBlock || text.hasPrefix("curl") {
                    text = String(text[pipe.upperBound...])
                }
                for marker in ["tributary ", ".build/release/tributary ", "/usr/local/bin/tributary "]
                where text.hasPrefix(marker) {
                    var command = String(text.dropFirst(marker.count))
                    if let comment = command.range(of: " #") { command = String(command[..<comment.lowerBound]) }
                    found.append(command.trimmingCharacters(in: .whitespaces))
                    break
                }
            }
        }
        return found
    }

    @Test func everyDocumentedCommandIsAccepted() throws {
        var files = ["README.md"]
        files += try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.map { "docs/\($0)" }
        var checked = 0
        for file in files {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            for command in Self.commands(in: text) {
                let words = command.split(whereSeparator: { " []".contains($0) }).map(String.init)
                guard words.first?.first?.isLetter == true else { continue }
                try checkTributaryOptions(words, "\(file): `tributary \(command)`")
                checked += 1
            }
        }
        #expect(checked >= 10, "the documentation's commands were found")
    }

    @Test func importDebeziumWritesAFileValidateAccepts() throws {
        let fixture = Self.root.appendingPathComponent("Tests/DebeziumMigrationTests/Fixtures/debezium-inventory.json").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("imported-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let imported = try runCommand(
            TributaryProcess.executablePath,
            ["import-debezium", fixture, "--bootstrap-servers", "kafka:9092", "--continue-from-slot", "--output", output])
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("note: max.batch.size = 4096 is not imported"), "notes go to standard error")
        let validated = try runCommand("/usr/bin/env", ["PGPASSWORD=x", TributaryProcess.executablePath, "validate", output])
        #expect(validated.status == 0, "\(validated.output)")
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(text.contains("mode: no_data") && text.contains("slot: inventory_slot"))

        let refused = try runCommand(
            TributaryProcess.executablePath,
            ["import-debezium", Self.root.appendingPathComponent("README.md").path])
        #expect(refused.status == 65, "not JSON: exit 65 with what to give: \(refused.output)")
    }
}
