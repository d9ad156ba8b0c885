import Connector
public import Foundation

/// Turns a Debezium PostgreSQL connector configuration (the JSON posted to Kafka Connect's REST API,
/// `{"name": …, "config": {…}}`, or the bare `config` object) into an equivalent connector file.
///
/// Pure: JSON in, YAML text and notes out. What has no equivalent is never dropped silently: it is
/// either refused (the events would differ) or listed in `notes` and as comments in the file.
public struct DebeziumImport: Sendable {
    public struct Result: Sendable {
        /// The connector file.
        public var yaml: String
        /// What the user must know or do: unmapped properties, the password, the slot take-over.
        public var notes: [String]
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Kafka bootstrap servers for the file: a Debezium connector has none (the Connect worker has them).
    public var bootstrapServers: String
    /// Continue from the slot's position without a snapshot (`snapshot.mode: no_data`), for taking over
    /// a slot Debezium has been streaming from.
    public var continueFromSlot: Bool

    public init(bootstrapServers: String, continueFromSlot: Bool = false) {
        self.bootstrapServers = bootstrapServers
        self.continueFromSlot = continueFromSlot
    }

    static let connectorClass = "io.debezium.connector.postgresql.PostgresConnector"

    public func convert(_ data: Data) throws(Failure) -> Result {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw Failure("not JSON: \(error.localizedDescription); give the connector's JSON as Kafka Connect takes it")
        }
        guard let top = object as? [String: Any] else {
            throw Failure("the JSON is not an object; give {\"name\": …, \"config\": {…}} or the config object")
        }
        let rawConfig = (top["config"] as? [String: Any]) ?? top
        var config: [String: String] = [:]
        for (key, value) in rawConfig {
            switch value {
            case let text as String: config[key] = text
            case let number as NSNumber: config[key] = number.stringValue
            default: throw Failure("\(key): expected a string, number or boolean")
            }
        }
        if let type = config["connector.class"], type != Self.connectorClass {
            throw Failure("connector.class is \(type); only \(Self.connectorClass) can be imported")
        }

        // Every property is mapped, harmless (a note) or refused: nothing that changes the records becomes a note.
        var notes: [String] = []
        var refusals: [String] = []
        for key in config.keys.sorted() {
            let value = config[key]?.trimmingCharacters(in: .whitespaces) ?? ""
            let shown = key.contains("password") ? "****" : value
            switch Self.treatment(of: key) {
            case .mapped:
                break
            case .harmless(let why):
                notes.append("\(key) = \(shown) is not imported: \(why)")
            case .refused(let allowed, let advice):
                if !allowed.contains(value) && !allowed.contains(value.lowercased()) {
                    refusals.append("\(key) = \(shown): \(advice)")
                }
            case nil:
                if let newer = Self.renamedProperties[key] {
                    refusals.append(
                        "\(key) is an old name of \(newer), which Debezium 3 no longer reads (it would capture as if the "
                            + "property were absent); rename it to \(newer) and import again")
                } else {
                    refusals.append(
                        "\(key) is not a property of Debezium's PostgreSQL connector or of Kafka Connect; correct or "
                            + "remove it")
                }
            }
        }
        let transforms = Self.transformEntries(config)
        refusals += transforms.refusals
        if !refusals.isEmpty {
            throw Failure(
                "the connector cannot be imported as it is, because Tributary would write other records than Debezium:\n"
                    + refusals.map { "  - \($0)" }.joined(separator: "\n"))
        }

