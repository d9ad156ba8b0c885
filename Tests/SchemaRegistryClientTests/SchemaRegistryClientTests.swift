import NIOCore
import TestSupport
import Testing

@testable import SchemaRegistryClient

/// The client's pieces that need no registry: timeouts below a second, subjects in a URL path, the registry's error
/// bodies and which answers are worth retrying.
@Suite struct SchemaRegistryClientTests {
    @Test func aTimeoutBelowASecondIsKept() {
        #expect(SchemaRegistryClient.timeAmount(.milliseconds(500)) == .milliseconds(500))
        #expect(SchemaRegistryClient.timeAmount(.seconds(30)) == .milliseconds(30_000))
        #expect(SchemaRegistryClient.timeAmount(.zero) == .milliseconds(1))
    }

    @Test func aSubjectIsOnePathSegment() {
        #expect(SchemaRegistryClient.escape("inventory.public.orders-value") == "inventory.public.orders-value")
        #expect(SchemaRegistryClient.escape("a/b c") == "a%2Fb%20c")
    }

    @Test func theRegistrysErrorBodyIsKept() {
        let failure = SchemaRegistryClient.failure(
            status: 409, body: Array(#"{"error_code":409,"message":"Schema being registered is incompatible"}"#.utf8),
            url: "http://r/subjects/s/versions")
        #expect(failure.code == 409)
        #expect(failure.message.contains("Schema being registered is incompatible"))
        #expect(!failure.isTransient && !failure.isUnauthorized)
    }

    @Test func whatIsWorthRetrying() {
        for status in [nil, 500, 503, 429, 408] as [Int?] {
            #expect(SchemaRegistryClient.Failure(status: status, code: nil, message: "").isTransient)
        }
        for status in [401, 403] {
            let failure = SchemaRegistryClient.Failure(status: status, code: nil, message: "")
            #expect(failure.isUnauthorized && !failure.isTransient)
        }
        #expect(!SchemaRegistryClient.Failure(status: 422, code: 42201, message: "").isTransient)
    }

    @Test func theRequestBodyIsTheSchemaAsAString() throws {
        let body = String(decoding: SchemaRegistryClient.body(#"{"type":"string"}"#), as: UTF8.self)
        #expect(body == #"{"schema":"{\"type\":\"string\"}"}"#)
    }

    /// Against the test registry over HTTP: register, look up, and the subject's latest version (nil for a subject
    /// without one).
    @Test func registerLookUpAndLatest() async throws {
        let registry = try await TestSchemaRegistry.start()
        defer { registry.stop() }
        let client = try SchemaRegistryClient(SchemaRegistryClient.Settings(urls: [registry.url]))
        defer { client.close() }
        let first = #"{"type":"record","name":"V","fields":[{"name":"a","type":"int"}]}"#
        let second =
            #"{"type":"record","name":"V","fields":[{"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null}]}"#
        #expect(try client.latest(subject: "t-value") == nil)
        let firstID = try client.register(subject: "t-value", schema: first)
        let secondID = try client.register(subject: "t-value", schema: second)
        #expect(firstID != secondID)
        #expect(try client.lookup(subject: "t-value", schema: first) == firstID)
        #expect(try client.lookup(subject: "t-value", schema: #"{"type":"string"}"#) == nil)
        let latest = try #require(try client.latest(subject: "t-value"))
        #expect(latest.id == secondID && latest.version == 2 && latest.schema == second)
    }
}
