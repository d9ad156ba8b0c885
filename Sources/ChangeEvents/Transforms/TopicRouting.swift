import Foundation

/// A Java regular expression's replacement applied as `Matcher.replaceFirst` does, to a whole match: `$n` and `${name}`
/// insert groups, `\` takes the next character literally.
struct JavaReplacement: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal(String)
        case group(Int)
        case named(String)
    }

    let parts: [Part]

    init?(_ text: String) {
        var parts: [Part] = []
        var literal = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "\\" {
                index = text.index(after: index)
                guard index < text.endIndex else { return nil }
                literal.append(text[index])
                index = text.index(after: index)
            } else if character == "$" {
                index = text.index(after: index)
                guard index < text.endIndex else { return nil }
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = ""
                if text[index] == "{" {
                    guard let close = text[index...].firstIndex(of: "}") else { return nil }
                    parts.append(.named(String(text[text.index(after: index)..<close])))
                    index = text.index(after: close)
                } else {
                    let digits = text[index...].prefix { $0.isASCII && $0.isNumber }
                    guard let number = Int(digits) else { return nil }
                    parts.append(.group(number))
                    index = digits.endIndex
                }
            } else {
                literal.append(character)
                index = text.index(after: index)
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    func apply(to match: Regex<AnyRegexOutput>.Match) -> String? {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text): out += text
            case .group(let number):
                guard number < match.output.count else { return nil }
                if let value = match.output[number].substring { out += value }
            case .named(let name):
                guard let group = match.output[name] else { return nil }
                if let value = group.substring { out += value }
            }
        }
        return out
    }
}

/// A topic rule: a regular expression the whole topic must match, and the replacement that makes the new topic.
public struct TopicRule: Sendable {
    public let pattern: String
    public let replacement: String
    nonisolated(unsafe) private let regex: Regex<AnyRegexOutput>
    private let template: JavaReplacement

    /// Fails with what is wrong with the expression or the replacement.
    public init(pattern: String, replacement: String) throws(TransformError) {
        self.pattern = pattern
        self.replacement = replacement
        do {
            regex = try Regex(pattern)
        } catch {
            throw TransformError("'\(pattern)' is not a regular expression: \(error)")
        }
        guard let template = JavaReplacement(replacement) else {
            throw TransformError("'\(replacement)' is not a replacement: use $1 for a group and \\$ for a dollar")
        }
        self.template = template
    }

    /// The new topic, or nil when the topic does not match as a whole.
    public func apply(_ topic: String) -> String? {
        guard let match = try? regex.wholeMatch(in: topic) else { return nil }
        return template.apply(to: match)
    }
}

/// Kafka's `org.apache.kafka.connect.transforms.RegexRouter`: a topic matching `regex` as a whole is renamed.
public struct RegexRouter: Sendable {
    public let rule: TopicRule
    private var cache: [String: String?] = [:]

    public init(regex: String, replacement: String) throws(TransformError) {
        rule = try TopicRule(pattern: regex, replacement: replacement)
    }

    public mutating func apply(_ event: inout ChangeEvent) {
        if let cached = cache[event.topic] {
            if let cached { event.topic = cached }
            return
        }
        let topic = rule.apply(event.topic)
        cache[event.topic] = .some(topic)
        if let topic { event.topic = topic }
    }
}

/// Debezium's `io.debezium.transforms.ByLogicalTableRouter`: tables whose topics match `topic.regex` share the topic
/// `topic.replacement` makes; each key gains the physical table's topic in `__dbz__physicalTableIdentifier` (unless
/// `key.enforce.uniqueness` is off), and with schemas on the key, row and envelope schemas take the new topic's names.
public struct LogicalTableRouter: Sendable {
    public struct Options: Sendable, Equatable {
        public var topicRegex: String
        public var topicReplacement: String
        public var keyEnforceUniqueness = true

        public init(topicRegex: String, topicReplacement: String) {
            self.topicRegex = topicRegex
            self.topicReplacement = topicReplacement
        }
    }

    public static let keyFieldName = "__dbz__physicalTableIdentifier"

    public let options: Options
    private let rule: TopicRule
    private let schemas: Bool
    /// Per old topic: the new topic (nil = not routed), and with schemas the rewritten schemas.
    private var routes: [String: Route?] = [:]

    struct Route {
        var topic: String
        /// `,"__dbz__physicalTableIdentifier":"<old topic>"`, to end the key's payload with.
        var keyMember: [UInt8]
        /// Old → new schema names (`<topic>.Key`, `.Value`, `.Envelope`), as written in the schemas.
        var names: [(old: [UInt8], new: [UInt8])]
    }

    public init(_ options: Options, schemas: Bool) throws(TransformError) {
        self.options = options
        self.schemas = schemas
        rule = try TopicRule(pattern: options.topicRegex, replacement: options.topicReplacement)
    }

