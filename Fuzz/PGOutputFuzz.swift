// libFuzzer entry point for the pgoutput decoder, built by scripts/fuzz.sh together with Sources/PGOutput.
//
// Every input is decoded three ways: as a replication frame (and its logical message), as a bare
// pgoutput message, and as a COPY text row. Any outcome but a value or a thrown PGOutputError
// (a trap, a hang, an allocation over libFuzzer's limit) is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let frame = try? ReplicationFrame.decode(bytes), case .xLogData(let payload) = frame {
        _ = try? payload.message()
    }
    if let message = try? LogicalMessage.decode(bytes) {
        // Touch the decoded tuples, as the event builder does.
        switch message {
        case .insert(let insert): _ = insert.new.columns.map { insert.new.storage[$0.range].count }
        default: break
        }
    }
    _ = try? CopyTextRow.decode(bytes, columnCount: Int(bytes.first ?? 0) % 16)
    return 0
}
