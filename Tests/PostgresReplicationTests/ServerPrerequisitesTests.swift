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
}
