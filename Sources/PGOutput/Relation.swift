/// The shape of a table, sent before the first change to it in a session and after every change of shape.
///
/// See [Relation](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct Relation: Sendable, Equatable {
    /// `REPLICA IDENTITY` setting of the table.
    public enum ReplicaIdentity: UInt8, Sendable {
        case `default` = 0x64  // d
        case nothing = 0x6E  // n
        case full = 0x66  // f
        case index = 0x69  // i
    }

    public struct Column: Sendable, Equatable {
        /// Whether the column is part of the replica identity key.
        public var isKey: Bool
        public var name: String
        public var typeOID: UInt32
        /// `atttypmod`: precision/scale for numeric, length for varchar, -1 when unset.
        public var typeModifier: Int32

        public init(isKey: Bool, name: String, typeOID: UInt32, typeModifier: Int32) {
            self.isKey = isKey
            self.name = name
            self.typeOID = typeOID
            self.typeModifier = typeModifier
        }
    }

    public var oid: UInt32
    public var namespace: String
    public var name: String
    public var replicaIdentity: ReplicaIdentity
    public var columns: [Column]

    public init(oid: UInt32, namespace: String, name: String, replicaIdentity: ReplicaIdentity, columns: [Column]) {
        self.oid = oid
        self.namespace = namespace
        self.name = name
        self.replicaIdentity = replicaIdentity
        self.columns = columns
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        oid = try reader.readUInt32("Relation oid")
        namespace = try reader.readCString("Relation namespace")
        name = try reader.readCString("Relation name")
        let identityOffset = reader.offset
        let identity = try reader.readUInt8("Relation replicaIdentity")
        guard let replicaIdentity = ReplicaIdentity(rawValue: identity) else {
            throw .invalidLength(field: "Relation replicaIdentity", value: Int(identity), offset: identityOffset)
        }
        self.replicaIdentity = replicaIdentity
        let count = Int(try reader.readUInt16("Relation columnCount"))
        var columns: [Column] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let flags = try reader.readUInt8("Relation column flags")
            let name = try reader.readCString("Relation column name")
            let type = try reader.readUInt32("Relation column typeOID")
            let modifier = try reader.readInt32("Relation column typeModifier")
            columns.append(Column(isKey: flags & 1 == 1, name: name, typeOID: type, typeModifier: modifier))
        }
        self.columns = columns
    }
}
