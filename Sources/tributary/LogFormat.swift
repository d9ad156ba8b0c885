public import ArgumentParser
import ChangeEvents
import Foundation
import Logging
import Synchronization

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

struct LoggingOptions: ParsableArguments {
    @Option(help: "Lowest level logged: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "text: readable lines; json: one JSON object per line.")
    var logFormat: LogFormat = .text

    func bootstrap() {
        let level = logLevel
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Writes each log record as one JSON object on standard error:
/// `{"time":"…","level":"info","logger":"tributary","message":"…","connector":"…",…}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    private static let output = Mutex(())

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = JSONBuffer(capacity: 256)
        line.appendRaw("{\"time\":")
        line.appendString(Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)))
        line.appendRaw(",\"level\":")
        line.appendString(event.level.rawValue)
        line.appendRaw(",\"logger\":")
        line.appendString(label)
        line.appendRaw(",\"message\":")
        line.appendString(event.message.description)
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["time", "level", "logger", "message"].contains(key) {
            line.append(UInt8(ascii: ","))
            line.appendString(key)
            line.append(UInt8(ascii: ":"))
            line.appendString(value.description)
        }
        line.appendRaw("}\n")
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.bytes)) }
    }
}
