public import PGOutput

/// Everything needed to write events for one relation, computed once per Relation message.
///
/// A class: the event writer looks it up for every change, and a reference costs one retain where a struct
/// of arrays costs one per array.
public final class TableSchema: Sendable {
    public let relation: Relation
    /// `schema.table` as PostgreSQL names it (the topic may have replaced characters a topic cannot hold).
    public let name: TableName
    public let topic: String
    /// `schema.table`, unquoted: error messages and Debezium's transaction metadata (`data_collection`) name it so.
    let qualifiedName: String
    let encodings: [ColumnEncoding]
    /// How each column's value reads when it comes in binary (pgoutput's `binary` option); nil for a type whose send
    /// format the connector does not know.
    let binaryFormats: [BinaryFormat?]
    let notNull: [Bool]
    /// The JSON literal a null is written as, for columns whose default Debezium puts in the schema: JsonConverter's
    /// `replace.null.with.default` (on by default) writes that default in place of a null, with schemas or without.
    let nullDefaults: [[UInt8]?]
    /// Indexes of the columns events carry: all but those of types Debezium leaves out.
    let includedColumns: [Int]
    /// Indexes of the primary-key columns, in key order; empty when the table has none.
    let keyIndexes: [Int]
    /// `"name":` for each column, escaped.
    let fieldPrefixes: [[UInt8]]
    /// The row's columns as `writeRow` goes through them: each included column's index and where its prefix
    /// (`"name":`, with the comma before it from the second on) lies in `rowPrefixBytes`. Flat, so that writing a row
    /// retains nothing per column.
    let rowSteps: [RowStep]
    let rowPrefixBytes: [UInt8]

    struct RowStep {
        let index: Int
        let prefix: Range<Int>
    }
    /// `,"schema":"public","table":"customers","txId":`
    let sourceTableFragment: [UInt8]
    /// Where the `table` value starts in `sourceTableFragment` (`schema`'s is after `,"schema":`, `txId`'s at its end).
    let sourceTableValueOffset: Int32
    /// `{"schema":…,"payload":` when schemas are on, else empty.
    let keySchemaPrefix: [UInt8]
    let valueSchemaPrefix: [UInt8]
    /// The Connect schemas of the row's fields, as JsonConverter writes them (empty when schemas are off).
    let valueFieldSchemas: [String]
    /// How the builder writes the table's keys and values in Avro (`settings.avro`), when it does.
    let avro: AvroTablePlan?

    public var hasPrimaryKey: Bool { !keyIndexes.isEmpty }