        func take(_ key: String) -> String? {
            guard let value = config[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }

        // name
        let rawName = (top["config"] != nil ? top["name"] as? String : nil) ?? take("name") ?? take("topic.prefix") ?? "connector"
        let name = Self.connectorName(rawName)
        if name != rawName { notes.append("name '\(rawName)' became '\(name)' (a connector name is [a-z0-9_-], up to 63)") }

        // postgres
        guard let host = take("database.hostname") else {
            throw Failure("database.hostname is missing; a Debezium PostgreSQL connector names its server there")
        }
        guard let database = take("database.dbname") else {
            throw Failure("database.dbname is missing; a Debezium PostgreSQL connector names its database there")
        }
        let user = take("database.user") ?? "postgres"
        let port = take("database.port") ?? "5432"
        guard Int(port) != nil else { throw Failure("database.port '\(port)' is not a number") }
        var query: [String] = []
        for (property, parameter) in [
            ("database.sslmode", "sslmode"), ("database.sslrootcert", "sslrootcert"), ("database.sslcert", "sslcert"),
            ("database.sslkey", "sslkey"), ("database.connectTimeout", "connect_timeout"),
        ] {
            guard var value = take(property) else { continue }
            if parameter == "connect_timeout", let millis = Int(value) { value = String(max(1, millis / 1000)) }
            query.append("\(parameter)=\(Self.percentEncoded(value))")
        }
        var url = "postgresql://\(Self.percentEncoded(user))@\(Self.hostPart(host)):\(port)/\(Self.percentEncoded(database))"
        if !query.isEmpty { url += "?" + query.joined(separator: "&") }
        let hasPassword = take("database.password") != nil
        if hasPassword {
            notes.append(
                "database.password is not copied into the file: the file reads ${env:PGPASSWORD}; set it, or use ${file:/path}")
        }
        if let plugin = take("plugin.name"), plugin != "pgoutput" {
            notes.append(
                "plugin.name is \(plugin): Tributary reads pgoutput only, so slot '\(config["slot.name"] ?? "debezium")' cannot be "
                    + "taken over; give postgres.slot a new name (and snapshot again) or drop the old slot")
        }
        let slot = take("slot.name") ?? "debezium"
        let publication = take("publication.name") ?? "dbz_publication"
        var publicationMode: String?
        if let mode = take("publication.autocreate.mode") {
            switch mode {
            case "all_tables": publicationMode = "all_tables"
            case "filtered": publicationMode = "filtered"
            case "disabled": publicationMode = "existing"
            case "no_tables":
                publicationMode = "existing"
                notes.append("publication.autocreate.mode no_tables: the publication must exist (publication_mode: existing)")
            default:
                throw Failure("publication.autocreate.mode '\(mode)' is not one of all_tables, filtered, disabled, no_tables")
            }
        }
        // Debezium's lists are regular expressions matched whole, ignoring case: the file's *_list keys read them so.
        /// Debezium's comma-separated regular-expression lists, as the file's keys of the same meaning read them.
        func regexLists(_ pairs: [(property: String, key: String)]) throws(Failure) -> [(String, [String])] {
            var lists: [(String, [String])] = []
            for (property, key) in pairs {
                guard let list = take(property) else { continue }
                let items = Self.regexList(list)
                for item in items {
                    if let problem = TableFilter.patternProblem(item) {
                        throw Failure("\(property) entry '\(item)' is not a regular expression Tributary can read (\(problem))")
                    }
                }
                if !items.isEmpty { lists.append((key, items)) }
            }
            return lists
        }
        let patterns = try regexLists([
            ("schema.include.list", "schema_include_list"), ("schema.exclude.list", "schema_exclude_list"),
            ("table.include.list", "table_include_list"), ("table.exclude.list", "table_exclude_list"),
        ])
        // column.include.list / column.exclude.list: regular expressions over schema.table.column, as the file reads them.
        let columnLists = try regexLists([
            ("column.include.list", "column_include_list"), ("column.exclude.list", "column_exclude_list"),
        ])
        if columnLists.count == 2 {
            throw Failure(
                "column.include.list and column.exclude.list exclude each other: Debezium refuses such a connector; keep one")
        }
        // message.key.columns: entries split on ';', each `table:column,…` as the connector file reads it.
        var keyColumns: [String] = []
        if let text = take("message.key.columns") {
            for item in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
                if case .failure(let problem) = MessageKeyColumns.entry(item) {
                    throw Failure("message.key.columns: \(problem.message)")
                }
                keyColumns.append(item)
            }
        }
        for (include, exclude) in [("schema.include.list", "schema.exclude.list"), ("table.include.list", "table.exclude.list")]
        where config[include] != nil && config[exclude] != nil {
            throw Failure("\(include) and \(exclude) exclude each other: Debezium refuses such a connector; keep one")
        }
        if patterns.isEmpty && publicationMode == "filtered" {
            publicationMode = "all_tables"
            notes.append(
                "publication.autocreate.mode filtered without include or exclude lists publishes every table: "
                    + "publication_mode all_tables (creating it needs a superuser; or create the publication and use existing)")
        }
        if !patterns.isEmpty && publicationMode == nil {
            // Debezium's default (all_tables) with lists still captures only the tables that pass them.
            publicationMode = "all_tables"
        }
        let statusInterval = take("status.update.interval.ms").flatMap(Int.init).map(Self.duration(milliseconds:))

