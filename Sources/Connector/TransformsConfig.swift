public import ChangeEvents
import Yams

/// One entry of the connector file's `transforms` list: a Debezium or Kafka transform applied to every event after it
/// is written and before it is produced, in the list's order (Debezium's `transforms=a,b`).
public enum TransformConfig: Sendable, Equatable {
    /// `io.debezium.transforms.ExtractNewRecordState`.
    case unwrap(Unwrap.Options)
    /// `io.debezium.transforms.outbox.EventRouter`.
    case outbox(OutboxRouter.Options)
    /// `io.debezium.transforms.ByLogicalTableRouter`.
    case logicalTableRouter(LogicalTableRouter.Options)
    /// `org.apache.kafka.connect.transforms.RegexRouter`.
    case regexRouter(regex: String, replacement: String)
    /// `org.apache.kafka.connect.transforms.InsertHeader`.
    case insertHeader(header: String, literal: String)
    /// `org.apache.kafka.connect.transforms.HeaderFrom$Value`.
    case headerFrom(HeaderFrom.Options)
    /// `io.debezium.transforms.ExtractChangedRecordState`.
    case changedFields(ChangedFields.Options)

    /// The keys each transform type takes besides `type`, as docs/configuration.md lists them.
    public static let keys: [(type: String, keys: [String])] = [
        (
            "unwrap",
            [
                "add_fields", "add_headers", "add_fields_prefix", "add_headers_prefix", "delete_tombstone_handling_mode",
                "route_by_field", "replace_null_with_default", "drop_fields_header_name", "drop_fields_from_key",
                "drop_fields_keep_schema_compatible",
            ]
        ),
        ("changed_fields", ["header_changed_name", "header_unchanged_name"]),
        (
            "outbox",
            [
                "table_field_event_id", "table_field_event_key", "table_field_event_type", "table_field_event_payload",
                "table_fields_additional_placement", "route_by_field", "route_topic_regex", "route_topic_replacement",
                "route_tombstone_on_empty_payload", "table_op_invalid_behavior", "table_expand_json_payload",
                "table_json_payload_null_behavior", "table_field_event_schema_version", "tracing_span_context_field",
                "table_field_event_timestamp",
            ]
        ),
        ("logical_table_router", ["topic_regex", "topic_replacement", "key_enforce_uniqueness"]),
        ("regex_router", ["regex", "replacement"]),
        ("insert_header", ["header", "value_literal"]),
        ("header_from", ["fields", "headers", "operation", "from", "replace_null_with_default"]),
    ]
}

