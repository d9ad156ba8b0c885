import ChangeEvents
import Foundation
import PGOutput
import Yams

/// Reads connector files: YAML, `${env:NAME}` / `${file:/path}` substitution, validation with positions, defaults.
public struct ConnectorConfigLoader: Sendable {
    /// Files larger than this are refused before parsing.
    public static let maximumFileSize = 1 << 20

    public var environment: [String: String]

    public init(environment: [String: String]? = nil) {
        self.environment = environment ?? ProcessInfo.processInfo.environment
    }

    /// Loads every file; throws all problems of all files at once.
    public func load(files: [String]) throws(ConfigErrors) -> [ConnectorConfig] {
        var configs: [ConnectorConfig] = []
        var diagnostics: [ConfigDiagnostic] = []
        for file in files {
            do {
                configs.append(try load(file: file))
            } catch {
                diagnostics.append(contentsOf: error.diagnostics)
            }
        }
        var seen: [String: String] = [:]
        for config in configs {
            if let other = seen[config.name] {
                diagnostics.append(
                    ConfigDiagnostic(
                        file: config.sourceFile, line: 1, column: 1,
                        message: "connector name '\(config.name)' is already used by \(other); names must be unique"))
            }
            seen[config.name] = config.sourceFile
        }
        if !diagnostics.isEmpty { throw ConfigErrors(diagnostics) }
        return configs
    }

    public func load(file: String) throws(ConfigErrors) -> ConnectorConfig {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigErrors([ConfigDiagnostic(file: file, line: 1, column: 1, message: "cannot read file")])
        }
        guard data.count <= Self.maximumFileSize else {
            throw ConfigErrors([
                ConfigDiagnostic(
                    file: file, line: 1, column: 1,
                    message: "file is \(data.count) bytes; a connector file is at most \(Self.maximumFileSize) bytes")
            ])
        }
        guard let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
            throw ConfigErrors([
                ConfigDiagnostic(file: file, line: 1, column: 1, message: "file is not UTF-8 text; a connector file is YAML")
            ])
        }
        return try parse(text, file: file)
    }

    public func parse(_ text: String, file: String) throws(ConfigErrors) -> ConnectorConfig {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigErrors([
                    ConfigDiagnostic(
                        file: file, line: 1, column: 1,
                        message: "file is empty; a connector needs at least name, postgres.url and kafka")
                ])
            }
            root = node
        } catch let error as ConfigErrors {
            throw error
        } catch let error as YamlError {
            throw ConfigErrors([Self.diagnostic(for: error, file: file)])
        } catch {
            throw ConfigErrors([ConfigDiagnostic(file: file, line: 1, column: 1, message: "not valid YAML: \(error)")])
        }
        var reader = ConfigReader(file: file, environment: environment)
        let config = reader.connector(root)
        if let config, reader.diagnostics.isEmpty { return config }
        throw ConfigErrors(reader.diagnostics)
    }

    static func diagnostic(for error: YamlError, file: String) -> ConfigDiagnostic {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigDiagnostic(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        case .reader(let problem, _, _, _):
            return ConfigDiagnostic(file: file, line: 1, column: 1, message: "not valid YAML: \(problem)")
        default:
            return ConfigDiagnostic(file: file, line: 1, column: 1, message: "not valid YAML: \(error)")
        }
    }
}

/// Walks the YAML tree, collecting every problem instead of stopping at the first.
struct ConfigReader {
    let file: String
    let environment: [String: String]
    var diagnostics: [ConfigDiagnostic] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    mutating func error(_ node: Node?, _ message: String) {
        let mark = node?.mark
        diagnostics.append(ConfigDiagnostic(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    /// The entries of a mapping; reports keys outside `allowed` (with a suggestion) and non-mappings.
    mutating func mapping(_ node: Node, path: String, allowed: [String]) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            error(node, path.isEmpty ? "a connector file is a YAML mapping (key: value lines)" : "\(path) must be a mapping")
            return nil
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                error(key, "keys must be plain strings")
                continue
            }
            let qualified = path.isEmpty ? name : "\(path).\(name)"
            guard allowed.contains(name) else {
                var message = "unknown key '\(qualified)'"
                if let suggestion = Suggestion.closest(to: name, in: allowed) {
                    message += "; did you mean '\(path.isEmpty ? suggestion : "\(path).\(suggestion)")'?"
                } else {
                    message += "; allowed here: \(allowed.joined(separator: ", "))"
                }
                error(key, message)
                continue
            }
            if entries[name] != nil {
                error(key, "duplicate key '\(qualified)'")
                continue
            }
            entries[name] = (key, value)
        }
        return entries
    }