    /// A valid Kafka topic (and Connect schema) name, as Debezium makes one: every UTF-16 code unit outside
    /// `A-Z a-z 0-9 . _ -` becomes `_` (`"Sales Dept"."Ünï"` → `Sales_Dept._n_`).
    public static func topicName(_ name: String) -> String {
        let valid = name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F
                || $0 == 0x2D
        }
        if valid { return name }
        var result = ""
        result.reserveCapacity(name.utf8.count)
        for unit in name.utf16 {
            let isValid =
                (unit >= 0x30 && unit <= 0x39) || (unit >= 0x41 && unit <= 0x5A) || (unit >= 0x61 && unit <= 0x7A) || unit == 0x2E
                || unit == 0x5F || unit == 0x2D
            result.append(isValid ? Character(UnicodeScalar(UInt8(unit))) : "_")
        }
        return result
    }

    public init(relation: Relation, metadata: TableMetadata, settings: EventSettings) throws(EventEncodingError) {
        self.relation = relation
        self.name = TableName(schema: relation.namespace, name: relation.name)
        qualifiedName = "\(relation.namespace).\(relation.name)"
        topic = Self.topicName("\(settings.topicPrefix).\(relation.namespace).\(relation.name)")
        let encodings = relation.columns.map {
            metadata.excludedColumns.contains($0.name)
                ? .omitted
                : ColumnEncoding(
                    typeOID: $0.typeOID, typeModifier: $0.typeModifier, facts: metadata.types[$0.name],
                    handling: settings.values)
        }
        includedColumns = encodings.indices.filter { encodings[$0] != .omitted }
        binaryFormats = relation.columns.map { BinaryFormat(typeOID: $0.typeOID, facts: metadata.types[$0.name]) }
        let notNull = relation.columns.map { metadata.notNull.contains($0.name) }
        self.encodings = encodings
        self.notNull = notNull
        // Each column's default as the schema carries it, worked out once for the schemas and the nulls.
        let defaults: [String?] = relation.columns.indices.map { index in
            guard let facts = metadata.types[relation.columns[index].name], let expression = facts.defaultExpression
            else { return nil }
            return ConnectSchema.defaultValue(expression, encodings[index], typeName: facts.name)
        }
        let nullDefaults: [[UInt8]?] = defaults.map { literal in
            settings.replaceNullWithDefault ? literal.map { Array($0.utf8) } : nil
        }
        self.nullDefaults = nullDefaults
        var keyIndexes: [Int] = []
        for column in metadata.primaryKey {
            guard let index = relation.columns.firstIndex(where: { $0.name == column }) else {
                // The primary key names a column the publication does not send (a column list): no usable key.
                keyIndexes = []
                break
            }
            keyIndexes.append(index)
        }
        self.keyIndexes = keyIndexes
        let columns = relation.columns
        fieldPrefixes = relation.columns.map { column in
            var buffer = JSONBuffer(capacity: column.name.utf8.count + 3)
            buffer.appendString(column.name)
            buffer.append(UInt8(ascii: ":"))
            return buffer.bytes
        }
        var prefixBytes: [UInt8] = []
        var steps: [RowStep] = []
        for (position, index) in includedColumns.enumerated() {
            let start = prefixBytes.count
            if position > 0 { prefixBytes.append(UInt8(ascii: ",")) }
            prefixBytes.append(contentsOf: fieldPrefixes[index])
            steps.append(RowStep(index: index, prefix: start..<prefixBytes.count))
        }
        rowSteps = steps
        rowPrefixBytes = prefixBytes
        var fragment = JSONBuffer()
        fragment.appendRaw(",\"schema\":")
        fragment.appendString(relation.namespace)
        fragment.appendRaw(",\"table\":")
        sourceTableValueOffset = Int32(fragment.count)
        fragment.appendString(relation.name)
        fragment.appendRaw(",\"txId\":")
        sourceTableFragment = fragment.bytes

        if settings.schemas {
            let fields = includedColumns.map {
                ConnectSchema.field(
                    encodings[$0], optional: !notNull[$0], name: columns[$0].name, defaultValue: defaults[$0])
            }
            // A primary key's columns are NOT NULL; message.key.columns may pick nullable ones, optional as in Debezium.
            let keyFields = keyIndexes.map {
                ConnectSchema.field(
                    encodings[$0], optional: !notNull[$0], name: columns[$0].name, defaultValue: defaults[$0])
            }
            let keySchema =
                "{\"type\":\"struct\",\"fields\":[\(keyFields.joined(separator: ","))],\"optional\":false,\"name\":\(ConnectSchema.quote(topic + ".Key"))}"
            let row =
                "{\"type\":\"struct\",\"fields\":[\(fields.joined(separator: ","))],\"optional\":true,\"name\":\(ConnectSchema.quote(topic + ".Value"))"
            let envelope =
                "{\"type\":\"struct\",\"fields\":[\(row),\"field\":\"before\"},\(row),\"field\":\"after\"},"
                + "\(ConnectSchema.source),\(ConnectSchema.transaction),{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
                + "\(ConnectSchema.timestamps)],\"optional\":false,\"name\":\(ConnectSchema.quote(topic + ".Envelope")),\"version\":2}"
            keySchemaPrefix = keyIndexes.isEmpty ? [] : ConnectSchema.envelopePrefix(keySchema)
            valueSchemaPrefix = ConnectSchema.envelopePrefix(envelope)
            valueFieldSchemas = fields
        } else {
            keySchemaPrefix = []
            valueSchemaPrefix = []
            valueFieldSchemas = []
        }
        if settings.avro != nil && settings.schemas {
            avro = AvroTablePlan(
                AvroTablePlan.Parts(
                    topic: topic, relation: relation, encodings: encodings, includedColumns: includedColumns,
                    keyIndexes: keyIndexes, keySchemaPrefix: keySchemaPrefix, valueSchemaPrefix: valueSchemaPrefix,
                    nullJSON: { index in
                        var json = JSONBuffer(capacity: 64)
                        ChangeEventBuilder.writeNull(
                            encodings[index], default: nullDefaults[index], notNull: notNull[index], into: &json)
                        return json.bytes
                    },
                    unchangedJSON: { index in
                        var json = JSONBuffer(capacity: 64)
                        ChangeEventBuilder.writeUnchanged(encodings[index], settings.values, into: &json)
                        return json.bytes
                    }))
        } else {
            avro = nil
        }
    }

}