extension ConfigReader {
    /// The `transforms` list: each entry a mapping with `type` and that type's options.
    mutating func transformsSection(_ node: Node) -> [TransformConfig]? {
        guard case .sequence(let sequence) = node else {
            error(node, "transforms must be a list of mappings, each with a type, such as [{type: unwrap}]")
            return nil
        }
        var transforms: [TransformConfig] = []
        var valid = true
        for (index, item) in sequence.enumerated() {
            let path = "transforms[\(index)]"
            guard case .mapping(let mapping) = item else {
                error(item, "\(path) must be a mapping with a type, such as {type: unwrap}")
                valid = false
                continue
            }
            guard let typeNode = mapping["type"], let type = string(typeNode, "\(path).type") else {
                error(item, "\(path) has no type; one of \(TransformConfig.keys.map(\.type).joined(separator: ", "))")
                valid = false
                continue
            }
            guard let keys = TransformConfig.keys.first(where: { $0.type == type })?.keys else {
                var message = "\(path).type '\(type)' is not a transform Tributary has; "
                if let suggestion = Suggestion.closest(to: type, in: TransformConfig.keys.map(\.type)) {
                    message += "did you mean '\(suggestion)'?"
                } else {
                    message += "one of \(TransformConfig.keys.map(\.type).joined(separator: ", "))"
                }
                error(typeNode, message)
                valid = false
                continue
            }
            guard let section = self.mapping(item, path: path, allowed: ["type"] + keys) else {
                valid = false
                continue
            }
            switch type {
            case "unwrap":
                if let options = unwrapOptions(section, path: path) { transforms.append(.unwrap(options)) } else { valid = false }
            case "outbox":
                if let options = outboxOptions(section, path: path) { transforms.append(.outbox(options)) } else { valid = false }
            case "logical_table_router":
                let regex = requiredRegex(section, "topic_regex", path: path, item: item)
                let replacement = requiredString(section, "topic_replacement", path: path, item: item)
                guard let regex, let replacement else {
                    valid = false
                    continue
                }
                var options = LogicalTableRouter.Options(topicRegex: regex, topicReplacement: replacement)
                if let value = optionalBool(section, "key_enforce_uniqueness", path: path, &valid) {
                    options.keyEnforceUniqueness = value
                }
                if checkReplacement(regex, replacement, section["topic_replacement"]?.value, path: path) {
                    transforms.append(.logicalTableRouter(options))
                } else {
                    valid = false
                }
            case "insert_header":
                let header = requiredString(section, "header", path: path, item: item)
                let literal = requiredString(section, "value_literal", path: path, item: item)
                guard let header, let literal, !header.isEmpty else {
                    valid = false
                    continue
                }
                transforms.append(.insertHeader(header: header, literal: literal))
            case "changed_fields":
                var options = ChangedFields.Options()
                if let entry = section["header_changed_name"], let text = string(entry.value, "\(path).header_changed_name") {
                    options.changedHeader = text
                }
                if let entry = section["header_unchanged_name"], let text = string(entry.value, "\(path).header_unchanged_name") {
                    options.unchangedHeader = text
                }
                if options.changedHeader == nil && options.unchangedHeader == nil {
                    error(item, "\(path) needs header_changed_name or header_unchanged_name (or both)")
                    valid = false
                    continue
                }
                transforms.append(.changedFields(options))
            case "header_from":
                if let options = headerFromOptions(section, path: path, item: item) {
                    transforms.append(.headerFrom(options))
                } else {
                    valid = false
                }
            case "regex_router":
                let regex = requiredRegex(section, "regex", path: path, item: item)
                let replacement = requiredString(section, "replacement", path: path, item: item)
                guard let regex, let replacement,
                    checkReplacement(regex, replacement, section["replacement"]?.value, path: path)
                else {
                    valid = false
                    continue
                }
                transforms.append(.regexRouter(regex: regex, replacement: replacement))
            default:
                valid = false
            }
        }
        func readsEnvelope(_ transform: TransformConfig) -> Bool {
            switch transform {
            case .unwrap, .outbox: true
            default: false
            }
        }
        // changed_fields (which only adds headers from the envelope) may come before it.
        let leading = transforms.prefix { if case .changedFields = $0 { true } else { false } }.count
        if let position = transforms.dropFirst(leading + 1).firstIndex(where: readsEnvelope) {
            error(
                sequence[position],
                "an unwrap or outbox transform must come first in transforms (after changed_fields), and only one of them: "
                    + "it reads the Debezium envelope"
            )
            valid = false
        }
        if let position = transforms.dropFirst(leading).firstIndex(where: {
            if case .changedFields = $0 { true } else { false }
        }) {
            error(sequence[position], "changed_fields reads the Debezium envelope: it must come first in transforms")
            valid = false
        }
        return valid ? transforms : nil
    }

    /// An optional bool option's value; nil when absent, or when it is no bool (then `valid` is cleared).
    mutating func optionalBool(
        _ section: [String: (key: Node, value: Node)], _ key: String, path: String, _ valid: inout Bool
    ) -> Bool? {
        guard let entry = section[key] else { return nil }
        guard let value = bool(entry.value, "\(path).\(key)") else {
            valid = false
            return nil
        }
        return value
    }

    mutating func requiredString(
        _ section: [String: (key: Node, value: Node)], _ key: String, path: String, item: Node
    ) -> String? {
        guard let entry = section[key] else {
            error(item, "\(path) needs \(key)")
            return nil
        }
        return string(entry.value, "\(path).\(key)")
    }

