import Foundation

extension DebeziumImport {
    /// The transform classes Tributary runs, by their Connect class names, with the options it takes (Debezium's
    /// names; the connector file writes them with underscores).
    static let transformOptions: [String: (type: String, options: Set<String>)] = [
        "io.debezium.transforms.ExtractNewRecordState": (
            "unwrap",
            [
                "add.fields", "add.headers", "add.fields.prefix", "add.headers.prefix", "delete.tombstone.handling.mode",
                "route.by.field", "replace.null.with.default", "drop.fields.header.name", "drop.fields.from.key",
                "drop.fields.keep.schema.compatible",
            ]
        ),
        "io.debezium.transforms.ExtractChangedRecordState": (
            "changed_fields", ["header.changed.name", "header.unchanged.name"]
        ),
        "io.debezium.transforms.outbox.EventRouter": (
            "outbox",
            [
                "table.field.event.id", "table.field.event.key", "table.field.event.type", "table.field.event.payload",
                "table.fields.additional.placement", "route.by.field", "route.topic.regex", "route.topic.replacement",
                "route.tombstone.on.empty.payload", "table.op.invalid.behavior", "table.expand.json.payload",
                "table.json.payload.null.behavior", "table.field.event.schema.version", "tracing.span.context.field",
                "table.field.event.timestamp",
            ]
        ),
        "io.debezium.transforms.ByLogicalTableRouter": (
            "logical_table_router", ["topic.regex", "topic.replacement", "key.enforce.uniqueness"]
        ),
        "org.apache.kafka.connect.transforms.RegexRouter": ("regex_router", ["regex", "replacement"]),
        "org.apache.kafka.connect.transforms.InsertHeader": ("insert_header", ["header", "value.literal"]),
        "org.apache.kafka.connect.transforms.HeaderFrom$Value": (
            "header_from", ["fields", "headers", "operation", "replace.null.with.default"]
        ),
        "org.apache.kafka.connect.transforms.HeaderFrom$Key": (
            "header_from", ["fields", "headers", "operation", "replace.null.with.default"]
        ),
    ]

    /// Options whose values are lists (comma-separated in Debezium).
    static let listOptions: Set<String> = [
        "add.fields", "add.headers", "table.fields.additional.placement", "fields", "headers",
    ]

    /// Option values Tributary cannot honour although it takes the option, with why.
    static let refusedOptionValues: [String: (allowed: Set<String>, why: String)] = [
        "header_from.replace.null.with.default": (
            ["true"], "a null column with a default gives its default in Tributary, as with true"
        )
    ]

    /// The `transforms` entries for a Debezium configuration's `transforms=a,b` chain, or the refusals that keep it on
    /// Debezium: a transform class or option Tributary does not run, or a predicate.
    static func transformEntries(_ config: [String: String]) -> (entries: [String], refusals: [String]) {
        let names = (config["transforms"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        var entries: [String] = []
        var refusals: [String] = []
        var named = Set<String>()
        for name in names {
            named.insert(name)
            let prefix = "transforms.\(name)."
            guard let type = config[prefix + "type"]?.trimmingCharacters(in: .whitespaces) else {
                refusals.append("transforms names \(name) but \(prefix)type is missing")
                continue
            }
            guard let known = transformOptions[type] else {
                refusals.append(
                    "\(prefix)type = \(type): Tributary does not run this transform; it runs "
                        + transformOptions.keys.sorted().joined(separator: ", "))
                continue
            }
            var fields = ["type: \(known.type)"]
            // HeaderFrom's two classes are one transform type in the file, told apart by `from`.
            if type.hasSuffix("HeaderFrom$Key") { fields.append("from: key") }
            for key in config.keys.sorted() where key.hasPrefix(prefix) && key != prefix + "type" {
                let option = String(key.dropFirst(prefix.count))
                let value = config[key]?.trimmingCharacters(in: .whitespaces) ?? ""
                guard known.options.contains(option) else {
                    refusals.append(
                        "\(key) = \(value): Tributary's \(known.type) does not take \(option) (it takes "
                            + known.options.sorted().joined(separator: ", ") + ")")
                    continue
                }
                if let refused = refusedOptionValues["\(known.type).\(option)"], !refused.allowed.contains(value) {
                    refusals.append("\(key) = \(value): \(refused.why)")
                    continue
                }
                let fileKey = option.replacingOccurrences(of: ".", with: "_")
                if listOptions.contains(option) {
                    let items = value.split(separator: ",").map { quoted($0.trimmingCharacters(in: .whitespaces)) }
                    fields.append("\(fileKey): [\(items.joined(separator: ", "))]")
                } else {
                    // A replacement's `${group}` stays literal in the file: `${…}` alone is a reference there.
                    fields.append("\(fileKey): \(quoted(value.replacingOccurrences(of: "${", with: "$${")))")
                }
            }
            entries.append("  - {\(fields.joined(separator: ", "))}")
        }
        // Options of transforms the chain does not name are not run by Kafka Connect either: refused as a likely slip.
        for key in config.keys.sorted() where key.hasPrefix("transforms.") {
            let name = key.dropFirst("transforms.".count).prefix { $0 != "." }
            if !named.contains(String(name)) {
                refusals.append("\(key) belongs to transform \(name), which transforms does not list; list it or remove it")
            }
        }
        return (entries, refusals)
    }
}
