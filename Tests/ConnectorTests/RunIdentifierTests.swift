import Testing

@testable import Connector

/// The run id of Debezium's context headers: a version 7 UUID, its time first.
@Suite struct RunIdentifierTests {
    @Test func aRunIdIsAVersionSevenUUIDStartingWithItsTime() {
        let id = RunIdentifier.make(unixMillis: 0x01a2_2a9d_7039, random: (0xFFFF_FFFF_FFFF_FFFF, 0))
        #expect(id == "01a22a9d-7039-7fff-8000-000000000000")
        let random = RunIdentifier.make()
        #expect(random.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
        #expect(random != RunIdentifier.make(), "each run its own")
    }
}
