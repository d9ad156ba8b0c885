import Connector
import PostgresReplication
import Testing

@testable import tributary

/// A PostgreSQL failure is sorted by its SQLSTATE, whatever language the server writes its messages in, and the code
/// goes along to the pipeline.
@Suite struct ErrorClassificationTests {
    @Test(arguments: [
        ("55006", ConnectorError.Kind.slotInUse),
        ("57P01", .transient),  // admin_shutdown
        ("08006", .transient),  // connection_failure
        ("53300", .transient),  // too_many_connections
        ("42501", .configuration),  // insufficient_privilege
        ("42P01", .configuration),  // undefined_table
    ])
    func aQueryFailureIsSortedByItsSQLState(sqlState: String, kind: ConnectorError.Kind) {
        // German server messages: nothing may depend on the words.
        let error = PostgresChangeSource.classify(
            PostgresError(.query, "FEHLER:  Replikations-Slot »s« ist aktiv für PID 42", sqlState: sqlState))
        #expect(error.kind == kind)
        #expect(error.code == .sqlState(sqlState))
    }

    @Test func aBrokenConnectionIsTransientEvenWithoutACode() {
        let error = PostgresChangeSource.classify(PostgresError(.connection, "server closed the connection unexpectedly"))
        #expect(error.kind == .transient && error.code == nil)
    }
}
