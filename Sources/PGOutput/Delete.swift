/// A row deleted.
///
/// See [Delete](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct Delete: Sendable, Equatable {
    public var relationOID: UInt32
    /// The key columns (`K`) or, with `REPLICA IDENTITY FULL`, the whole row (`O`).
    public var old: Update.OldTuple

    public init(relationOID: UInt32, old: Update.OldTuple) {
        self.relationOID = relationOID
        self.old = old
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        relationOID = try reader.readUInt32("Delete relationOID")
        let markerOffset = reader.offset
        let marker = try reader.readUInt8("Delete tuple marker")
        switch marker {
        case UInt8(ascii: "K"): old = .key(try TupleData(from: &reader))
        case UInt8(ascii: "O"): old = .full(try TupleData(from: &reader))
        default: throw .unexpectedTupleMarker(marker, offset: markerOffset)
        }
    }
}
