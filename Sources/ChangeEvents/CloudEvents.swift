/// Debezium's `io.debezium.converters.CloudEventsConverter` with JSON serialization (structured mode): each data
/// event's value becomes a CloudEvent whose attributes come from the envelope's `source` and `op`, and whose `data`
/// holds `before` and `after` (with their schemas, as `json.schemas.enable` says).
///
/// Reads the envelope through its `EnvelopeLayout`. A value that is not an envelope (a logical message, a row an
/// unwrap transform made) becomes null, as Debezium's converter writes no CloudEvent for it; tombstones stay.
public struct CloudEvents: Sendable {
    public struct Options: Sendable, Equatable {
        /// `extension.attributes.enable`: `iodebeziumop`, each `source` field and the transaction block as
        /// `iodebezium…` attributes.
        public var extensionAttributes = true
        /// `opentelemetry.tracing.attributes.enable`: a `traceparent` attribute, the event's `traceparent` header.
        /// As in Debezium, the attribute is required: an event without the header cannot be written.
        public var tracingAttributes = false

        public init(extensionAttributes: Bool = true, tracingAttributes: Bool = false) {
            self.extensionAttributes = extensionAttributes
            self.tracingAttributes = tracingAttributes
        }
    }

    public let options: Options
    private let schemas: Bool
    /// `{"schema":{…Data…},"payload":{"before":` by topic and table: the data attribute's schema, taken from the
    /// envelope schema's row fields (so a routed topic's renamed schemas come with it).
    private var dataPrefixes: [DataKey: [UInt8]] = [:]

    private struct DataKey: Hashable {
        var topic: String
        var table: ObjectIdentifier
    }

    public init(_ options: Options, schemas: Bool) {
        self.options = options
        self.schemas = schemas
    }

    /// Makes `event`'s value the CloudEvent Debezium's converter writes for it.
    public mutating func apply(_ event: inout ChangeEvent) throws(TransformError) {
        guard let value = event.value else { return }
        guard let layout = event.envelope else {
            event.value = nil
            return
        }
        var traceparent: [UInt8]?
        if options.tracingAttributes {
            guard let header = event.headers.last(where: { $0.name == "traceparent" }) else {
                throw TransformError(
                    "CloudEvents tracing attributes need a traceparent header on every event, and this one has none: set "
                        + "the transaction's trace context with pg_logical_emit_message(true, '<correlation.message_prefix>', "
                        + "'{\"traceparent\": \"…\"}'), or turn events.cloudevents_tracing_attributes off")
            }
            traceparent = header.value
        }
        event.envelope = nil
        event.value = cloudEvent(value, layout, topic: event.topic, traceparent: traceparent)
    }

    private mutating func cloudEvent(
        _ value: [UInt8], _ layout: EnvelopeLayout, topic: String, traceparent: [UInt8]?
    ) -> [UInt8] {
        let scanner = JSONScanner(value)
        let source = scanner.members(ofObjectAt: layout.source.lowerBound)
        func field(_ name: StaticString) -> Range<Int>? {
            let wanted = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
            return source.first { member in
                member.name.count == wanted.count + 2
                    && value[(member.name.lowerBound + 1)..<(member.name.upperBound - 1)]
                        .elementsEqual(wanted)
            }?.value
        }
        var out = JSONBuffer(capacity: value.count + 1024)
        // id: name, lsn, txId and sequence as Java concatenates them (a null is "null"; strings keep their escapes).
        out.appendRaw("{\"id\":\"name:")
        appendInner(field("name"), of: value, into: &out)
        out.appendRaw(";lsn:")
        appendInner(field("lsn"), of: value, into: &out)
        out.appendRaw(";txId:")
        appendInner(field("txId"), of: value, into: &out)
        out.appendRaw(";sequence:")
        appendInner(field("sequence"), of: value, into: &out)
        out.appendRaw("\",\"source\":\"/debezium/postgresql/")
        appendInner(field("name"), of: value, into: &out)
        out.appendRaw(
            "\",\"specversion\":\"1.0\",\"type\":\"io.debezium.connector.postgresql.DataChangeEvent\",\"time\":\"")
        let milliseconds = field("ts_ms").flatMap { Self.integer(value[$0]) } ?? 0
        DateTimeText.appendISO8601UTC(micros: milliseconds * 1000, fractionDigits: 3, into: &out)
        out.appendRaw("\",\"datacontenttype\":\"application/json\"")
        if let traceparent {
            out.appendRaw(",\"traceparent\":")
            out.appendString(traceparent)
        }
        if options.extensionAttributes {
            out.appendRaw(",\"iodebeziumop\":")
            if let op = scanner.flatMember(Self.quotedOp, in: layout.tail) {
                out.append(value, range: op)
            } else {
                out.appendNull()
            }
            for member in source {
                out.append(UInt8(ascii: ","))
                appendAttributeName(value[(member.name.lowerBound + 1)..<(member.name.upperBound - 1)], into: &out)
                appendAttribute(value, member.value, into: &out)
            }
            let transaction = value[layout.transaction]
            let isNull = transaction.elementsEqual("null".utf8)
            for (name, quoted) in Self.transactionFields {
                out.append(name)
                if !isNull, let range = scanner.flatMember(quoted, in: layout.transaction) {
                    appendAttribute(value, range, into: &out)
                } else {
                    out.appendNull()
                }
            }
        }
        out.appendRaw(",\"data\":")
        if schemas {
            out.append(dataPrefix(value, layout, topic: topic))
        } else {
            out.appendRaw("{\"before\":")
        }
        out.append(value, range: layout.before)
        out.appendRaw(",\"after\":")
        out.append(value, range: layout.after)
        out.appendRaw(schemas ? "}}}" : "}}")
        return out.bytes
    }