    /// A scalar as a string, after `${env:…}` / `${file:…}` substitution.
    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            error(node, "\(path) must be a string")
            return nil
        }
        return substitute(scalar.string, node: node, path: path)
    }

    mutating func substitute(_ text: String, node: Node, path: String) -> String? {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = text[...]
        while let open = rest.range(of: "${") {
            // `$${…}` is a literal `${…}`: a transform's replacement names a regex group so.
            if open.lowerBound > rest.startIndex, rest[rest.index(before: open.lowerBound)] == "$" {
                result += rest[..<rest.index(before: open.lowerBound)] + "${"
                rest = rest[open.upperBound...]
                continue
            }
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                error(node, "\(path): unclosed '${' (write ${env:NAME} or ${file:/path})")
                return nil
            }
            let reference = rest[open.upperBound..<close]
            if reference.hasPrefix("env:") {
                let name = String(reference.dropFirst(4))
                guard let value = environment[name] else {
                    error(node, "\(path): environment variable \(name) is not set")
                    return nil
                }
                result += value
            } else if reference.hasPrefix("file:") {
                let path2 = String(reference.dropFirst(5))
                guard let data = FileManager.default.contents(atPath: path2), let value = String(data: data, encoding: .utf8)
                else {
                    error(node, "\(path): cannot read file \(path2)")
                    return nil
                }
                result += value.trimmingCharacters(in: .newlines)
            } else {
                error(
                    node,
                    "\(path): unknown reference '${\(reference)}'; use ${env:NAME} or ${file:/path} (write $${…} for a "
                        + "literal ${…}, such as a replacement's ${group})")
                return nil
            }
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return result
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard let text = string(node, path) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(node, "\(path) must be true or false, not '\(text)'")
            return nil
        }
    }

    mutating func positiveInt(_ node: Node, _ path: String) -> Int? {
        guard let text = string(node, path) else { return nil }
        guard let value = Int(text), value > 0 else {
            error(node, "\(path) must be a positive whole number, not '\(text)'")
            return nil
        }
        return value
    }

    mutating func duration(_ node: Node, _ path: String) -> Duration? {
        guard let text = string(node, path) else { return nil }
        guard let value = DurationText.parse(text), value > .zero else {
            error(node, "\(path) must be a duration such as 500ms, 10s or 5m, not '\(text)'")
            return nil
        }
        return value
    }

    /// Kafka's longest topic name.
    static let topicNameLimit = 249

    /// A topic name (or prefix) by Kafka's rule: 1 to `limit` of a-z, A-Z, 0-9, '.', '_' and '-'.
    mutating func topicName(_ node: Node, _ path: String, limit: Int) -> String? {
        guard let text = string(node, path) else { return nil }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            error(node, "\(path) '\(text)' may hold only a-z, A-Z, 0-9, '.', '_' and '-' (Kafka's rule for topic names)")
            return nil
        }
        guard text.count <= limit else {
            error(node, "\(path) '\(text)' is longer than \(limit) characters (Kafka's limit for topic names)")
            return nil
        }
        return text
    }

    mutating func stringList(_ node: Node, _ path: String) -> [(String, Node)]? {
        guard case .sequence(let sequence) = node else {
            error(node, "\(path) must be a list, such as [a, b]")
            return nil
        }
        var items: [(String, Node)] = []
        for item in sequence {
            if let text = string(item, path) { items.append((text, item)) }
        }
        return items
    }

    mutating func connector(_ root: Node) -> ConnectorConfig? {
        guard
            let top = mapping(
                root, path: "", allowed: ConnectorConfigLoader.keys(in: ""))
        else { return nil }

        var name: String?
        if let entry = top["name"] {
            if let value = string(entry.value, "name") {
                if value.isEmpty || value.count > 63
                    || !value.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") })
                {
                    error(entry.value, "name '\(value)' must be 1–63 characters of a-z, 0-9, _ and -")
                } else {
                    name = value
                }
            }
        } else {
            error(root, "missing required key 'name'")
        }

        let postgres = top["postgres"].flatMap { postgresSection($0.value, connectorName: name ?? "connector") }
        if top["postgres"] == nil { error(root, "missing required key 'postgres' (with at least postgres.url)") }
        let kafka = top["kafka"].flatMap { kafkaSection($0.value) }
        if top["kafka"] == nil { error(root, "missing required key 'kafka' (with bootstrap_servers and topic_prefix)") }
        let events =
            top["events"].map { eventsSection($0.value) }
            ?? ConnectorConfig.Events()
        let snapshot =
            top["snapshot"].map { snapshotSection($0.value) } ?? ConnectorConfig.Snapshot()

        let errors = top["errors"].map { errorsSection($0.value) } ?? ConnectorConfig.Errors()
        let heartbeat = top["heartbeat"].map { heartbeatSection($0.value) } ?? ConnectorConfig.Heartbeat()
        let transforms = top["transforms"].map { transformsSection($0.value) } ?? []
        var correlation: ConnectorConfig.Correlation?? = .some(nil)
        if let entry = top["correlation"] { correlation = correlationSection(entry.value).map { .some($0) } }
        var schemaRegistry: ConnectorConfig.SchemaRegistry?? = .some(nil)
        if let entry = top["schema_registry"] { schemaRegistry = schemaRegistrySection(entry.value).map { .some($0) } }
        if let events, events.usesAvro, top["schema_registry"] == nil {
            error(root, "events.key_format or events.value_format is avro: set schema_registry.url too")
        }
        if let events, !events.usesAvro, let entry = top["schema_registry"] {
            error(entry.key, "schema_registry is used only with events.key_format or events.value_format: avro")
        }

        let signals = top["signals"].map { signalsSection($0.value) } ?? ConnectorConfig.Signals()
        let incremental =
            top["incremental_snapshot"].map { incrementalSnapshotSection($0.value) }
            ?? ConnectorConfig.IncrementalSnapshotSettings()

        guard let name, let postgres, let kafka, let events, let snapshot, let errors, let heartbeat, let transforms,
            let correlation, let schemaRegistry, let signals, let incremental, diagnostics.isEmpty
        else { return nil }
        var config = ConnectorConfig(
            name: name, postgres: postgres, kafka: kafka, events: events, snapshot: snapshot, errors: errors,
            heartbeat: heartbeat, transforms: transforms, correlation: correlation, schemaRegistry: schemaRegistry,
            sourceFile: file)
        config.signals = signals
        config.incrementalSnapshot = incremental
        return config
    }

    mutating func signalsSection(_ node: Node) -> ConnectorConfig.Signals? {
        guard let section = mapping(node, path: "signals", allowed: ConnectorConfigLoader.keys(in: "signals")) else {
            return nil
        }
        var signals = ConnectorConfig.Signals()
        var valid = true
        if let entry = section["data_collection"], let text = string(entry.value, "signals.data_collection") {
            if let table = TableName(parsing: text) {
                signals.dataCollection = table
            } else {
                error(entry.value, "signals.data_collection must name a table as schema.table, not '\(text)'")
                valid = false
            }
        }
        if let entry = section["http"] {
            if let value = bool(entry.value, "signals.http") { signals.http = value } else { valid = false }
        }
        if let entry = section["kafka_topic"], let text = string(entry.value, "signals.kafka_topic") {
            signals.kafkaTopic = text
        }
        if let entry = section["kafka_bootstrap_servers"],
            let text = string(entry.value, "signals.kafka_bootstrap_servers")
        {
            if signals.kafkaTopic == nil && section["kafka_topic"] == nil {
                error(entry.key, "signals.kafka_bootstrap_servers is used only with signals.kafka_topic")
                valid = false
            }
            signals.kafkaBootstrapServers = text
        }
        return valid ? signals : nil
    }

    mutating func incrementalSnapshotSection(_ node: Node) -> ConnectorConfig.IncrementalSnapshotSettings? {
        guard
            let section = mapping(
                node, path: "incremental_snapshot", allowed: ConnectorConfigLoader.keys(in: "incremental_snapshot"))
        else { return nil }
        var settings = ConnectorConfig.IncrementalSnapshotSettings()
        var valid = true
        if let entry = section["chunk_size"] {
            if let value = positiveInt(entry.value, "incremental_snapshot.chunk_size") {
                settings.chunkSize = value
            } else {
                valid = false
            }
        }
        if let entry = section["read_only"] {
            if let value = bool(entry.value, "incremental_snapshot.read_only") {
                settings.readOnly = value
            } else {
                valid = false
            }
        }
        return valid ? settings : nil
    }

    mutating func schemaRegistrySection(_ node: Node) -> ConnectorConfig.SchemaRegistry? {
        guard let section = mapping(node, path: "schema_registry", allowed: ConnectorConfigLoader.keys(in: "schema_registry"))
        else { return nil }
        var valid = true
        var urls: [String] = []
        if let entry = section["url"], let text = string(entry.value, "schema_registry.url") {
            urls = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for url in urls where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                error(entry.value, "schema_registry.url '\(url)' must start with http:// or https://")
                valid = false
            }
            if urls.isEmpty {
                error(entry.value, "schema_registry.url is empty; give the registry's URL, such as http://registry:8081")
                valid = false
            }
        } else {
            error(node, "missing required key 'schema_registry.url'")
            valid = false
        }
        var registry = ConnectorConfig.SchemaRegistry(urls: urls)
        if let entry = section["basic_auth"], let text = string(entry.value, "schema_registry.basic_auth") {
            if !text.contains(":") {
                error(entry.value, "schema_registry.basic_auth must be user:password (use ${env:…} or ${file:…} for the secret)")
                valid = false
            }
            registry.basicAuth = text
        }
        if let entry = section["bearer_token"], let text = string(entry.value, "schema_registry.bearer_token") {
            registry.bearerToken = text
            if registry.basicAuth != nil {
                error(entry.key, "schema_registry takes basic_auth or bearer_token, not both")
                valid = false
            }
        }
        for (key, target) in [
            ("ca_file", \ConnectorConfig.SchemaRegistry.caFile), ("cert_file", \ConnectorConfig.SchemaRegistry.certFile),
            ("key_file", \ConnectorConfig.SchemaRegistry.keyFile),
        ] {
            if let entry = section[key], let text = string(entry.value, "schema_registry.\(key)") {
                registry[keyPath: target] = text
            }
        }
        if (registry.certFile == nil) != (registry.keyFile == nil) {
            error(node, "schema_registry.cert_file and schema_registry.key_file go together: give both or neither")
            valid = false
        }
        if let entry = section["timeout"] {
            if let value = duration(entry.value, "schema_registry.timeout") { registry.timeout = value } else { valid = false }
        }
        for (key, target) in [
            ("auto_register", \ConnectorConfig.SchemaRegistry.autoRegister),
            ("use_latest_version", \ConnectorConfig.SchemaRegistry.useLatestVersion),
        ] {
            guard let entry = section[key] else { continue }
            if let value = bool(entry.value, "schema_registry.\(key)") {
                registry[keyPath: target] = value
            } else {
                valid = false
            }
        }
        if registry.useLatestVersion && registry.autoRegister {
            // Confluent's serializer registers and ignores use.latest.version when it may register.
            error(
                section["use_latest_version"]?.key,
                "schema_registry.use_latest_version takes effect only with auto_register: false (a connector that may "
                    + "register writes each record under its own schema); set auto_register: false, or drop "
                    + "use_latest_version")
            valid = false
        }
        if let value = choice(section, "key_subject_strategy", AvroConversion.SubjectStrategy.self, &valid, in: "schema_registry")
        {
            registry.keySubjectStrategy = value
        }
        if let value = choice(
            section, "value_subject_strategy", AvroConversion.SubjectStrategy.self, &valid, in: "schema_registry")
        {
            registry.valueSubjectStrategy = value
        }
        return valid ? registry : nil
    }

    mutating func postgresSection(_ node: Node, connectorName: String) -> ConnectorConfig.Postgres? {
        guard let section = mapping(node, path: "postgres", allowed: ConnectorConfigLoader.keys(in: "postgres")) else {
            return nil
        }
        var url: String?
        if let entry = section["url"] {
            url = string(entry.value, "postgres.url")
            if url?.isEmpty == true {
                error(entry.value, "postgres.url is empty; give a libpq URI such as postgresql://user@host:5432/db")
                url = nil
            }
        } else {
            error(node, "missing required key 'postgres.url'")
        }
        let password = section["password"].flatMap { string($0.value, "postgres.password") }
        let slot = identifier(
            section["slot"], "postgres.slot", default: "tributary_\(connectorName.replacingOccurrences(of: "-", with: "_"))",
            slotRules: true)
        let publication = identifier(
            section["publication"], "postgres.publication",
            default: "tributary_\(connectorName.replacingOccurrences(of: "-", with: "_"))", slotRules: false)
        var tables: [TableName] = []
        if let entry = section["tables"], let items = stringList(entry.value, "postgres.tables") {
            if items.isEmpty {
                error(
                    entry.value,
                    "postgres.tables is empty; list tables as schema.table, or remove the key to capture the whole publication")
            }
            for (text, item) in items {
                guard let table = TableName(parsing: text) else {
                    error(item, "'\(text)' is not a table name; write schema.table, such as public.orders")
                    continue
                }
                tables.append(table)
            }
        }
        var excluded: [TableName] = []
        if let entry = section["exclude_tables"], let items = stringList(entry.value, "postgres.exclude_tables") {
            for (text, item) in items {
                guard let table = TableName(parsing: text) else {
                    error(item, "'\(text)' is not a table name; write schema.table, such as public.audit_log")
                    continue
                }
                excluded.append(table)
            }
        }
        var patterns = ConnectorConfig.TablePatterns()
        for (key, keyPath) in [
            ("schema_include_list", \ConnectorConfig.TablePatterns.schemaInclude),
            ("schema_exclude_list", \.schemaExclude), ("table_include_list", \.tableInclude),
            ("table_exclude_list", \.tableExclude),
        ] {
            guard let entry = section[key], let items = stringList(entry.value, "postgres.\(key)") else { continue }
            for (text, item) in items {
                if let problem = TableFilter.patternProblem(text) {
                    error(item, "postgres.\(key): '\(text)' is not a regular expression (\(problem))")
                } else {
                    patterns[keyPath: keyPath].append(text)
                }
            }
        }
        for (include, exclude) in [("schema_include_list", "schema_exclude_list"), ("table_include_list", "table_exclude_list")]
        where section[include] != nil && section[exclude] != nil {
            error(
                section[exclude]?.key,
                "postgres.\(include) and postgres.\(exclude) exclude each other, as in Debezium; keep one")
        }
        var columnFilter = ColumnFilter()
        for (key, keyPath) in [("column_include_list", \ColumnFilter.include), ("column_exclude_list", \.exclude)] {
            guard let entry = section[key], let items = stringList(entry.value, "postgres.\(key)") else { continue }
            for (text, item) in items {
                if let problem = TableFilter.patternProblem(text) {
                    error(item, "postgres.\(key): '\(text)' is not a regular expression (\(problem))")
                } else {
                    columnFilter[keyPath: keyPath].append(text)
                }
            }
        }
        if section["column_include_list"] != nil && section["column_exclude_list"] != nil {
            error(
                section["column_exclude_list"]?.key,
                "postgres.column_include_list and postgres.column_exclude_list exclude each other, as in Debezium; keep one")
        }
        var rowFilters: [TableName: String] = [:]
        if let entry = section["row_filters"] {
            if case .mapping(let mapping) = entry.value {
                for (key, value) in mapping {
                    guard let name = key.scalar?.string, let table = TableName(parsing: name) else {
                        error(key, "postgres.row_filters keys are tables, written schema.table")
                        continue
                    }
                    guard let condition = string(value, "postgres.row_filters.\(name)") else { continue }
                    if condition.trimmingCharacters(in: .whitespaces).isEmpty || condition.contains(";") {
                        error(value, "postgres.row_filters.\(name) must be one SQL condition, such as region = 'eu'")
                        continue
                    }
                    rowFilters[table] = condition
                }
            } else {
                error(entry.value, "postgres.row_filters must map schema.table to a SQL condition, such as region = 'eu'")
            }
        }
        var keyEntries: [MessageKeyColumns.Entry] = []
        if let entry = section["message_key_columns"], let items = stringList(entry.value, "postgres.message_key_columns") {
            for (text, item) in items {
                switch MessageKeyColumns.entry(text) {
                case .success(let parsed): keyEntries.append(parsed)
                case .failure(let problem): error(item, "postgres.message_key_columns: \(problem.message)")
                }
            }
        }
        var mode: ConnectorConfig.PublicationMode = tables.isEmpty ? .allTables : .filtered
        if let entry = section["publication_mode"], let text = string(entry.value, "postgres.publication_mode") {
            if let value = ConnectorConfig.PublicationMode(rawValue: text) {
                mode = value
                if value == .filtered && section["tables"] == nil && patterns.isEmpty {
                    error(
                        entry.value,
                        "publication_mode filtered needs postgres.tables or one of the *_list keys: the tables to publish")
                }
            } else {
                error(
                    entry.value,
                    "postgres.publication_mode must be one of \(ConnectorConfig.PublicationMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'"
                )
            }
        }
        var choicesValid = true
        let onSlotLost = choice(section, "on_slot_lost", ConnectorConfig.SlotLostAction.self, &choicesValid, in: "postgres")
        let interval =
            section["status_interval"].map { duration($0.value, "postgres.status_interval") }
            ?? ConnectorConfig.Postgres.defaultStatusInterval
        let receiveTimeout =
            section["receive_timeout"].map { duration($0.value, "postgres.receive_timeout") }
            ?? ConnectorConfig.Postgres.defaultReceiveTimeout
        guard let url, let slot, let publication, let interval, let receiveTimeout, choicesValid else { return nil }
        var postgres = ConnectorConfig.Postgres(
            url: url, password: password, slot: slot, publication: publication, publicationMode: mode, tables: tables,
            excludedTables: excluded, statusInterval: interval, receiveTimeout: receiveTimeout, tablePatterns: patterns,
            onSlotLost: onSlotLost)
        postgres.messageKeyColumns = MessageKeyColumns(entries: keyEntries)
        postgres.columnFilter = columnFilter
        postgres.rowFilters = rowFilters
        if let entry = section["failover_slot"], let value = bool(entry.value, "postgres.failover_slot") {
            postgres.failoverSlot = value
        }
        if let entry = section["publish_generated_columns"],
            let value = bool(entry.value, "postgres.publish_generated_columns")
        {
            postgres.publishGeneratedColumns = value
            if value && mode == .existing {
                error(
                    entry.key,
                    "postgres.publish_generated_columns changes a publication the connector manages; with "
                        + "publication_mode: existing, set it on the publication (ALTER PUBLICATION … SET "
                        + "(publish_generated_columns = stored)) and remove it here")
            }
        }
        if let entry = section["pgoutput_binary"], let value = bool(entry.value, "postgres.pgoutput_binary") {
            postgres.pgoutputBinary = value
        }
        if !rowFilters.isEmpty && mode != .filtered {
            error(
                section["row_filters"]?.key,
                "postgres.row_filters are the publication's WHERE clauses, which the connector sets only with "
                    + "publication_mode: filtered; with \(mode.rawValue), write them into the publication yourself "
                    + "(they are read from it)")
        }
        return postgres
    }

    mutating func identifier(
        _ entry: (key: Node, value: Node)?, _ path: String, default value: String, slotRules: Bool
    ) -> String? {
        guard let entry else { return value }
        guard let text = string(entry.value, path) else { return nil }
        if slotRules {
            // PostgreSQL: replication slot names use lower-case letters, digits and underscores, at most 63.
            guard !text.isEmpty, text.count <= 63, text.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
            else {
                error(
                    entry.value, "\(path) '\(text)' must be 1–63 characters of a-z, 0-9 and _ (PostgreSQL's rule for slot names)")
                return nil
            }
        } else if text.isEmpty || text.utf8.count > 63 {
            error(entry.value, "\(path) must be 1–63 bytes long")
            return nil
        }
        return text
    }

    mutating func kafkaSection(_ node: Node) -> ConnectorConfig.Kafka? {
        guard
            let section = mapping(node, path: "kafka", allowed: ConnectorConfigLoader.keys(in: "kafka"))
        else {
            return nil
        }
        var servers: String?
        if let entry = section["bootstrap_servers"] {
            servers = string(entry.value, "kafka.bootstrap_servers")
            if servers?.isEmpty == true {
                error(entry.value, "kafka.bootstrap_servers is empty; give host:port[,host:port] or embedded")
                servers = nil
            }
        } else {
            error(node, "missing required key 'kafka.bootstrap_servers' (host:port[,host:port], or embedded)")
        }
        var prefix: String?
        if let entry = section["topic_prefix"] {
            // Room is left for `.<schema>.<table>` within Kafka's limit.
            prefix = topicName(entry.value, "kafka.topic_prefix", limit: 200)
        } else {
            error(node, "missing required key 'kafka.topic_prefix'")
        }
        var properties: [(String, String)] = []
        if let entry = section["properties"] {
            if case .mapping(let mapping) = entry.value {
                for (key, value) in mapping {
                    guard let name = key.scalar?.string, let text = string(value, "kafka.properties.\(key.scalar?.string ?? "?")")
                    else {
                        error(key, "kafka.properties entries must be key: value strings")
                        continue
                    }
                    if name == "bootstrap.servers" {
                        error(key, "set kafka.bootstrap_servers instead of kafka.properties.bootstrap.servers")
                        continue
                    }
                    properties.append((name, text))
                }
            } else {
                error(entry.value, "kafka.properties must be a mapping of librdkafka properties, such as {compression.type: lz4}")
            }
        }
        let maxInFlight =
            section["max_in_flight"].map { positiveInt($0.value, "kafka.max_in_flight") }
            ?? ConnectorConfig.Kafka.defaultMaxInFlight
        let maxBytes =
            section["max_in_flight_bytes"].map { byteSize($0.value, "kafka.max_in_flight_bytes") }
            ?? ConnectorConfig.Kafka.defaultMaxInFlightBytes
        let exactlyOnce = section["exactly_once"].map { bool($0.value, "kafka.exactly_once") } ?? true
        guard let servers, let prefix, let maxInFlight, let maxBytes, let exactlyOnce else { return nil }
        return ConnectorConfig.Kafka(
            bootstrapServers: servers, topicPrefix: prefix, properties: properties, maxInFlight: maxInFlight,
            maxInFlightBytes: maxBytes, exactlyOnce: exactlyOnce)
    }

    /// A size such as `1048576`, `512kB`, `64MB` or `1GB` (powers of 1024).
    mutating func byteSize(_ node: Node, _ path: String) -> Int? {
        guard let text = string(node, path) else { return nil }
        let units: [(String, Int)] = [
            ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("b", 1),
        ]
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        var number = lower
        var multiplier = 1
        if let unit = units.first(where: { lower.hasSuffix($0.0) }) {
            number = String(lower.dropLast(unit.0.count)).trimmingCharacters(in: .whitespaces)
            multiplier = unit.1
        }
        guard let value = Int(number), value > 0, value <= Int.max / multiplier else {
            error(node, "\(path) must be a size such as 1048576, 512kB, 64MB or 1GB, not '\(text)'")
            return nil
        }
        return value * multiplier
    }

    mutating func errorsSection(_ node: Node) -> ConnectorConfig.Errors? {
        guard let section = mapping(node, path: "errors", allowed: ConnectorConfigLoader.keys(in: "errors")) else { return nil }
        var errors = ConnectorConfig.Errors()
        var valid = true
        if let entry = section["mode"], let text = string(entry.value, "errors.mode") {
            if let mode = ConnectorConfig.ErrorMode(rawValue: text) {
                errors.mode = mode
            } else {
                error(
                    entry.value,
                    "errors.mode must be one of \(ConnectorConfig.ErrorMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'"
                )
                valid = false
            }
        }
        if let entry = section["dead_letter_topic"] {
            if let text = topicName(entry.value, "errors.dead_letter_topic", limit: Self.topicNameLimit) {
                errors.deadLetterTopic = text
            } else {
                valid = false
            }
        }
        if let entry = section["retry_backoff"] {
            if let value = duration(entry.value, "errors.retry_backoff") { errors.retryBackoff = value } else { valid = false }
        }
        if let entry = section["retry_max_backoff"] {
            if let value = duration(entry.value, "errors.retry_max_backoff") {
                errors.retryMaxBackoff = value
            } else {
                valid = false
            }
        }
        if errors.retryMaxBackoff < errors.retryBackoff {
            error(
                section["retry_max_backoff"]?.value ?? node,
                "errors.retry_max_backoff must be at least errors.retry_backoff (\(errors.retryBackoff))")
            valid = false
        }
        return valid ? errors : nil
    }

    mutating func correlationSection(_ node: Node) -> ConnectorConfig.Correlation? {
        guard let section = mapping(node, path: "correlation", allowed: ConnectorConfigLoader.keys(in: "correlation")) else {
            return nil
        }
        var correlation = ConnectorConfig.Correlation()
        var valid = true
        if let entry = section["message_prefix"], let text = string(entry.value, "correlation.message_prefix") {
            if text.isEmpty || text == heartbeatMessagePrefix {
                error(entry.value, "correlation.message_prefix must be a prefix of its own, such as tributary.context")
                valid = false
            }
            correlation.messagePrefix = text
        }
        if let entry = section["headers"] {
            guard case .mapping(let mapping) = entry.value else {
                error(
                    entry.value,
                    "correlation.headers must be a mapping of message keys to header names, such as {traceparent: traceparent}")
                return nil
            }
            for (key, value) in mapping {
                guard let name = key.scalar?.string, let header = string(value, "correlation.headers.\(name)"), !header.isEmpty
                else {
                    error(value, "correlation.headers: each entry maps a message key to a header name")
                    valid = false
                    continue
                }
                correlation.headers.append((name, header))
            }
        }
        return valid ? correlation : nil
    }

    mutating func heartbeatSection(_ node: Node) -> ConnectorConfig.Heartbeat? {
        guard let section = mapping(node, path: "heartbeat", allowed: ConnectorConfigLoader.keys(in: "heartbeat")) else {
            return nil
        }
        var heartbeat = ConnectorConfig.Heartbeat()
        var valid = true
        if let entry = section["interval"] {
            if let value = duration(entry.value, "heartbeat.interval") { heartbeat.interval = value } else { valid = false }
        }
        if let entry = section["action_query"], let text = string(entry.value, "heartbeat.action_query") {
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                error(entry.value, "heartbeat.action_query is empty; give a statement, or remove the key")
                valid = false
            } else if section["interval"] == nil {
                error(entry.value, "heartbeat.action_query runs every heartbeat.interval; set heartbeat.interval too")
                valid = false
            }
            heartbeat.actionQuery = text
        }
        return valid ? heartbeat : nil
    }

    mutating func eventsSection(_ node: Node) -> ConnectorConfig.Events? {
        guard let section = mapping(node, path: "events", allowed: ConnectorConfigLoader.keys(in: "events")) else { return nil }
        var events = ConnectorConfig.Events()
        let schemas = section["schemas"].map { bool($0.value, "events.schemas") } ?? events.schemas
        let tombstones = section["tombstones"].map { bool($0.value, "events.tombstones") } ?? events.tombstones
        let contextHeaders =
            section["context_headers"].map { bool($0.value, "events.context_headers") } ?? events.contextHeaders
        var skipped: Set<ChangeOperation>? = events.skippedOperations
        if let entry = section["skipped_operations"], let items = stringList(entry.value, "events.skipped_operations") {
            var set: Set<ChangeOperation> = []
            for (text, item) in items {
                if text == "none" { continue }
                guard let op = ChangeOperation(rawValue: text), [.create, .update, .delete, .truncate].contains(op) else {
                    error(item, "events.skipped_operations: '\(text)' is not one of c, u, d, t (or none)")
                    skipped = nil
                    continue
                }
                set.insert(op)
            }
            if skipped != nil { skipped = set }
        }
        var values = events.values
        var valid = true
        if let value = choice(section, "decimal_handling", ValueHandling.Decimal.self, &valid) { values.decimal = value }
        if let value = choice(section, "time_precision", ValueHandling.TimePrecision.self, &valid) { values.time = value }
        if let value = choice(section, "binary_handling", ValueHandling.Binary.self, &valid) { values.binary = value }
        if let value = choice(section, "interval_handling", ValueHandling.Interval.self, &valid) { values.interval = value }
        if let value = choice(section, "hstore_handling", ValueHandling.Hstore.self, &valid) { values.hstore = value }
        if let entry = section["unavailable_value_placeholder"],
            let text = string(entry.value, "events.unavailable_value_placeholder")
        {
            values.unavailablePlaceholder = text
        }
        if let value = choice(section, "format", ConnectorConfig.Format.self, &valid) { events.format = value }
        if let value = choice(section, "key_format", ConnectorConfig.Serialization.self, &valid) { events.keyFormat = value }
        if let value = choice(section, "value_format", ConnectorConfig.Serialization.self, &valid) {
            events.valueFormat = value
        }
        if events.valueFormat == .avro, events.format == .cloudevents, let entry = section["value_format"] {
            error(entry.key, "events.value_format: avro with events.format: cloudevents is not supported; use one of them")
            valid = false
        }
        for (key, target) in [
            ("cloudevents_extension_attributes", \CloudEvents.Options.extensionAttributes),
            ("cloudevents_tracing_attributes", \CloudEvents.Options.tracingAttributes),
        ] {
            guard let entry = section[key] else { continue }
            guard let value = bool(entry.value, "events.\(key)") else {
                valid = false
                continue
            }
            if events.format != .cloudevents {
                error(entry.key, "events.\(key) applies only with events.format: cloudevents")
                valid = false
            }
            events.cloudEvents[keyPath: target] = value
        }
        if let entry = section["transaction_metadata"] {
            if let value = bool(entry.value, "events.transaction_metadata") {
                events.transactionMetadata = value
            } else {
                valid = false
            }
        }
        if let entry = section["transaction_topic"] {
            if let text = topicName(entry.value, "events.transaction_topic", limit: Self.topicNameLimit) {
                events.transactionTopic = text
                if !events.transactionMetadata {
                    error(entry.key, "events.transaction_topic applies only with events.transaction_metadata: true")
                    valid = false
                }
            } else {
                valid = false
            }
        }
        guard let schemas, let tombstones, let contextHeaders, let skipped, valid else { return nil }
        events.schemas = schemas
        events.tombstones = tombstones
        events.contextHeaders = contextHeaders
        events.skippedOperations = skipped
        events.values = values
        return events
    }

    /// One of an option's values, or an error listing them.
    mutating func choice<T: RawRepresentable & CaseIterable>(
        _ section: [String: (key: Node, value: Node)], _ key: String, _ type: T.Type, _ valid: inout Bool,
        in path: String = "events"
    ) -> T? where T.RawValue == String {
        guard let entry = section[key], let text = string(entry.value, "\(path).\(key)") else { return nil }
        guard let value = T(rawValue: text) else {
            error(
                entry.value, "\(path).\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
            valid = false
            return nil
        }
        return value
    }

    mutating func snapshotSection(_ node: Node) -> ConnectorConfig.Snapshot? {
        guard
            let section = mapping(node, path: "snapshot", allowed: ConnectorConfigLoader.keys(in: "snapshot"))
        else {
            return nil
        }
        var valid = true
        var snapshot = ConnectorConfig.Snapshot()
        if let entry = section["mode"], let text = string(entry.value, "snapshot.mode") {
            if let value = ConnectorConfig.SnapshotMode(rawValue: text == "never" ? "no_data" : text) {
                snapshot.mode = value
            } else {
                error(
                    entry.value,
                    "snapshot.mode must be one of \(ConnectorConfig.SnapshotMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'"
                )
                valid = false
            }
        }
        if let entry = section["state_directory"], let text = string(entry.value, "snapshot.state_directory") {
            if text.isEmpty {
                error(entry.value, "snapshot.state_directory is empty; give a directory the connector may write")
                valid = false
            }
            snapshot.stateDirectory = text
        }
        if let entry = section["max_threads"] {
            if let value = positiveInt(entry.value, "snapshot.max_threads") {
                if value > ConnectorConfig.Snapshot.maxThreadsLimit {
                    error(entry.value, "snapshot.max_threads must be at most \(ConnectorConfig.Snapshot.maxThreadsLimit)")
                    valid = false
                }
                snapshot.maxThreads = value
            } else {
                valid = false
            }
        }
        if let entry = section["range_pages"] {
            if let value = positiveInt(entry.value, "snapshot.range_pages") { snapshot.rangePages = value } else { valid = false }
        }
        if let entry = section["select_overrides"] {
            if case .mapping(let mapping) = entry.value {
                for (key, value) in mapping {
                    guard let name = key.scalar?.string, let table = TableName(parsing: name) else {
                        error(key, "snapshot.select_overrides keys are tables, written schema.table")
                        valid = false
                        continue
                    }
                    if let query = string(value, "snapshot.select_overrides.\(name)") {
                        guard query.lowercased().hasPrefix("select") else {
                            error(
                                value, "snapshot.select_overrides.\(name) must be a SELECT returning the table's columns in order"
                            )
                            valid = false
                            continue
                        }
                        snapshot.selectOverrides[table] = query
                    }
                }
            } else {
                error(entry.value, "snapshot.select_overrides must map schema.table to a SELECT statement")
                valid = false
            }
        }
        return valid ? snapshot : nil
    }
}

