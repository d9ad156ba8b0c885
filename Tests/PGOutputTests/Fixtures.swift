import Foundation

/// The pgoutput messages captured from a real server by scripts/capture-pgoutput-fixtures.sh.
enum Fixtures {
    static let all: [(name: String, bytes: [UInt8])] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pgoutput.txt")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let parts = line.split(separator: " ")
            return (String(parts[0]), hexBytes(parts[1]))
        }
    }()

    static func named(_ name: String) -> [UInt8] {
        all.first { $0.name == name }?.bytes ?? []
    }

    static func hexBytes(_ hex: some StringProtocol) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
