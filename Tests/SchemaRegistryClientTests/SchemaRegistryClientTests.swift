import Foundation
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

    /// Runs the client's blocking calls on a thread of their own: blocking the few threads Swift's concurrency has
    /// would starve the test registry, whose handlers run there.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
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
        #expect(try await blocking { try client.latest(subject: "t-value") } == nil)
        let firstID = try await blocking { try client.register(subject: "t-value", schema: first) }
        let secondID = try await blocking { try client.register(subject: "t-value", schema: second) }
        #expect(firstID != secondID)
        #expect(try await blocking { try client.lookup(subject: "t-value", schema: first) } == firstID)
        #expect(try await blocking { try client.lookup(subject: "t-value", schema: #"{"type":"string"}"#) } == nil)
        let latest = try #require(try await blocking { try client.latest(subject: "t-value") })
        #expect(latest.id == secondID && latest.version == 2 && latest.schema == second)
    }

    /// Mutual TLS: a registry that asks for a client certificate answers a client that presents one its CA signed
    /// (`cert_file`, `key_file`), and a client without one cannot reach it (an unreachable registry, retried).
    @Test func aClientCertificateOpensARegistryThatAsksForOne() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("registry-mtls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try TestSchemaRegistry.Certificate.selfSigned(in: directory)
        let client = try TestSchemaRegistry.Certificate.selfSigned(in: directory, name: "client")
        let registry = try await TestSchemaRegistry.start(tls: server, clientCA: client.certificateFile)
        defer { registry.stop() }
        let schema = #"{"type":"string"}"#
        let presenting = try SchemaRegistryClient(
            SchemaRegistryClient.Settings(
                urls: [registry.url], caFile: server.certificateFile, certFile: client.certificateFile,
                keyFile: client.keyFile))
        defer { presenting.close() }
        #expect(try await blocking { try presenting.register(subject: "s-value", schema: schema) } == 1)
        let anonymous = try SchemaRegistryClient(
            SchemaRegistryClient.Settings(urls: [registry.url], caFile: server.certificateFile, timeout: .seconds(5)))
        defer { anonymous.close() }
        let refused = try await blocking { () -> SchemaRegistryClient.Failure? in
            do {
                _ = try anonymous.register(subject: "s-value", schema: schema)
                return nil
            } catch let failure as SchemaRegistryClient.Failure {
                return failure
            }
        }
        #expect(refused?.isTransient == true, "a handshake the registry refuses is a registry that cannot be reached")
        #expect(registry.versions.count == 1)
    }
}