        // kafka
        guard let prefix = take("topic.prefix") ?? take("database.server.name") else {
            throw Failure("topic.prefix (or database.server.name before Debezium 2.0) is missing")
        }
        var properties: [(String, String)] = []
        for key in config.keys.sorted() where key.hasPrefix("producer.override.") {
            properties.append((String(key.dropFirst("producer.override.".count)), config[key] ?? ""))
        }

        // events
        var events: [(String, String)] = []
        let json = "org.apache.kafka.connect.json.JsonConverter"
        let avro = "io.confluent.connect.avro.AvroConverter"
        let cloudEvents = config["value.converter"] == "io.debezium.converters.CloudEventsConverter"
        var avroSides: [String] = []
        for side in ["key", "value"] {
            guard let converter = config["\(side).converter"], converter != json else { continue }
            if side == "value" && cloudEvents { continue }
            if converter == avro {
                avroSides.append(side)
                continue
            }
            throw Failure(
                "the \(side) converter is \(converter); Tributary writes what \(json) or \(avro) writes"
                    + (side == "value" ? " (or io.debezium.converters.CloudEventsConverter, as JSON)" : ""))
        }
        var registry: [(String, String)] = []
        if !avroSides.isEmpty {
            registry = try Self.registrySettings(config, sides: avroSides, notes: &notes)
            for side in avroSides { events.append(("\(side)_format", "avro")) }
        }
        let jsonSide = ["value", "key"].first { !avroSides.contains($0) }
        let converter = jsonSide.flatMap { config["\($0).converter"] }
        if cloudEvents {
            // The key goes through the key converter (JsonConverter); the CloudEvent's data carries schemas as its
            // json.schemas.enable says. Tributary writes both with events.schemas, so they must agree.
            let data = config["value.converter.json.schemas.enable"] ?? "true"
            let key = config["key.converter.schemas.enable"] ?? (config["key.converter"] != nil ? "true" : data)
            guard data == key else {
                throw Failure(
                    "key.converter.schemas.enable (\(key)) and value.converter.json.schemas.enable (\(data)) differ; "
                        + "Tributary writes schemas in keys and in the CloudEvent's data alike: make them the same")
            }
            events.append(("schemas", data == "true" ? "true" : "false"))
            events.append(("format", "cloudevents"))
            if let value = config["value.converter.extension.attributes.enable"] {
                events.append(("cloudevents_extension_attributes", value == "false" ? "false" : "true"))
            }
            if let value = config["value.converter.opentelemetry.tracing.attributes.enable"] {
                events.append(("cloudevents_tracing_attributes", value == "true" ? "true" : "false"))
                if value == "true" {
                    notes.append(
                        "opentelemetry.tracing.attributes.enable: every event needs a traceparent header, which Tributary "
                            + "takes from the transaction's context message (correlation); an event without one is refused")
                }
            }
        } else if jsonSide == nil {
            // Both sides are Avro: the schemas live in the registry.
        } else if let schemas = jsonSide.flatMap({ config["\($0).converter.schemas.enable"] }) {
            events.append(("schemas", schemas == "true" ? "true" : "false"))
        } else if converter != nil {
            events.append(("schemas", "true"))  // JsonConverter's own default
        } else {
            notes.append(
                "no converter in the connector: the Connect worker's decides whether events carry schemas; "
                    + "the file keeps events.schemas: false (set true if the worker has schemas.enable=true, its default)")
        }
        if let value = take("tombstones.on.delete") { events.append(("tombstones", value == "false" ? "false" : "true")) }
        if let value = take("extended.headers.enabled") {
            events.append(("context_headers", value == "false" ? "false" : "true"))
        }
        if take("provide.transaction.metadata") == "true" {
            events.append(("transaction_metadata", "true"))
            if let suffix = take("topic.transaction"), suffix != "transaction" {
                // Debezium names the topic <topic.prefix>.<topic.transaction>.
                events.append(("transaction_topic", Self.quoted("\(prefix).\(suffix)")))
            }
        }
        if let value = take("skipped.operations") {
            let operations = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            events.append(("skipped_operations", "[\(operations.joined(separator: ", "))]"))
        }
        for (property, key, allowed) in [
            ("decimal.handling.mode", "decimal_handling", ["precise", "double", "string"]),
            ("time.precision.mode", "time_precision", ["adaptive", "adaptive_time_microseconds", "connect"]),
            ("binary.handling.mode", "binary_handling", ["bytes", "base64", "base64-url-safe", "hex"]),
            ("interval.handling.mode", "interval_handling", ["numeric", "string"]),
            ("hstore.handling.mode", "hstore_handling", ["json", "map"]),
        ] {
            guard let value = take(property) else { continue }
            guard allowed.contains(value) else {
                throw Failure("\(property) '\(value)' is not supported; use one of \(allowed.joined(separator: ", "))")
            }
            events.append((key, value))
        }
        if let value = take("unavailable.value.placeholder") {
            events.append(("unavailable_value_placeholder", Self.quoted(value)))
        }

