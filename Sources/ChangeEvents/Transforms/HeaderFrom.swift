/// Kafka's `org.apache.kafka.connect.transforms.HeaderFrom$Value`: fields of the record's value copied, or moved,
/// into headers, each header's value written as Kafka Connect's SimpleHeaderConverter writes the field's value.
///
/// Works on whatever the value is at its place in the list: a flattened row after `unwrap`, or the envelope itself.
public struct HeaderFrom: Sendable {
    public enum Operation: String, Sendable, CaseIterable {
        case copy, move
    }

    public struct Options: Sendable, Equatable {
        /// `fields` and `headers`: pairs, in order.
        public var fields: [String]
        public var headers: [String]
        public var operation: Operation
        /// The key's fields (`HeaderFrom$Key`) rather than the value's (`HeaderFrom$Value`).
        public var fromKey: Bool

        public init(fields: [String], headers: [String], operation: Operation, fromKey: Bool = false) {
            self.fields = fields
            self.headers = headers
            self.operation = operation
            self.fromKey = fromKey
        }
    }

    public let options: Options
    private let schemas: Bool
    private let quotedFields: [[UInt8]]

    public init(_ options: Options, schemas: Bool) throws(TransformError) {
        guard !options.fields.isEmpty, options.fields.count == options.headers.count else {
            throw TransformError("header_from: fields and headers must name as many entries each, at least one")
        }
        self.options = options
        self.schemas = schemas
        quotedFields = options.fields.map { Array("\"".utf8) + Unwrap.escaped($0) + Array("\"".utf8) }
    }

    /// Adds the headers to `event` (and removes the fields from its value when moving).
    ///
    /// Kafka's HeaderFrom fails on a record without a struct value; Debezium users keep tombstones, deletes unwrap
    /// made null and logical messages away from it with predicates. Tributary passes those on unchanged, as such a
    /// predicate would; a table's row without one of the fields is refused, as Kafka refuses it.
    public func apply(_ event: inout ChangeEvent) throws(TransformError) {
        guard let value = options.fromKey ? event.key : event.value, event.table != nil else { return }
        let scanner = JSONScanner(value)
        var payloadStart = 0
        if schemas {
            guard let payload = scanner.member("payload", ofObjectAt: 0) else { return }
            payloadStart = payload.lowerBound
        }
        guard value[payloadStart] == UInt8(ascii: "{") else { return }
        let members = scanner.members(ofObjectAt: payloadStart)
        var added: [ChangeEvent.Header] = []
        for index in quotedFields.indices {
            guard let position = members.firstIndex(where: { value[$0.name].elementsEqual(quotedFields[index]) }) else {
                throw TransformError(
                    "header_from: \(event.table.map { "the record of \($0)" } ?? "the record") has no field "
                        + "\(options.fields[index]) (on topic \(event.topic))")
            }
            let json = value[members[position].value]
            let encoding = try self.encoding(of: options.fields[index], event)
            added.append(ChangeEvent.Header(name: options.headers[index], value: try Self.headerText(json, encoding, scanner)))
        }
        event.headers += added
        guard options.operation == .move else { return }
        if options.fromKey {
            event.key = Self.removing(Set(options.fields), from: value, schemas: schemas)
        } else {
            event.value = Self.removing(Set(options.fields), from: value, schemas: schemas)
            event.envelope = nil
        }
    }

