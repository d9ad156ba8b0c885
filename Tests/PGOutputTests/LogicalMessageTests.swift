import PGOutput
import Testing

@Suite struct LogicalMessageTests {
    @Test func fixturesWereCaptured() {
        #expect(Fixtures.all.count >= 40)
    }

    @Test func everyCapturedMessageDecodes() throws {
        for fixture in Fixtures.all {
            #expect(throws: Never.self, "\(fixture.name)") { try LogicalMessage.decode(fixture.bytes) }
        }
    }

    @Test func everyMessageCutShortThrowsInsteadOfTrapping() {
        for fixture in Fixtures.all {
            for length in 0..<fixture.bytes.count {
                #expect(throws: PGOutputError.self, "\(fixture.name) cut to \(length)") {
                    try LogicalMessage.decode(Array(fixture.bytes.prefix(length)))
                }
            }
        }
    }

    @Test func extraBytesAfterAMessageAreRejectedWithTheirOffset() throws {
        let begin = Fixtures.named("1_B")
        #expect(throws: PGOutputError.trailingBytes(count: 1, offset: begin.count)) {
            try LogicalMessage.decode(begin + [0])
        }
    }

    @Test func unknownMessageTypeNamesTheByte() {
        #expect(throws: PGOutputError.unknownMessageType(UInt8(ascii: "Z"), offset: 0)) {
            try LogicalMessage.decode([UInt8(ascii: "Z"), 0, 0])
        }
    }

    @Test func beginCarriesXidFinalLSNAndCommitTime() throws {
        guard case .begin(let begin) = try LogicalMessage.decode(Fixtures.named("1_B")),
            case .commit(let commit) = try LogicalMessage.decode(Fixtures.named("5_C"))
        else {
            Issue.record("not a Begin/Commit")
            return
        }
        #expect(begin.xid > 700)
        #expect(begin.finalLSN == commit.commitLSN)
        #expect(commit.endLSN > commit.commitLSN)
        #expect(begin.commitTimeMicros == commit.commitTimeMicros)
        // Captured in 2026: the commit time is a plausible Unix time in microseconds.
        #expect(begin.commitTimeMicros > 1_700_000_000_000_000)
    }

    @Test func relationDescribesColumnsTypesModifiersAndKey() throws {
        guard case .relation(let relation) = try LogicalMessage.decode(Fixtures.named("3_R")) else {
            Issue.record("not a Relation")
            return
        }
        #expect(relation.namespace == "public")
        #expect(relation.name == "customers")
        #expect(relation.replicaIdentity == .default)
        #expect(relation.columns.map(\.name) == ["id", "name", "balance", "mood", "big"])
        #expect(relation.columns.map(\.isKey) == [true, false, false, false, false])
        #expect(relation.columns[0].typeOID == 23)
        #expect(relation.columns[1].typeOID == 25)
        #expect(relation.columns[2].typeOID == 1700)
        // numeric(12,2): ((12 << 16) | 2) + 4
        #expect(relation.columns[2].typeModifier == (12 << 16 | 2) + 4)
        #expect(relation.columns[0].typeModifier == -1)

        guard case .relation(let notes) = try LogicalMessage.decode(Fixtures.named("16_R")) else {
            Issue.record("not a Relation")
            return
        }
        #expect(notes.replicaIdentity == .full)
        #expect(notes.columns.allSatisfy { $0.isKey })
    }

    @Test func typeMessageNamesTheEnum() throws {
        guard case .type(let type) = try LogicalMessage.decode(Fixtures.named("2_Y")),
            case .relation(let relation) = try LogicalMessage.decode(Fixtures.named("3_R"))
        else {
            Issue.record("not a Type")
            return
        }
        #expect(type.namespace == "public")
        #expect(type.name == "mood")
        #expect(relation.columns[3].typeOID == type.oid)
    }

    @Test func insertCarriesTextValues() throws {
        guard case .insert(let insert) = try LogicalMessage.decode(Fixtures.named("4_I")) else {
            Issue.record("not an Insert")
            return
        }
        #expect(insert.new.count == 5)
        #expect(insert.new.text(0) == "1")
        #expect(insert.new.text(1) == "Ann")
        #expect(insert.new.text(2) == "12.50")
        #expect(insert.new.text(3) == "happy")
        #expect(insert.new.text(4) == String(repeating: "0123456789", count: 300))
    }

    @Test func updateWithoutOldTupleMarksUnchangedToast() throws {
        guard case .update(let update) = try LogicalMessage.decode(Fixtures.named("7_U")) else {
            Issue.record("not an Update")
            return
        }
        #expect(update.old == nil)
        #expect(update.new.text(1) == "Ann B")
        #expect(update.new.columns[4].kind == .unchanged)
    }

    @Test func updateOfThePrimaryKeySendsTheOldKey() throws {
        guard case .update(let update) = try LogicalMessage.decode(Fixtures.named("10_U")),
            case .key(let old) = update.old
        else {
            Issue.record("not an Update with a K tuple")
            return
        }
        #expect(old.text(0) == "1")
        #expect(old.columns[1...].allSatisfy { $0.kind == .null })
        #expect(update.new.text(0) == "2")
    }

    @Test func replicaIdentityFullSendsTheWholeOldRow() throws {
        guard case .update(let update) = try LogicalMessage.decode(Fixtures.named("20_U")),
            case .full(let old) = update.old,
            case .delete(let delete) = try LogicalMessage.decode(Fixtures.named("23_D")),
            case .full(let deleted) = delete.old
        else {
            Issue.record("not O tuples")
            return
        }
        #expect(old.text(0) == "hello")
        #expect(old.columns[1].kind == .null)
        #expect(update.new.text(1) == "2")
        #expect(deleted.text(1) == "2")
    }

    @Test func deleteByKey() throws {
        guard case .delete(let delete) = try LogicalMessage.decode(Fixtures.named("13_D")), case .key(let old) = delete.old
        else {
            Issue.record("not a Delete with a K tuple")
            return
        }
        #expect(old.text(0) == "2")
    }

    @Test func truncateCarriesFlagsAndRelations() throws {
        guard case .truncate(let truncate) = try LogicalMessage.decode(Fixtures.named("29_T")) else {
            Issue.record("not a Truncate")
            return
        }
        #expect(truncate.cascade)
        #expect(truncate.restartIdentity)
        #expect(truncate.relationOIDs.count == 2)
    }

    @Test func logicalMessagesTransactionalAndNot() throws {
        guard case .message(let inside) = try LogicalMessage.decode(Fixtures.named("32_M")),
            case .message(let outside) = try LogicalMessage.decode(Fixtures.named("36_M"))
        else {
            Issue.record("not Messages")
            return
        }
        #expect(inside.isTransactional)
        #expect(inside.prefix == "audit")
        #expect(inside.content == Array("hi there".utf8))
        #expect(!outside.isTransactional)
        #expect(outside.prefix == "ping")
        #expect(outside.content == [0x00, 0xFF])
    }

    @Test func originNamesTheUpstream() throws {
        guard case .origin(let origin) = try LogicalMessage.decode(Fixtures.named("38_O")) else {
            Issue.record("not an Origin")
            return
        }
        #expect(origin.name == "upstream")
        #expect(origin.commitLSN == LSN("0/1234"))
    }

    @Test func binaryColumnsKeepTheirBytes() throws {
        guard case .insert(let insert) = try LogicalMessage.decode(Fixtures.named("binary_4_I")) else {
            Issue.record("not an Insert")
            return
        }
        #expect(insert.new.columns[0].kind == .binary)
        insert.new.withValue(0) { #expect(Array($0) == [0, 0, 0, 1]) }
    }

    @Test func unknownTupleColumnKindNamesItsOffset() throws {
        var bytes = Fixtures.named("17_I")
        // Type(1) + OID(4) + 'N'(1) + count(2): the first column kind is at offset 8.
        bytes[8] = UInt8(ascii: "x")
        #expect(throws: PGOutputError.unknownColumnKind(UInt8(ascii: "x"), offset: 8)) {
            try LogicalMessage.decode(bytes)
        }
    }

    @Test func hugeTruncateCountIsRejectedBeforeAllocating() {
        let bytes: [UInt8] = [UInt8(ascii: "T"), 0x7F, 0xFF, 0xFF, 0xFF, 0]
        #expect(throws: PGOutputError.invalidLength(field: "Truncate relationCount", value: 0x7FFF_FFFF, offset: 1)) {
            try LogicalMessage.decode(bytes)
        }
    }

    /// Found by the fuzzer (scripts/fuzz.sh): a commit time near Int64.max overflowed when moved to the Unix epoch.
    @Test func timestampsAtTheEndsOfTheRangeSaturateInsteadOfTrapping() throws {
        let bytes: [UInt8] = [
            0x43, 0x00, 0x00, 0x00, 0x00, 0x70, 0x24, 0x70, 0x00, 0x00, 0x00, 0x00, 0xa1, 0x50, 0x30, 0xf7, 0x3a, 0x00, 0x7f,
            0xfe, 0xff, 0x00, 0xa2, 0xfe, 0xad, 0x19,
        ]
        guard case .commit(let commit) = try LogicalMessage.decode(bytes) else {
            Issue.record("expected a commit")
            return
        }
        #expect(commit.commitTimeMicros == .max)
    }
}
