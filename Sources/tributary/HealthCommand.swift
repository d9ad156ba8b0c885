import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A probe for places without curl: container HEALTHCHECKs and exec probes.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Ask a running tributary's health endpoint; exit 0 when it answers 200, 1 otherwise.",
        discussion: """
            Prints the answer's body. For a Docker HEALTHCHECK or a Kubernetes exec probe in an image
            that has no HTTP client.

            Example:
              tributary health --port 8083 --path /health/live
            """)

    @Option(help: "Address of the health endpoint (IPv4).")
    var host = "127.0.0.1"

    @Option(help: "Port of the health endpoint.")
    var port = 8083

    @Option(help: "Route to ask: /health, /health/live, /health/ready, /status or /metrics.")
    var path = "/health/live"

    @Option(help: "Seconds to wait for the answer.")
    var timeout = 5

    func run() throws {
        let answer: (status: Int, body: String)
        do {
            answer = try Self.get(host: host, port: port, path: path, timeoutSeconds: timeout)
        } catch {
            FileHandle.standardError.write(Data("tributary health: \(host):\(port)\(path): \(error)\n".utf8))
            throw ExitCode(1)
        }
        print(answer.body)
        if answer.status != 200 { throw ExitCode(1) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A blocking HTTP/1.0 GET over a plain TCP socket.
    static func get(host: String, port: Int, path: String, timeoutSeconds: Int) throws -> (status: Int, body: String) {
        try request("GET", host: host, port: port, path: path, body: nil, timeoutSeconds: timeoutSeconds)
    }

    /// A blocking HTTP/1.0 request over a plain TCP socket; `body` is sent as JSON.
    static func request(
        _ method: String, host: String, port: Int, path: String, body: [UInt8]?, timeoutSeconds: Int
    ) throws -> (status: Int, body: String) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw Failure(description: "--host must be an IPv4 address, such as 127.0.0.1")
        }
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(socketDescriptor) }
        var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socketDescriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socketDescriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure(description: "cannot connect (errno \(errno)); is tributary running?") }
        var head = "\(method) \(path) HTTP/1.0\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        let request = Array((head + "\r\n").utf8) + (body ?? [])
        guard send(socketDescriptor, request, request.count, 0) == request.count else {
            throw Failure(description: "cannot send the request (errno \(errno))")
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = recv(socketDescriptor, &chunk, chunk.count, 0)
            if count < 0 { throw Failure(description: "no answer within \(timeoutSeconds) s (errno \(errno))") }
            if count == 0 { break }
            response.append(contentsOf: chunk[0..<count])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n", maxSplits: 1).first,
            let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw Failure(description: "not an HTTP answer") }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}
