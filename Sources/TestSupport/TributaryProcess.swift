import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The `tributary` binary built next to the test bundle, run as a child process.
public final class TributaryProcess: @unchecked Sendable {
    private let process = Process()
    public let logPath: String
    private let keepLog: Bool

    /// The executable beside the running test bundle (`.build/<triple>/debug/tributary`).
    public static var executablePath: String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("tributary").path
    }

    /// - Parameter keepLogAt: where to write the log and leave it; by default a temporary file removed with the process.
    public init(_ arguments: [String], environment: [String: String] = [:], keepLogAt: String? = nil) throws {
        let path = Self.executablePath
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSupportError("tributary binary not found at \(path); build it with `swift build --build-tests`")
        }
        keepLog = keepLogAt != nil
        logPath =
            keepLogAt ?? FileManager.default.temporaryDirectory.appendingPathComponent("tributary-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try log.close()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        if !keepLog { try? FileManager.default.removeItem(atPath: logPath) }
    }

    public var log: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    public var isRunning: Bool { process.isRunning }

    public var pid: Int32 { process.processIdentifier }

    /// Resident memory now and at its peak (`VmRSS`, `VmHWM` of /proc/PID/status), in bytes.
    public var memory: (resident: Int, peak: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
            return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
        }
        guard let resident = field("VmRSS"), let peak = field("VmHWM") else { return nil }
        return (resident, peak)
    }

    /// Waits until the log contains `text`; fails with the log when the process exits or time runs out.
    public func waitForLog(_ text: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if log.contains(text) { return }
            if !process.isRunning {
                throw TestSupportError("tributary exited (\(process.terminationStatus)) before logging '\(text)':\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("tributary did not log '\(text)' within \(timeout):\n\(log)")
    }

    /// SIGTERM, then waits for the exit status.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(60)) async throws -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        return try await waitForExit(timeout: timeout)
    }

    /// Sends SIGTERM without waiting.
    public func sendTerminate() {
        kill(process.processIdentifier, SIGTERM)
    }

    /// SIGKILL: no chance to drain or confirm.
    public func kill9() async throws {
        kill(process.processIdentifier, SIGKILL)
        _ = try await waitForExit(timeout: .seconds(10))
    }

    public func waitForExit(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { throw TestSupportError("tributary did not exit within \(timeout):\n\(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}
