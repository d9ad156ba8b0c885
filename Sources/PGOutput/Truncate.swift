/// One or more tables truncated.
///
/// See [Truncate](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct Truncate: Sendable, Equatable {
    public var cascade: Bool
    public var restartIdentity: Bool
    public var relationOIDs: [UInt32]

    public init(cascade: Bool, restartIdentity: Bool, relationOIDs: [UInt32]) {
        self.cascade = cascade
        self.restartIdentity = restartIdentity
        self.relationOIDs = relationOIDs
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        let countOffset = reader.offset
        let count = Int(try reader.readInt32("Truncate relationCount"))
        // Each OID takes four bytes: a count the rest of the message cannot hold is malformed.
        guard count >= 0, count <= reader.remaining / 4 + 1 else {
            throw .invalidLength(field: "Truncate relationCount", value: count, offset: countOffset)
        }
        let options = try reader.readUInt8("Truncate options")
        cascade = options & 1 != 0
        restartIdentity = options & 2 != 0
        var oids: [UInt32] = []
        oids.reserveCapacity(count)
        for _ in 0..<count { oids.append(try reader.readUInt32("Truncate relationOID")) }
        relationOIDs = oids
    }
}