    mutating func requiredRegex(
        _ section: [String: (key: Node, value: Node)], _ key: String, path: String, item: Node
    ) -> String? {
        guard let text = requiredString(section, key, path: path, item: item) else { return nil }
        do {
            _ = try Regex(text)
        } catch {
            self.error(section[key]?.value, "\(path).\(key): '\(text)' is not a regular expression (\(error))")
            return nil
        }
        return text
    }

    /// Whether the replacement is one a Java `Matcher` takes (`$1`, `${name}`, `\$`).
    mutating func checkReplacement(_ regex: String, _ replacement: String, _ node: Node?, path: String) -> Bool {
        do {
            _ = try TopicRule(pattern: regex, replacement: replacement)
            return true
        } catch {
            self.error(node, "\(path): \(error)")
            return false
        }
    }

    mutating func outboxOptions(_ section: [String: (key: Node, value: Node)], path: String) -> OutboxRouter.Options? {
        var options = OutboxRouter.Options()
        var valid = true
        for (key, target) in [
            ("table_field_event_id", \OutboxRouter.Options.eventID), ("table_field_event_key", \OutboxRouter.Options.eventKey),
            ("table_field_event_payload", \OutboxRouter.Options.payload), ("route_by_field", \OutboxRouter.Options.routeByField),
            ("route_topic_regex", \OutboxRouter.Options.topicRegex),
            ("route_topic_replacement", \OutboxRouter.Options.topicReplacement),
            ("table_field_event_schema_version", \OutboxRouter.Options.schemaVersionColumn),
            ("tracing_span_context_field", \OutboxRouter.Options.tracingSpanContextColumn),
            ("table_field_event_timestamp", \OutboxRouter.Options.eventTimestampColumn),
        ] {
            guard let entry = section[key] else { continue }
            if let text = string(entry.value, "\(path).\(key)"), !text.isEmpty {
                options[keyPath: target] = text
            } else {
                error(entry.value, "\(path).\(key) is empty; give a column name")
                valid = false
            }
        }
        // Debezium 3.6's router reads no event type column itself; place it with table_fields_additional_placement.
        if let entry = section["table_field_event_type"] { _ = string(entry.value, "\(path).table_field_event_type") }
        if let value = optionalBool(section, "route_tombstone_on_empty_payload", path: path, &valid) {
            options.tombstoneOnEmptyPayload = value
        }
        if let value = choice(section, "table_op_invalid_behavior", OutboxRouter.InvalidOperation.self, &valid, in: path) {
            options.invalidOperation = value
        }
        if let value = optionalBool(section, "table_expand_json_payload", path: path, &valid) {
            options.expandJSONPayload = value
        }
        if let value = choice(section, "table_json_payload_null_behavior", OutboxRouter.JSONNullBehavior.self, &valid, in: path) {
            options.jsonNullsAsBytes = value == .optionalBytes
        }
        if let entry = section["table_fields_additional_placement"],
            let items = stringList(entry.value, "\(path).table_fields_additional_placement")
        {
            for (text, node) in items {
                guard let field = OutboxRouter.AdditionalField(parsing: text) else {
                    error(
                        node,
                        "\(path).table_fields_additional_placement: '\(text)' is not column:header, column:envelope or "
                            + "column:partition (with an optional :alias)")
                    valid = false
                    continue
                }
                options.additionalFields.append(field)
            }
        }
        if !checkReplacement(options.topicRegex, options.topicReplacement, section["route_topic_replacement"]?.value, path: path)
        {
            valid = false
        }
        return valid ? options : nil
    }