enum DurationText {
    /// `500ms`, `10s`, `5m`, `1h`.
    static func parse(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, millis) in units where text.hasSuffix(suffix) {
            guard let number = Int64(text.dropLast(suffix.count)), number >= 0, number < Int64.max / millis else { return nil }
            return .milliseconds(number * millis)
        }
        return nil
    }
}

enum Suggestion {
    /// The allowed word nearest to `word`, if it is close enough to be a typo.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(Array(word), Array($0))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension ConnectorConfigLoader {
    /// Every key a connector file may hold, by section ("" is the top level). The loader refuses any
    /// other key, and docs/configuration.md must list exactly these (ConfigurationDocTests).
    public static let sections: [(section: String, keys: [String])] = [
        (
            "",
            [
                "name", "postgres", "kafka", "events", "snapshot", "errors", "heartbeat", "transforms", "correlation",
                "schema_registry", "signals", "incremental_snapshot",
            ]
        ),
        ("signals", ["data_collection", "http", "kafka_topic", "kafka_bootstrap_servers"]),
        ("incremental_snapshot", ["chunk_size", "read_only"]),
        (
            "schema_registry",
            [
                "url", "basic_auth", "bearer_token", "ca_file", "cert_file", "key_file", "timeout", "auto_register",
                "use_latest_version", "key_subject_strategy", "value_subject_strategy",
            ]
        ),
        ("correlation", ["message_prefix", "headers"]),
        (
            "postgres",
            [
                "url", "password", "slot", "publication", "publication_mode", "tables", "exclude_tables",
                "schema_include_list", "schema_exclude_list", "table_include_list", "table_exclude_list", "status_interval",
                "message_key_columns", "column_include_list", "column_exclude_list", "row_filters",
                "receive_timeout", "on_slot_lost", "failover_slot", "publish_generated_columns", "pgoutput_binary",
            ]
        ),
        ("kafka", ["bootstrap_servers", "topic_prefix", "properties", "max_in_flight", "max_in_flight_bytes", "exactly_once"]),
        (
            "events",
            [
                "schemas", "tombstones", "context_headers", "skipped_operations", "decimal_handling", "time_precision",
                "binary_handling",
                "interval_handling", "hstore_handling", "unavailable_value_placeholder", "format",
                "cloudevents_extension_attributes", "cloudevents_tracing_attributes", "transaction_metadata",
                "transaction_topic", "key_format", "value_format",
            ]
        ),
        ("snapshot", ["mode", "state_directory", "max_threads", "range_pages", "select_overrides"]),
        ("errors", ["mode", "dead_letter_topic", "retry_backoff", "retry_max_backoff"]),
        ("heartbeat", ["interval", "action_query"]),
    ]

    /// The keys of one section.
    static func keys(in section: String) -> [String] {
        sections.first { $0.section == section }?.keys ?? []
    }

    /// Every leaf key with its section, as the documentation writes it: `name`, `postgres.url`, …
    public static var documentedKeys: [String] {
        let sectionNames = Set(sections.map(\.section))
        return sections.flatMap { entry in
            entry.keys.filter { entry.section != "" || !sectionNames.contains($0) }
                .map { entry.section.isEmpty ? $0 : "\(entry.section).\($0)" }
        }
    }
}