    /// The topic a record of `topic` goes to, or nil when the rule leaves it where it is.
    public func routedTopic(_ topic: String) -> String? {
        guard let newTopic = rule.apply(topic), !newTopic.isEmpty else { return nil }
        return newTopic
    }

    private mutating func route(for topic: String) -> Route? {
        if let known = routes[topic] { return known }
        var route: Route?
        if let newTopic = rule.apply(topic), !newTopic.isEmpty {
            var member = JSONBuffer()
            member.append(UInt8(ascii: ","))
            member.appendString(Self.keyFieldName)
            member.append(UInt8(ascii: ":"))
            member.appendString(topic)
            route = Route(
                topic: newTopic, keyMember: member.bytes,
                names: [".Key", ".Value", ".Envelope"].map { suffix in
                    (
                        Array("\"name\":\(ConnectSchema.quote(topic + suffix))".utf8),
                        Array("\"name\":\(ConnectSchema.quote(newTopic + suffix))".utf8)
                    )
                })
        }
        routes[topic] = .some(route)
        return route
    }

    public mutating func apply(_ event: inout ChangeEvent) {
        guard let route = route(for: event.topic) else { return }
        event.topic = route.topic
        if let key = event.key, key != Array("null".utf8) { event.key = rewriteKey(key, route) }
        // Only an envelope's schemas are renamed; tombstones, messages and unwrapped rows keep their value.
        if schemas, let layout = event.envelope, let value = event.value {
            let renamed = renamed(value, route, upTo: layout.payload.lowerBound)
            // The payload moved with the schema's new names; a later stage (CloudEvents) still finds its parts.
            event.envelope = layout.shifted(by: renamed.count - value.count)
            event.value = renamed
        }
    }

    private func rewriteKey(_ key: [UInt8], _ route: Route) -> [UInt8] {
        var key = key
        if schemas {
            let scanner = JSONScanner(key)
            guard let schema = scanner.member("schema", ofObjectAt: 0),
                let fields = scanner.member("fields", ofObjectAt: schema.lowerBound)
            else { return key }
            let payloadEnd = key.count - 1  // the envelope's closing brace
            var out = Array(key[..<(fields.upperBound - 1)])
            if options.keyEnforceUniqueness {
                if fields.count > 2 { out.append(UInt8(ascii: ",")) }
                out += Array("{\"type\":\"string\",\"optional\":false,\"field\":\(ConnectSchema.quote(Self.keyFieldName))}".utf8)
            }
            out += key[(fields.upperBound - 1)..<payloadEnd]
            key = Self.replacing(out, route.names[0].old, with: route.names[0].new)
            if options.keyEnforceUniqueness { key.insert(contentsOf: route.keyMember, at: key.count - 1) }
            key.append(UInt8(ascii: "}"))
            return key
        }
        if options.keyEnforceUniqueness { key.insert(contentsOf: route.keyMember, at: key.count - 1) }
        return key
    }

    private func renamed(_ value: [UInt8], _ route: Route, upTo end: Int) -> [UInt8] {
        var schema = Array(value[..<end])
        for (old, new) in route.names.dropFirst() { schema = Self.replacing(schema, old, with: new) }
        return schema + value[end...]
    }

    static func replacing(_ bytes: [UInt8], _ old: [UInt8], with new: [UInt8]) -> [UInt8] {
        guard !old.isEmpty, bytes.count >= old.count else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        var index = 0
        while index < bytes.count {
            if index + old.count <= bytes.count, bytes[index] == old[0], bytes[index..<(index + old.count)].elementsEqual(old) {
                out += new
                index += old.count
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }
}

/// Kafka's `org.apache.kafka.connect.transforms.InsertHeader`: the same header, with a literal value, on every record.
public struct InsertHeader: Sendable, Equatable {
    public let header: ChangeEvent.Header

    public init(name: String, literal: String) {
        header = ChangeEvent.Header(name: name, value: Array(Self.text(ofLiteral: literal).utf8))
    }

    /// The header's text as Kafka writes it: InsertHeader parses the literal (Kafka's `Values.parseString`), so a
    /// boolean is written lower-case, an integer without leading zeros and a decimal as Java prints it (`1.50` →
    /// `1.5`); anything else as it is.
    static func text(ofLiteral literal: String) -> String {
        let trimmed = literal.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "true" || trimmed.lowercased() == "false" { return trimmed.lowercased() }
        if let integer = Int64(trimmed) { return String(integer) }
        if Double(trimmed) != nil, trimmed.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }),
            !trimmed.lowercased().contains("n")
        {
            var buffer = JSONBuffer()
            let written = trimmed.utf8.withContiguousStorageIfAvailable {
                JavaFloatFormat.write(UnsafeRawBufferPointer($0), into: &buffer)
            }
            if written == true { return String(decoding: buffer.bytes, as: UTF8.self) }
        }
        return literal
    }

    public func apply(_ event: inout ChangeEvent) {
        event.headers.append(header)
    }
}