        // snapshot
        var snapshot: [(String, String)] = []
        var mode = take("snapshot.mode") ?? "initial"
        switch mode {
        case "initial", "no_data", "initial_only", "when_needed", "always": break
        case "never": mode = "no_data"
        default:
            throw Failure("snapshot.mode '\(mode)' is not supported; use initial, no_data, initial_only, when_needed or always")
        }
        if continueFromSlot && mode != "no_data" {
            notes.append(
                "snapshot.mode \(mode) became no_data: the connector continues from slot '\(slot)' where Debezium left it")
            mode = "no_data"
        } else if mode != "no_data" {
            notes.append(
                "snapshot.mode \(mode): Tributary does not see Debezium's offsets, so on a slot Debezium already streamed it "
                    + "reads every table once more; import with --continue-from-slot to stream from the slot's position instead")
        }
        snapshot.append(("mode", mode))
        if let threads = take("snapshot.max.threads") { snapshot.append(("max_threads", threads)) }
        var overrides: [(String, String)] = []
        if let list = take("snapshot.select.statement.overrides") {
            for table in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                let key = "snapshot.select.statement.overrides.\(table)"
                guard let statement = take(key) else { throw Failure("\(key) is missing for a table listed in overrides") }
                overrides.append((table, statement))
            }
        }

        // errors and heartbeat
        var errors: [(String, String)] = []
        if let tolerance = take("errors.tolerance"), tolerance == "all" {
            if let topic = take("errors.deadletterqueue.topic.name") {
                errors.append(("mode", "dead_letter"))
                errors.append(("dead_letter_topic", topic))
            } else {
                errors.append(("mode", "skip"))
            }
        }
        if let topic = take("errors.deadletterqueue.topic.name"), errors.isEmpty {
            notes.append(
                "errors.deadletterqueue.topic.name (\(topic)) acts only with errors.tolerance all, as in Connect: not used")
        }
        if let backoff = take("errors.retry.delay.initial.ms").flatMap(Int.init) {
            errors.append(("retry_backoff", Self.duration(milliseconds: backoff)))
        }
        if let backoff = take("errors.retry.delay.max.ms").flatMap(Int.init) {
            errors.append(("retry_max_backoff", Self.duration(milliseconds: backoff)))
        }
        var heartbeat: [(String, String)] = []
        if let interval = take("heartbeat.interval.ms").flatMap(Int.init), interval > 0 {
            heartbeat.append(("interval", Self.duration(milliseconds: interval)))
        }
        if let query = take("heartbeat.action.query") { heartbeat.append(("action_query", Self.quoted(query))) }

