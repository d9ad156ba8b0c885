/// A logical decoding message written with `pg_logical_emit_message`.
///
/// See [Message](https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html).
public struct DecodingMessage: Sendable, Equatable {
    /// Written inside a transaction and sent with it (`true`), or sent at once (`false`).
    public var isTransactional: Bool
    public var lsn: LSN
    public var prefix: String
    public var content: [UInt8]

    public init(isTransactional: Bool, lsn: LSN, prefix: String, content: [UInt8]) {
        self.isTransactional = isTransactional
        self.lsn = lsn
        self.prefix = prefix
        self.content = content
    }

    init(from reader: inout ByteReader) throws(PGOutputError) {
        isTransactional = try reader.readUInt8("Message flags") & 1 == 1
        lsn = try reader.readLSN("Message lsn")
        prefix = try reader.readCString("Message prefix")
        let length = Int(try reader.readInt32("Message content length"))
        content = Array(reader.bytes[try reader.readRange(length, "Message content")])
    }
}
