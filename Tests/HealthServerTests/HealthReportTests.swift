import Connector
import HealthServer
import Testing

@Suite struct HealthReportTests {
    func snapshot(
        _ name: String, _ state: ConnectorStatus.State, heartbeat: ContinuousClock.Instant = .now
    ) -> ConnectorStatus.Snapshot {
        let status = ConnectorStatus(name: name, slot: "s")
        status.update {
            $0.state = state
            $0.heartbeat = heartbeat
        }
        return status.snapshot
    }

    @Test func healthFailsForFailedReconnectingOrStoppedConnectorsOnly() {
        let report = HealthReport(connectors: [
            snapshot("a", .streaming), snapshot("b", .failed), snapshot("c", .reconnecting), snapshot("d", .standby),
            snapshot("e", .starting), snapshot("f", .stopped),
        ])
        #expect(report.unhealthy.map(\.name) == ["b", "c", "f"])
    }

    @Test func readyWhenEveryConnectorStreamsSnapshotsOrStandsBy() {
        #expect(HealthReport(connectors: [snapshot("a", .streaming), snapshot("b", .snapshotting)]).notReady.isEmpty)
        // A standby is ready (a rolling update waits for the new instance to be ready before stopping the old one),
        // and is listed as such.
        let standby = HealthReport(connectors: [snapshot("a", .streaming), snapshot("b", .standby)])
        #expect(standby.notReady.isEmpty)
        #expect(standby.standby.map(\.name) == ["b"])
        #expect(
            HealthReport(connectors: [snapshot("a", .starting), snapshot("b", .reconnecting)]).notReady.map(\.name) == ["a", "b"])
    }

    @Test func liveFailsOnlyForAConnectorWithoutProgress() {
        let now = ContinuousClock.now
        let report = HealthReport(
            connectors: [
                snapshot("fresh", .failed, heartbeat: now - .seconds(5)),
                snapshot("stuck", .streaming, heartbeat: now - .seconds(300)),
                snapshot("done", .stopped, heartbeat: now - .seconds(300)),
            ], now: now)
        #expect(report.stuck.map(\.name) == ["stuck"])
    }

    @Test func lagBytesIsServerEndMinusConfirmed() {
        var snapshot = snapshot("a", .streaming)
        snapshot.serverLSN = .init(1000)
        snapshot.flushedLSN = .init(400)
        #expect(snapshot.lagBytes == 600)
        snapshot.flushedLSN = .init(2000)
        #expect(snapshot.lagBytes == 0)
    }
}
