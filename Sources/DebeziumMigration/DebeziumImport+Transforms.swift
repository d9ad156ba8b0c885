import Connector
import Foundation

extension DebeziumImport {
    /// The transform classes Tributary runs, by their Connect class names, as connector-file transform types.
    static let transformTypes: [String: String] = [
        "io.debezium.transforms.ExtractNewRecordState": "unwrap",
        "io.debezium.transforms.ExtractChangedRecordState": "changed_fields",
        "io.debezium.transforms.outbox.EventRouter": "outbox",
        "io.debezium.transforms.ByLogicalTableRouter": "logical_table_router",
        "org.apache.kafka.connect.transforms.RegexRouter": "regex_router",
        "org.apache.kafka.connect.transforms.InsertHeader": "insert_header",
        "org.apache.kafka.connect.transforms.HeaderFrom$Value": "header_from",
        "org.apache.kafka.connect.transforms.HeaderFrom$Key": "header_from",
    ]

    /// Connector-file options with no Debezium property: `from` stands for HeaderFrom's class suffix.
    static let tributaryOnlyOptions: Set<String> = ["from"]

    /// The Debezium options a transform type takes: the connector file's keys (`TransformConfig.keys`), with dots.
    static func debeziumOptions(of type: String) -> Set<String> {
        let keys = TransformConfig.keys.first { $0.type == type }?.keys ?? []
        return Set(keys.filter { !tributaryOnlyOptions.contains($0) }.map { $0.replacingOccurrences(of: "_", with: ".") })
    }

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
            guard let fileType = transformTypes[type] else {
                refusals.append(
                    "\(prefix)type = \(type): Tributary does not run this transform; it runs "
                        + transformTypes.keys.sorted().joined(separator: ", "))
                continue
            }
            let options = debeziumOptions(of: fileType)
            var fields = ["type: \(fileType)"]
            // HeaderFrom's two classes are one transform type in the file, told apart by `from`.
            if type.hasSuffix("HeaderFrom$Key") { fields.append("from: key") }
            for key in config.keys.sorted() where key.hasPrefix(prefix) && key != prefix + "type" {
                let option = String(key.dropFirst(prefix.count))
                let value = config[key]?.trimmingCharacters(in: .whitespaces) ?? ""
                guard options.contains(option) else {
                    refusals.append(
                        "\(key) = \(value): Tributary's \(fileType) does not take \(option) (it takes "
                            + options.sorted().joined(separator: ", ") + ")")
                    continue
                }
                if let refused = refusedOptionValues["\(fileType).\(option)"], !refused.allowed.contains(value) {
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