    mutating func headerFromOptions(
        _ section: [String: (key: Node, value: Node)], path: String, item: Node
    ) -> HeaderFrom.Options? {
        var valid = true
        var lists: [[String]] = []
        for key in ["fields", "headers"] {
            guard let entry = section[key] else {
                error(item, "\(path) needs \(key)")
                valid = false
                continue
            }
            guard let items = stringList(entry.value, "\(path).\(key)") else {
                valid = false
                continue
            }
            if items.isEmpty || items.contains(where: { $0.0.isEmpty }) {
                error(entry.value, "\(path).\(key) must name at least one, and no empty name")
                valid = false
            }
            lists.append(items.map(\.0))
        }
        guard valid, lists.count == 2 else { return nil }
        if lists[0].count != lists[1].count {
            error(
                section["headers"]?.value,
                "\(path).headers names \(lists[1].count) headers for \(lists[0].count) fields; give one header per field")
            return nil
        }
        guard let operation = choice(section, "operation", HeaderFrom.Operation.self, &valid, in: path) else {
            if valid { error(item, "\(path) needs operation (copy or move)") }
            return nil
        }
        // Kafka's HeaderFrom reads a null field's default unless told not to; the value Tributary reads has the default
        // written in already, so only the default (true) can be honoured.
        if let entry = section["replace_null_with_default"], let value = bool(entry.value, "\(path).replace_null_with_default"),
            !value
        {
            error(
                entry.value,
                "\(path).replace_null_with_default: false is not supported; a null column with a default "
                    + "gives its default, as with true")
            return nil
        }
        var fromKey = false
        if let entry = section["from"], let text = string(entry.value, "\(path).from") {
            guard text == "value" || text == "key" else {
                error(entry.value, "\(path).from must be value or key, not '\(text)'")
                return nil
            }
            fromKey = text == "key"
        }
        return HeaderFrom.Options(fields: lists[0], headers: lists[1], operation: operation, fromKey: fromKey)
    }

    mutating func unwrapOptions(_ section: [String: (key: Node, value: Node)], path: String) -> Unwrap.Options? {
        var options = Unwrap.Options()
        var valid = true
        for (key, target) in [("add_fields", \Unwrap.Options.addFields), ("add_headers", \Unwrap.Options.addHeaders)] {
            guard let entry = section[key] else { continue }
            guard let items = stringList(entry.value, "\(path).\(key)") else {
                valid = false
                continue
            }
            for (text, node) in items where !Unwrap.isFieldName(text) {
                error(node, "\(path).\(key): '\(text)' is not a field such as op, ts_ms, lsn, source.ts_ms or op:operation")
                valid = false
            }
            options[keyPath: target] = items.map(\.0)
        }
        if let entry = section["add_fields_prefix"], let text = string(entry.value, "\(path).add_fields_prefix") {
            options.addFieldsPrefix = text
        }
        if let entry = section["add_headers_prefix"], let text = string(entry.value, "\(path).add_headers_prefix") {
            options.addHeadersPrefix = text
        }
        if let value = choice(section, "delete_tombstone_handling_mode", Unwrap.DeleteHandling.self, &valid, in: path) {
            options.deleteHandling = value
        }
        if let entry = section["route_by_field"], let text = string(entry.value, "\(path).route_by_field") {
            options.routeByField = text.isEmpty ? nil : text
        }
        if let entry = section["drop_fields_header_name"], let text = string(entry.value, "\(path).drop_fields_header_name") {
            options.dropFieldsHeader = text.isEmpty ? nil : text
        }
        for (key, target) in [
            ("drop_fields_from_key", \Unwrap.Options.dropFieldsFromKey),
            ("drop_fields_keep_schema_compatible", \Unwrap.Options.dropFieldsKeepSchemaCompatible),
        ] {
            if let value = optionalBool(section, key, path: path, &valid) { options[keyPath: target] = value }
        }
        // Debezium's unwrap passes replace.null.with.default to the Struct it builds, but JsonConverter then writes a
        // column's default for a null either way (its own replace.null.with.default, which import-debezium requires
        // on): the records are the same with true or false, so both are taken.
        if let entry = section["replace_null_with_default"] {
            _ = bool(entry.value, "\(path).replace_null_with_default")
        }
        return valid ? options : nil
    }
}
