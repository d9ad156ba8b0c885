import PostgresReplication
import Testing

/// The server prerequisites, as `tributary check` lists them and as a session stops at them.
@Suite struct ServerPrerequisitesTests {
    @Test func eachUnmetPrerequisiteSaysWhatToChange() {
        let unmet = ServerPrerequisites(walLevel: "replica", role: "cdc", mayReplicate: false, isSuperuser: false)
        #expect(unmet.findings.map(\.passed) == [false, false])
        #expect(unmet.findings[0].what == "wal_level is 'replica' on the server")
        #expect(unmet.findings[0].fix?.contains("ALTER SYSTEM SET wal_level = logical") == true)
        #expect(unmet.findings[1].fix == "run ALTER ROLE cdc WITH REPLICATION as a superuser, or connect as a role that has it")
    }

    @Test func aSessionStopsAtTheFirstUnmetOneAsAConfigurationError() {
        let unmet = ServerPrerequisites(walLevel: "logical", role: "cdc", mayReplicate: false, isSuperuser: false)
        #expect {
            try unmet.require()
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.kind == .configuration && error.description.contains("role cdc lacks the REPLICATION privilege")
        }
        #expect(throws: Never.self) {
            try ServerPrerequisites(walLevel: "logical", role: "cdc", mayReplicate: true, isSuperuser: false).require()
        }
    }

    /// A standby decodes from PostgreSQL 16, with hot_standby_feedback on; a primary is not asked about either.
    @Test func aStandbyNeedsPostgreSQL16AndHotStandbyFeedback() {
        func findings(_ version: Int, standby: Bool, feedback: Bool) -> [ServerPrerequisites.Finding] {
            ServerPrerequisites(
                walLevel: "logical", role: "cdc", mayReplicate: true, isSuperuser: false, serverVersion: version,
                isStandby: standby, hotStandbyFeedback: feedback
            ).findings
        }
        #expect(findings(150000, standby: false, feedback: false).count == 2)
        let old = findings(150007, standby: true, feedback: true)
        #expect(old.last?.what.contains("a standby of PostgreSQL 15, which cannot decode changes") == true)
        #expect(old.last?.fix?.contains("point postgres.url at the primary") == true)
        let noFeedback = findings(160014, standby: true, feedback: false)
        #expect(noFeedback.last?.fix?.contains("set hot_standby_feedback = on on the standby") == true)
        #expect(findings(180006, standby: true, feedback: true).allSatisfy { $0.passed })
        #expect(findings(180006, standby: true, feedback: true).count == 3)
    }
}
