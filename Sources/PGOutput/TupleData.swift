/// The column values of one row, as pgoutput sends them.
///
/// Values are not copied out of the received frame: each column records where its bytes
/// lie in `storage`, which is the frame itself.
///
/// See [TupleData](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct TupleData: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        /// SQL NULL.
        case null = 0x6E  // n
        /// An unchanged TOASTed value; the server did not send it.
        case unchanged = 0x75  // u
        /// The value in PostgreSQL's text format.
        case text = 0x74  // t
        /// The value in binary format.
        case binary = 0x62  // b
    }

    public struct Column: Sendable, Equatable {
        public var kind: Kind
        /// Range of the value in `storage`; empty for `null` and `unchanged`.
        public var range: Range<Int>

        public init(kind: Kind, range: Range<Int>) {
            self.kind = kind
            self.range = range
        }
    }

    public let storage: [UInt8]
    public let columns: [Column]

    public init(storage: [UInt8], columns: [Column]) {
        self.storage = storage
        self.columns = columns
    }

    /// Builds a tuple from text values (nil = NULL); for tests and snapshots.
    public init(text values: [String?]) {
        var storage: [UInt8] = []
        var columns: [Column] = []
        for value in values {
            if let value {
                let start = storage.count
                storage.append(contentsOf: value.utf8)
                columns.append(Column(kind: .text, range: start..<storage.count))
            } else {
                columns.append(Column(kind: .null, range: 0..<0))
            }
        }
        self.storage = storage
        self.columns = columns
    }

    public var count: Int { columns.count }

    /// Calls `body` with the bytes of column `index`.
    @inlinable
    public func withValue<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let range = columns[index].range
        return try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// The text value of column `index`, or nil when it is not a text value.
    public func text(_ index: Int) -> String? {
        guard columns[index].kind == .text else { return nil }
        return String(decoding: storage[columns[index].range], as: UTF8.self)
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        let count = Int(try reader.readUInt16("TupleData columnCount"))
        var columns: [Column] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let kindOffset = reader.offset
            let byte = try reader.readUInt8("TupleData column kind")
            guard let kind = Kind(rawValue: byte) else { throw .unknownColumnKind(byte, offset: kindOffset) }
            switch kind {
            case .null, .unchanged:
                columns.append(Column(kind: kind, range: reader.index..<reader.index))
            case .text, .binary:
                let length = Int(try reader.readInt32("TupleData column length"))
                columns.append(Column(kind: kind, range: try reader.readRange(length, "TupleData column value")))
            }
        }
        self.storage = reader.bytes
        self.columns = columns
    }

    public static func == (lhs: TupleData, rhs: TupleData) -> Bool {
        guard lhs.columns.count == rhs.columns.count else { return false }
        for (l, r) in zip(lhs.columns, rhs.columns) {
            guard l.kind == r.kind, lhs.storage[l.range].elementsEqual(rhs.storage[r.range]) else { return false }
        }
        return true
    }
}