        var signals: [(String, String)] = []
        if let table = take("signal.data.collection") {
            // PostgreSQL names it schema.table; a database part in front is the connector's own database.
            let parts = table.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2 || parts.count == 3 else {
                throw Failure("signal.data.collection \(table) is not schema.table")
            }
            signals.append(("data_collection", Self.quoted(parts.suffix(2).joined(separator: "."))))
        }
        let channels = Set(
            (take("signal.enabled.channels") ?? "source").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            })
        for channel in channels where !["", "source", "kafka"].contains(channel) {
            throw Failure(
                "signal.enabled.channels names \(channel); Tributary reads the source (signal table) and kafka channels, and "
                    + "its own HTTP endpoint (signals.http), not jmx, file or in-process")
        }
        if channels.contains("kafka") {
            signals.append(("kafka_topic", Self.quoted(take("signal.kafka.topic") ?? "\(prefix)-signal")))
            if let servers = take("signal.kafka.bootstrap.servers") {
                signals.append(("kafka_bootstrap_servers", Self.quoted(servers)))
            }
        }
        var incremental: [(String, String)] = []
        if let size = take("incremental.snapshot.chunk.size") {
            guard let rows = Int(size), rows > 0 else {
                throw Failure("incremental.snapshot.chunk.size \(size) is not a positive number of rows")
            }
            incremental.append(("chunk_size", "\(rows)"))
        }
        var failoverSlot = false
        if let failover = take("slot.failover") {
            switch failover.lowercased() {
            case "true": failoverSlot = true
            case "false": break
            default: throw Failure("slot.failover \(failover) is not true or false")
            }
        }
        if let readOnly = take("read.only") {
            switch readOnly.lowercased() {
            case "true": incremental.append(("read_only", "true"))
            case "false": break
            default: throw Failure("read.only \(readOnly) is not true or false")
            }
        }

        var lines = ["# Imported from the Debezium connector '\(rawName)' by tributary import-debezium."]
        lines += notes.map { "# NOTE: \($0)" }
        lines.append("name: \(name)")
        lines.append("postgres:")
        lines.append("  url: \(Self.quoted(url))")
        if hasPassword { lines.append("  password: \"${env:PGPASSWORD}\"") }
        lines.append("  slot: \(slot)")
        if failoverSlot { lines.append("  failover_slot: true") }
        lines.append("  publication: \(Self.quoted(publication))")
        if let publicationMode { lines.append("  publication_mode: \(publicationMode)") }
        for (key, items) in patterns { lines.append("  \(key): [\(items.map(Self.quoted).joined(separator: ", "))]") }
        for (key, items) in columnLists { lines.append("  \(key): [\(items.map(Self.quoted).joined(separator: ", "))]") }
        if !keyColumns.isEmpty {
            lines.append("  message_key_columns: [\(keyColumns.map(Self.quoted).joined(separator: ", "))]")
        }
        if let statusInterval { lines.append("  status_interval: \(statusInterval)") }
        lines.append("kafka:")
        lines.append("  bootstrap_servers: \(Self.quoted(bootstrapServers))")
        lines.append("  topic_prefix: \(Self.quoted(prefix))")
        if !properties.isEmpty {
            lines.append("  properties:")
            lines += properties.map { "    \($0.0): \(Self.quoted($0.1))" }
        }
        func section(_ name: String, _ entries: [(String, String)]) {
            guard !entries.isEmpty else { return }
            lines.append("\(name):")
            lines += entries.map { "  \($0.0): \($0.1)" }
        }
        section("events", events)
        section("schema_registry", registry)
        section("snapshot", snapshot)
        if !overrides.isEmpty {
            lines.append("  select_overrides:")
            lines += overrides.map { "    \(Self.quoted($0.0)): \(Self.quoted($0.1))" }
        }
        section("errors", errors)
        section("heartbeat", heartbeat)
        section("signals", signals)
        section("incremental_snapshot", incremental)
        if !transforms.entries.isEmpty {
            lines.append("transforms:")
            lines += transforms.entries
        }
        return Result(yaml: lines.joined(separator: "\n") + "\n", notes: notes)
    }

    /// `[a-z0-9_-]`, at most 63: lower-cased, anything else becomes `-`.
    static func connectorName(_ raw: String) -> String {
        let mapped = raw.lowercased().unicodeScalars.map { scalar -> Character in
            let allowed = (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || scalar == "_" || scalar == "-"
            return allowed ? Character(scalar) : "-"
        }
        let name = String(mapped.prefix(63))
        return name.isEmpty ? "connector" : name
    }

    /// Splits a Debezium list of regular expressions as Debezium does: at commas not escaped with a backslash,
    /// each item trimmed, `\,` read as a comma.
    public static func regexList(_ list: String) -> [String] {
        var items: [String] = []
        var current = ""
        var escaped = false
        for character in list {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "," {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(current)
        return items.map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\\,", with: ",") }
            .filter { !$0.isEmpty }
    }

    /// Confluent's AvroConverter settings of the Avro sides (`<side>.converter.schema.registry.url`, …) as
    /// `schema_registry`; the two sides must agree, since Tributary has one registry per connector.
    static func registrySettings(
        _ config: [String: String], sides: [String], notes: inout [String]
    ) throws(Failure) -> [(
        String, String
    )] {
        func both(_ name: String) throws(Failure) -> String? {
            let values = Set(sides.compactMap { config["\($0).converter.\(name)"] })
            guard values.count <= 1 else {
                throw Failure("key.converter.\(name) and value.converter.\(name) differ; Tributary uses one schema registry")
            }
            return values.first
        }
        guard let url = try both("schema.registry.url") else {
            throw Failure("the AvroConverter has no schema.registry.url; set \(sides[0]).converter.schema.registry.url")
        }
        var entries: [(String, String)] = [("url", quoted(url))]
        if let source = try both("basic.auth.credentials.source"), source != "USER_INFO" {
            throw Failure("basic.auth.credentials.source \(source) is not supported; use USER_INFO with basic.auth.user.info")
        }
        if try both("basic.auth.user.info") != nil {
            entries.append(("basic_auth", "\"${env:SCHEMA_REGISTRY_AUTH}\""))
            notes.append("schema_registry.basic_auth reads SCHEMA_REGISTRY_AUTH (user:password) from the environment: set it")
        }
        if try both("bearer.auth.token") != nil {
            entries.append(("bearer_token", "\"${env:SCHEMA_REGISTRY_TOKEN}\""))
            notes.append("schema_registry.bearer_token reads SCHEMA_REGISTRY_TOKEN from the environment: set it")
        }
        if let location = try both("schema.registry.ssl.truststore.location") {
            notes.append(
                "the registry's truststore \(location) is a Java keystore: export its CA as PEM and set schema_registry.ca_file")
        }
        let autoRegister = try both("auto.register.schemas")
        if let autoRegister {
            entries.append(("auto_register", autoRegister == "false" ? "false" : "true"))
        }
        if let value = try both("use.latest.version"), value == "true" {
            if autoRegister == "false" {
                entries.append(("use_latest_version", "true"))
            } else {
                notes.append(
                    "use.latest.version is left out: with auto.register.schemas on, Confluent's serializer registers each "
                        + "record's schema and ignores it, as the connector does")
            }
        }
        let strategies = [
            "io.confluent.kafka.serializers.subject.TopicNameStrategy": "topic_name",
            "io.confluent.kafka.serializers.subject.RecordNameStrategy": "record_name",
            "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy": "topic_record_name",
        ]
        for side in sides {
            guard let strategy = config["\(side).converter.\(side).subject.name.strategy"] else { continue }
            guard let mapped = strategies[strategy] else {
                throw Failure("\(side).subject.name.strategy \(strategy) is not supported; use one of Confluent's three")
            }
            entries.append(("\(side)_subject_strategy", mapped))
        }
        return entries
    }

    static func duration(milliseconds: Int) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\x%02X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// An IPv6 address goes in brackets in a URI.
    static func hostPart(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}