    /// A struct value (with its schema when `schemas`) without the named fields, its schema rebuilt as Kafka's
    /// `SchemaUtil.copySchemaBasics` rebuilds it (not optional). Kafka's HeaderFrom `move` and ReplaceField (which
    /// unwrap's `drop.fields.header.name` uses) both make it so.
    static func removing(_ names: Set<String>, from value: [UInt8], schemas: Bool) -> [UInt8] {
        let scanner = JSONScanner(value)
        var payloadStart = 0
        var schemaRange: Range<Int>?
        if schemas {
            guard let schema = scanner.member("schema", ofObjectAt: 0), let payload = scanner.member("payload", ofObjectAt: 0)
            else { return value }
            schemaRange = schema
            payloadStart = payload.lowerBound
        }
        guard value[payloadStart] == UInt8(ascii: "{") else { return value }
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        if let schemaRange {
            out += Array("{\"schema\":".utf8)
            out += Self.schema(value, schemaRange, without: names, scanner)
            out += Array(",\"payload\":".utf8)
        }
        out.append(UInt8(ascii: "{"))
        var first = true
        for member in scanner.members(ofObjectAt: payloadStart) {
            if let name = scanner.string(at: member.name), names.contains(name) { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out += value[member.name.lowerBound..<member.value.upperBound]
        }
        out.append(UInt8(ascii: "}"))
        if schemaRange != nil { out.append(UInt8(ascii: "}")) }
        return out
    }

    /// The Connect type of a top-level field, where its header text depends on it (decimals, Connect's dates).
    private func encoding(of field: String, _ event: ChangeEvent) throws(TransformError) -> ColumnEncoding? {
        let table: TableSchema
        var nested = false
        if options.fromKey {
            // A key's fields are the table's key columns.
            guard let schema = event.envelope?.table ?? event.rowTable else { return nil }
            table = schema
        } else if let layout = event.envelope {
            guard field == "before" || field == "after" else { return nil }
            table = layout.table
            nested = true
        } else if let row = event.rowTable {
            table = row
        } else {
            return nil
        }
        if nested {
            // A row moved whole: SimpleHeaderConverter writes its decimals as numbers and its Connect dates as text.
            for index in table.includedColumns where Self.needsSchema(table.encodings[index]) {
                throw TransformError(
                    "header_from: the \(field) row of \(table.qualifiedName) holds \(table.relation.columns[index].name), "
                        + "whose header text Tributary does not write as Kafka does; copy its columns after unwrap instead")
            }
            return nil
        }
        guard let index = table.relation.columns.firstIndex(where: { $0.name == field }) else { return nil }
        let encoding = table.encodings[index]
        if case .array(let element, _) = encoding, Self.needsSchema(element) {
            throw TransformError(
                "header_from: column \(field) of \(table.qualifiedName) is an array of \(element), whose header text "
                    + "Tributary does not write as Kafka does")
        }
        return encoding
    }

    private static func needsSchema(_ encoding: ColumnEncoding) -> Bool {
        switch encoding {
        case .decimal, .money, .connectDate, .connectTime, .connectTimestamp: true
        case .array(let element, _): needsSchema(element)
        default: false
        }
    }

    /// A field's JSON as SimpleHeaderConverter writes its value: a string bare, null as a null header, a decimal as
    /// Java's `BigDecimal.toString`, Connect's dates and times in ISO text, anything else as its JSON.
    static func headerText(
        _ json: ArraySlice<UInt8>, _ encoding: ColumnEncoding?, _ scanner: JSONScanner
    ) throws(TransformError) -> [UInt8]? {
        if json.elementsEqual("null".utf8) { return nil }
        switch encoding {
        case .decimal(_, let scale)?:
            return decimalText(json, scale: scale, scanner)
        case .money?:
            return decimalText(json, scale: 2, scanner)
        case .connectDate?:
            guard let days = integer(json) else { break }
            var out = JSONBuffer(capacity: 16)
            DateTimeText.appendISO8601UTC(micros: days * 86_400_000_000, fractionDigits: 0, into: &out)
            return Array(out.bytes.prefix(while: { $0 != UInt8(ascii: "T") }))
        case .connectTime?, .connectTimestamp?:
            guard let milliseconds = integer(json) else { break }
            var out = JSONBuffer(capacity: 32)
            DateTimeText.appendISO8601UTC(micros: milliseconds * 1000, fractionDigits: 3, into: &out)
            let text = out.bytes
            if case .connectTime? = encoding, let t = text.firstIndex(of: UInt8(ascii: "T")) {
                return Array(text[(t + 1)...])
            }
            return text
        default:
            break
        }
        if json.first == UInt8(ascii: "\""), let text = scanner.string(at: json.startIndex..<json.endIndex) {
            return Array(text.utf8)
        }
        return Array(json)
    }

    private static func integer(_ json: ArraySlice<UInt8>) -> Int64? {
        Int64(String(decoding: json, as: UTF8.self))
    }

    /// `BigDecimal.toString` of a Connect decimal written as base64 unscaled bytes.
    static func decimalText(_ json: ArraySlice<UInt8>, scale: Int, _ scanner: JSONScanner) -> [UInt8]? {
        guard let base64 = scanner.string(at: json.startIndex..<json.endIndex),
            let bytes = Base64.decode(base64)
        else { return Array(json) }
        let negative = (bytes.first ?? 0) & 0x80 != 0
        // Two's complement to magnitude.
        var magnitude = bytes
        if negative {
            for index in magnitude.indices { magnitude[index] = ~magnitude[index] }
            var index = magnitude.count - 1
            while index >= 0 {
                let (sum, overflow) = magnitude[index].addingReportingOverflow(1)
                magnitude[index] = sum
                if !overflow { break }
                index -= 1
            }
        }
        // Base 256 to base 10 by repeated division.
        var digits: [UInt8] = []
        var number = magnitude.drop { $0 == 0 }.map { $0 }
        while !number.isEmpty {
            var remainder = 0
            var quotient: [UInt8] = []
            quotient.reserveCapacity(number.count)
            for byte in number {
                let current = remainder * 256 + Int(byte)
                let q = current / 10
                remainder = current % 10
                if !(quotient.isEmpty && q == 0) { quotient.append(UInt8(q)) }
            }
            digits.append(UInt8(ascii: "0") + UInt8(remainder))
            number = quotient
        }
        if digits.isEmpty { digits = [UInt8(ascii: "0")] }
        digits.reverse()
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        let adjusted = -scale + (digits.count - 1)
        if scale >= 0 && adjusted >= -6 {
            if scale == 0 {
                out += digits
            } else if digits.count > scale {
                out += digits[..<(digits.count - scale)]
                out.append(UInt8(ascii: "."))
                out += digits[(digits.count - scale)...]
            } else {
                out += Array("0.".utf8) + Array(repeating: UInt8(ascii: "0"), count: scale - digits.count) + digits
            }
        } else {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            out.append(UInt8(ascii: "E"))
            if adjusted >= 0 { out.append(UInt8(ascii: "+")) }
            out += Array(String(adjusted).utf8)
        }
        return out
    }

    /// The value schema with the moved fields left out, rebuilt as Kafka's `SchemaUtil.copySchemaBasics` rebuilds it
    /// (a rebuilt struct is not optional).
    private static func schema(
        _ value: [UInt8], _ range: Range<Int>, without removed: Set<String>, _ scanner: JSONScanner
    ) -> [UInt8] {
        let members = scanner.members(ofObjectAt: range.lowerBound)
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (position, member) in members.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out += value[member.name]
            out.append(UInt8(ascii: ":"))
            let name = value[member.name]
            if name.elementsEqual("\"fields\"".utf8) {
                out.append(UInt8(ascii: "["))
                var first = true
                var index = member.value.lowerBound + 1
                while index < member.value.upperBound - 1 {
                    let end = scanner.end(ofValueAt: index)
                    let field = scanner.member("field", ofObjectAt: index).flatMap { scanner.string(at: $0) }
                    if !(field.map(removed.contains) ?? false) {
                        if !first { out.append(UInt8(ascii: ",")) }
                        first = false
                        out += value[index..<end]
                    }
                    index = end + 1
                }
                out.append(UInt8(ascii: "]"))
            } else if name.elementsEqual("\"optional\"".utf8) {
                out += Array("false".utf8)
            } else {
                out += value[member.value]
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
