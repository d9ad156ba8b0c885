/// A row updated.
///
/// See [Update](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct Update: Sendable, Equatable {
    /// What the server sent of the row before the update.
    public enum OldTuple: Sendable, Equatable {
        /// Only the replica identity key columns (`K`): sent when the key changed.
        case key(TupleData)
        /// The whole old row (`O`): `REPLICA IDENTITY FULL`.
        case full(TupleData)
    }

    public var relationOID: UInt32
    public var old: OldTuple?
    public var new: TupleData

    public init(relationOID: UInt32, old: OldTuple?, new: TupleData) {
        self.relationOID = relationOID
        self.old = old
        self.new = new
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        relationOID = try reader.readUInt32("Update relationOID")
        var markerOffset = reader.offset
        var marker = try reader.readUInt8("Update tuple marker")
        switch marker {
        case UInt8(ascii: "K"):
            old = .key(try TupleData(from: &reader))
            markerOffset = reader.offset
            marker = try reader.readUInt8("Update new tuple marker")
        case UInt8(ascii: "O"):
            old = .full(try TupleData(from: &reader))
            markerOffset = reader.offset
            marker = try reader.readUInt8("Update new tuple marker")
        default:
            old = nil
        }
        guard marker == UInt8(ascii: "N") else { throw .unexpectedTupleMarker(marker, offset: markerOffset) }
        new = try TupleData(from: &reader)
    }
}
