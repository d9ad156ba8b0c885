/// A row inserted.
///
/// See [Insert](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct Insert: Sendable, Equatable {
    public var relationOID: UInt32
    public var new: TupleData

    public init(relationOID: UInt32, new: TupleData) {
        self.relationOID = relationOID
        self.new = new
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        relationOID = try reader.readUInt32("Insert relationOID")
        let markerOffset = reader.offset
        let marker = try reader.readUInt8("Insert tuple marker")
        guard marker == UInt8(ascii: "N") else { throw .unexpectedTupleMarker(marker, offset: markerOffset) }
        new = try TupleData(from: &reader)
    }
}
