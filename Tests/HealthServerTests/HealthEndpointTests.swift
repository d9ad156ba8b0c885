import Connector
import Foundation
import HealthServer
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

/// The HTTP routes themselves, through Hummingbird's router test framework: status codes, bodies, content types.
@Suite struct HealthEndpointTests {
    static func statuses(_ states: [(String, ConnectorStatus.State)]) -> [ConnectorStatus] {
        states.map { name, state in
            let status = ConnectorStatus(name: name, slot: "tributary_\(name)")
            status.update {
                $0.state = state
                $0.heartbeat = .now
                if state == .failed { $0.lastError = "wal_level is 'replica' on the server" }
            }
            return status
        }
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test func healthIsUpWhileEveryConnectorStreamsAndDownWithTheFailingOne() async throws {
        let registry = PrometheusCollectorRegistry()
        let healthy = HealthEndpoint.application(
            host: "127.0.0.1", port: 0, statuses: Self.statuses([("a", .streaming)]), registry: registry,
            logger: Logger(label: "test"))
        try await healthy.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = try Self.json(response)
                #expect(body["status"] as? String == "UP")
            }
        }
        let failing = HealthEndpoint.application(
            host: "127.0.0.1", port: 0, statuses: Self.statuses([("a", .streaming), ("b", .failed)]), registry: registry,
            logger: Logger(label: "test"))
        try await failing.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try Self.json(response)
                #expect(body["status"] as? String == "DOWN")
                let connectors = body["connectors"] as? [[String: Any]] ?? []
                #expect(
                    connectors.first { $0["name"] as? String == "b" }?["error"] as? String
                        == "wal_level is 'replica' on the server")
            }
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok, "a failed connector is alive: restarting the process would not help")
            }
        }
    }

    @Test func readyCountsAStandbyAsReadyAndAStartingConnectorAsNot() async throws {
        let registry = PrometheusCollectorRegistry()
        let standby = HealthEndpoint.application(
            host: "127.0.0.1", port: 0, statuses: Self.statuses([("a", .streaming), ("b", .standby)]), registry: registry,
            logger: Logger(label: "test"))
        try await standby.test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response)
                #expect(body["status"] as? String == "STANDBY")
            }
        }
        let starting = HealthEndpoint.application(
            host: "127.0.0.1", port: 0, statuses: Self.statuses([("a", .starting)]), registry: registry,
            logger: Logger(label: "test"))
        try await starting.test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }

    @Test func statusListsEachConnectorAndMetricsServesPrometheusText() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "tributary_test_total", labels: [("connector", "a")]).increment()
        let app = HealthEndpoint.application(
            host: "127.0.0.1", port: 0, statuses: Self.statuses([("a", .streaming), ("b", .reconnecting)]),
            registry: registry, logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/status", method: .get) { response in
                #expect(response.status == .ok)
                let connectors = try Self.json(response)["connectors"] as? [[String: Any]] ?? []
                #expect(connectors.map { $0["name"] as? String } == ["a", "b"])
                #expect(connectors.map { $0["state"] as? String } == ["streaming", "reconnecting"])
                #expect(connectors.first?["slot"] as? String == "tributary_a")
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(String(buffer: response.body).contains(#"tributary_test_total{connector="a"} 1"#))
            }
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