    private static let quotedOp = Array("\"op\"".utf8)
    private static let transactionFields: [([UInt8], [UInt8])] = [
        (Array(",\"iodebeziumtxid\":".utf8), Array("\"id\"".utf8)),
        (Array(",\"iodebeziumtxtotalorder\":".utf8), Array("\"total_order\"".utf8)),
        (Array(",\"iodebeziumtxdatacollectionorder\":".utf8), Array("\"data_collection_order\"".utf8)),
    ]

    /// A string's characters as written (escapes kept), or a number's or null's text, for the `id` attribute.
    private func appendInner(_ range: Range<Int>?, of value: [UInt8], into out: inout JSONBuffer) {
        guard let range else {
            out.appendRaw("null")
            return
        }
        if value[range.lowerBound] == UInt8(ascii: "\"") {
            out.append(value, range: (range.lowerBound + 1)..<(range.upperBound - 1))
        } else {
            out.append(value, range: range)
        }
    }

    /// `"iodebezium<name>":` with every character but ASCII letters and digits left out, as Debezium names them.
    private func appendAttributeName(_ name: ArraySlice<UInt8>, into out: inout JSONBuffer) {
        out.appendRaw("\"iodebezium")
        for byte in name
        where (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        {
            out.append(byte)
        }
        out.appendRaw("\":")
    }

    /// An extension attribute's value: integers as strings (CloudEvents has no 64-bit integer), the rest as it is.
    private func appendAttribute(_ value: [UInt8], _ range: Range<Int>, into out: inout JSONBuffer) {
        let first = value[range.lowerBound]
        if first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
            out.append(UInt8(ascii: "\""))
            out.append(value, range: range)
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(value, range: range)
        }
    }

    private static func integer(_ text: ArraySlice<UInt8>) -> Int64? {
        var number: Int64 = 0
        var negative = false
        for (offset, byte) in text.enumerated() {
            if offset == 0 && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            number = number &* 10 &+ Int64(byte - 0x30)
        }
        return negative ? -number : number
    }

    /// The data attribute's schema and the start of its payload: a struct named `io.debezium.connector.postgresql.Data`
    /// of the envelope's `before` and `after` fields.
    private mutating func dataPrefix(_ value: [UInt8], _ layout: EnvelopeLayout, topic: String) -> [UInt8] {
        let key = DataKey(topic: topic, table: ObjectIdentifier(layout.table))
        if let cached = dataPrefixes[key] { return cached }
        let scanner = JSONScanner(value)
        var rowFields: ArraySlice<UInt8> = []
        if let schema = scanner.member("schema", ofObjectAt: 0),
            let fields = scanner.member("fields", ofObjectAt: schema.lowerBound)
        {
            let first = fields.lowerBound + 1
            let second = scanner.end(ofValueAt: first) + 1
            rowFields = value[first..<scanner.end(ofValueAt: second)]
        }
        var prefix = Array("{\"schema\":{\"type\":\"struct\",\"fields\":[".utf8)
        prefix += rowFields
        prefix += Array(
            "],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Data\"},\"payload\":{\"before\":".utf8)
        dataPrefixes[key] = prefix
        return prefix
    }
}
