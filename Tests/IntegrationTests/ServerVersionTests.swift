import Testing

@testable import TestSupport

/// The version matrix (`make test` runs suites again with `TRIBUTARY_TEST_POSTGRES=16` and `=18`) runs on the server it
/// names, never quietly on another.
struct ServerVersionTests {
    @Test func theSharedServerIsTheVersionAsked() throws {
        let server = try PostgresServer.start()
        let db = try server.createDatabase("server_version")
        defer { db.close() }
        let number = try db.execute("SHOW server_version_num").first?.first.flatMap { $0.flatMap(Int.init) } ?? 0
        #expect(number / 10000 == (try PostgresServer.testedMajor()), "server_version_num \(number)")
    }
}
