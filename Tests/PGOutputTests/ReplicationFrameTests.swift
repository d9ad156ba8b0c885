import PGOutput
import Testing

@Suite struct ReplicationFrameTests {
    static func bigEndian(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    @Test func xLogDataExposesPositionsAndTheMessage() throws {
        let message = Fixtures.named("4_I")
        let frame =
            [UInt8(ascii: "w")] + Self.bigEndian(0x1_52E6_70) + Self.bigEndian(0x1_52E6_A0) + Self.bigEndian(0)
            + message
        guard case .xLogData(let data) = try ReplicationFrame.decode(frame) else {
            Issue.record("not XLogData")
            return
        }
        #expect(data.walStart == LSN(0x1_52E6_70))
        #expect(data.walEnd == LSN(0x1_52E6_A0))
        #expect(data.sendTimeMicros == ReplicationFrame.postgresEpochOffsetMicros)
        guard case .insert(let insert) = try data.message() else {
            Issue.record("not an Insert")
            return
        }
        #expect(insert.new.text(1) == "Ann")
    }

    @Test func keepaliveSaysWhetherAReplyIsRequested() throws {
        let frame = [UInt8(ascii: "k")] + Self.bigEndian(0x16_B374_D848) + Self.bigEndian(1_000_000) + [1]
        #expect(
            try ReplicationFrame.decode(frame)
                == .keepalive(
                    PrimaryKeepalive(
                        walEnd: LSN("16/B374D848")!, sendTimeMicros: ReplicationFrame.postgresEpochOffsetMicros + 1_000_000,
                        replyRequested: true)))
    }

    @Test func framesCutShortThrow() {
        let keepalive = [UInt8(ascii: "k")] + Self.bigEndian(1) + Self.bigEndian(1) + [0]
        for length in 0..<keepalive.count {
            #expect(throws: PGOutputError.self) { try ReplicationFrame.decode(Array(keepalive.prefix(length))) }
        }
        let header = [UInt8(ascii: "w")] + Self.bigEndian(1) + Self.bigEndian(1) + Self.bigEndian(0)
        for length in 0..<header.count {
            #expect(throws: PGOutputError.self) { try ReplicationFrame.decode(Array(header.prefix(length))) }
        }
    }

    @Test func unknownFrameTypeIsAnError() {
        #expect(throws: PGOutputError.unknownFrameType(UInt8(ascii: "q"))) { try ReplicationFrame.decode([UInt8(ascii: "q")]) }
    }

    @Test func standbyStatusUpdateLayout() {
        let update = StandbyStatusUpdate(
            written: LSN(3), flushed: LSN(2), applied: LSN(1),
            clockMicros: ReplicationFrame.postgresEpochOffsetMicros + 5, replyRequested: true)
        let bytes = update.encoded()
        #expect(bytes.count == 34)
        #expect(bytes[0] == UInt8(ascii: "r"))
        #expect(Array(bytes[1..<9]) == Self.bigEndian(3))
        #expect(Array(bytes[9..<17]) == Self.bigEndian(2))
        #expect(Array(bytes[17..<25]) == Self.bigEndian(1))
        #expect(Array(bytes[25..<33]) == Self.bigEndian(5))
        #expect(bytes[33] == 1)
    }

    @Test func lsnTextRoundTrips() {
        #expect(LSN("16/B374D848")?.rawValue == 0x16_B374_D848)
        #expect(LSN(0x16_B374_D848).description == "16/B374D848")
        #expect(LSN("0/0") == .zero)
        #expect(LSN("nope") == nil)
        #expect(LSN("1/") == nil)
        #expect(LSN("123456789/0") == nil)
    }
}
