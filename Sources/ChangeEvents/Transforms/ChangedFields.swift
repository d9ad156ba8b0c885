/// Debezium's `io.debezium.transforms.ExtractChangedRecordState`: headers listing the columns an update changed and
/// the ones it left alone, comparing the envelope's `before` and `after` rows. Often paired with unwrap's
/// `drop_fields_header_name` to leave unchanged columns out of the flattened row.
///
/// Both lists are empty when either row is missing (an insert, a delete, a snapshot read, or an update of a table
/// whose replica identity does not send the old row), and the headers are added all the same, as Debezium adds them.
public struct ChangedFields: Sendable {
    public struct Options: Sendable, Equatable {
        /// `header.changed.name` and `header.unchanged.name`; nil writes no such header.
        public var changedHeader: String?
        public var unchangedHeader: String?

        public init(changedHeader: String? = nil, unchangedHeader: String? = nil) {
            self.changedHeader = changedHeader
            self.unchangedHeader = unchangedHeader
        }
    }

    public let options: Options

    public init(_ options: Options) {
        self.options = options
    }

    /// Adds the headers to a data event; other events pass as they are.
    public func apply(_ event: inout ChangeEvent) {
        guard let value = event.value, let layout = event.envelope else { return }
        var changed: [String] = []
        var unchanged: [String] = []
        let scanner = JSONScanner(value)
        let isNull: (Range<Int>) -> Bool = { $0.count == 4 && value[$0.lowerBound] == UInt8(ascii: "n") }
        if !isNull(layout.before) && !isNull(layout.after) {
            let before = scanner.members(ofObjectAt: layout.before.lowerBound)
            for member in scanner.members(ofObjectAt: layout.after.lowerBound) {
                guard let name = scanner.string(at: member.name) else { continue }
                let old = before.first { value[$0.name].elementsEqual(value[member.name]) }?.value
                // The same JSON is the same value: Debezium compares the values themselves (bytes by content).
                if let old, value[old].elementsEqual(value[member.value]) {
                    unchanged.append(name)
                } else {
                    changed.append(name)
                }
            }
        }
        if let header = options.changedHeader, !header.allSatisfy(\.isWhitespace) {
            event.headers.append(ChangeEvent.Header(name: header, value: Self.list(changed)))
        }
        if let header = options.unchangedHeader, !header.allSatisfy(\.isWhitespace) {
            event.headers.append(ChangeEvent.Header(name: header, value: Self.list(unchanged)))
        }
    }

    /// A list of strings as SimpleHeaderConverter writes it: `["a","b"]`.
    static func list(_ names: [String]) -> [UInt8] {
        var out = JSONBuffer(capacity: 64)
        out.append(UInt8(ascii: "["))
        for (index, name) in names.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.appendString(name)
        }
        out.append(UInt8(ascii: "]"))
        return out.bytes
    }

    /// The names a header written by `list` (or by Kafka for a list of strings) holds; nil for anything else.
    static func names(in header: [UInt8]) -> [String]? {
        let scanner = JSONScanner(header)
        guard header.first == UInt8(ascii: "[") else { return nil }
        var names: [String] = []
        var index = 1
        while index < header.count - 1 {
            let end = scanner.end(ofValueAt: index)
            guard let name = scanner.string(at: index..<end) else { return nil }
            names.append(name)
            index = end + 1
        }
        return names
    }
}
