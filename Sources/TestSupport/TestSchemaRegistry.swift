import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A test fixture, never used by the product: an in-process HTTP server answering the part of Confluent's schema
/// registry REST API a serialiser uses — `POST /subjects/{s}/versions` (register, with a BACKWARD compatibility
/// check), `POST /subjects/{s}` (look up), `GET /schemas/ids/{id}`, `GET /subjects/{s}/versions/latest`,
/// `GET`/`PUT /config` — with Confluent's error bodies (`{"error_code":40403,"message":…}`). It can be told to be
/// down (503) or to require basic authentication.
///
/// The BACKWARD check is the one a record's evolution needs: a field the new version adds must have a default, and
/// a field both versions have must keep its type.
public final class TestSchemaRegistry: Sendable {
    public struct Version: Sendable, Equatable {
        public var subject: String
        public var version: Int
        public var id: Int
        public var schema: String
    }

    private struct State {
        var versions: [Version] = []
        /// Schema texts by id (one id per distinct schema, shared across subjects, as Confluent does).
        var ids: [String: Int] = [:]
        var compatibility = "BACKWARD"
        var down = false
        var basicAuth: String?
        var requests = 0
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, any Error>?>(nil)
    public let port: Int
    private let scheme: String

    private init(port: Int, scheme: String) {
        self.port = port
        self.scheme = scheme
    }

    public var url: String { "\(scheme)://127.0.0.1:\(port)" }

    /// A certificate and key (PEM files) the server presents over https.
    public struct Certificate: Sendable {
        public var certificateFile: String
        public var keyFile: String

        /// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command in `directory` (as
        /// `<name>.pem` and `<name>-key.pem`).
        public static func selfSigned(in directory: String, name: String = "registry") throws -> Certificate {
            let certificate = Certificate(certificateFile: "\(directory)/\(name).pem", keyFile: "\(directory)/\(name)-key.pem")
            let result = try runCommand(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", certificate.keyFile, "-out",
                    certificate.certificateFile,
                ])
            guard result.status == 0 else { throw TestSupportError("openssl could not make a certificate: \(result.output)") }
            return certificate
        }
    }

    /// Starts the server on a free port, over https when given a certificate; with `clientCA` (a PEM file), it asks
    /// each client for a certificate that CA signed, and refuses the connection without one.
    public static func start(
        tls certificate: Certificate? = nil, clientCA: String? = nil
    ) async throws
        -> TestSchemaRegistry
    {
        let port = try PostgresServer.freePort()
        let registry = TestSchemaRegistry(port: port, scheme: certificate == nil ? "http" : "https")
        let ready = AsyncStream<Void>.makeStream()
        let configuration = ApplicationConfiguration(
            address: .hostname("127.0.0.1", port: port), serverName: "test-registry")
        let logger = Logger(label: "test-schema-registry")
        let onRunning: @Sendable (any Channel) async -> Void = { _ in ready.continuation.yield() }
        if let certificate {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate.certificateFile).map { .certificate($0) },
                privateKey: .file(certificate.keyFile))
            if let clientCA {
                tls.certificateVerification = .noHostnameVerification
                tls.trustRoots = .file(clientCA)
            }
            let app = Application(
                router: registry.router(), server: try .tls(.http1(), tlsConfiguration: tls), configuration: configuration,
                onServerRunning: onRunning, logger: logger)
            registry.task.withLock { $0 = Task { try await app.runService() } }
        } else {
            let app = Application(
                router: registry.router(), configuration: configuration, onServerRunning: onRunning, logger: logger)
            registry.task.withLock { $0 = Task { try await app.runService() } }
        }
        for await _ in ready.stream { break }
        return registry
    }

    public func stop() {
        task.withLock { $0?.cancel() }
    }

    /// Every version registered, in order.
    public var versions: [Version] { state.withLock { $0.versions } }
    /// Requests answered so far.
    public var requests: Int { state.withLock { $0.requests } }

    /// While down, every request gets a 503.
    public func setDown(_ down: Bool) { state.withLock { $0.down = down } }

    /// Requires `user:password` as basic authentication.
    public func requireBasicAuth(_ userInfo: String?) { state.withLock { $0.basicAuth = userInfo } }

    public func setCompatibility(_ level: String) { state.withLock { $0.compatibility = level } }

    // MARK: Routes

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/subjects/:subject/versions") { request, context in
            try await self.answer(request, context) { state, subject, body in
                guard let schema = Self.schemaText(body) else { return Self.error(422, 42201, "Invalid schema") }
                let existing = state.versions.filter { $0.subject == subject }
                if let found = existing.first(where: { $0.schema == schema }) { return Self.json(["id": found.id]) }
                if state.compatibility == "BACKWARD", let latest = existing.last,
                    let reason = Self.backwardIncompatibility(new: schema, old: latest.schema)
                {
                    return Self.error(
                        409, 409,
                        "Schema being registered is incompatible with an earlier schema for subject \"\(subject)\": \(reason)")
                }
                let id = state.ids[schema] ?? (state.ids.count + 1)
                state.ids[schema] = id
                state.versions.append(Version(subject: subject, version: existing.count + 1, id: id, schema: schema))
                return Self.json(["id": id])
            }
        }
        router.post("/subjects/:subject") { request, context in
            try await self.answer(request, context) { state, subject, body in
                guard let schema = Self.schemaText(body) else { return Self.error(422, 42201, "Invalid schema") }
                let existing = state.versions.filter { $0.subject == subject }
                guard !existing.isEmpty else { return Self.error(404, 40401, "Subject '\(subject)' not found.") }
                guard let found = existing.first(where: { $0.schema == schema }) else {
                    return Self.error(404, 40403, "Schema not found")
                }
                return Self.json(["subject": subject, "version": found.version, "id": found.id, "schema": found.schema])
            }
        }
        router.get("/subjects/:subject/versions/latest") { request, context in
            try await self.answer(request, context) { state, subject, _ in
                guard let latest = state.versions.last(where: { $0.subject == subject }) else {
                    return Self.error(404, 40401, "Subject '\(subject)' not found.")
                }
                return Self.json(["subject": subject, "version": latest.version, "id": latest.id, "schema": latest.schema])
            }
        }
        router.get("/schemas/ids/:id") { request, context in
            try await self.answer(request, context) { state, _, _ in
                let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
                guard let schema = state.ids.first(where: { $0.value == id })?.key else {
                    return Self.error(404, 40403, "Schema \(id) not found")
                }
                return Self.json(["schema": schema])
            }
        }
        router.get("/config") { request, context in
            try await self.answer(request, context) { state, _, _ in Self.json(["compatibilityLevel": state.compatibility]) }
        }
        router.put("/config") { request, context in
            try await self.answer(request, context) { state, _, body in
                guard let level = body["compatibility"] as? String else {
                    return Self.error(422, 42203, "Invalid compatibility level")
                }
                state.compatibility = level
                return Self.json(["compatibility": level])
            }
        }
        return router
    }

    private func answer(
        _ request: Request, _ context: BasicRequestContext,
        _ body: @escaping @Sendable (inout State, String, [String: Any]) -> Response
    ) async throws -> Response {
        let bytes = try await request.body.collect(upTo: 16 << 20)
        let document = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
        let subject = context.parameters.get("subject")?.removingPercentEncoding ?? ""
        let authorization = request.headers[.authorization]
        return state.withLock { state in
            state.requests += 1
            if state.down { return Self.error(503, 50003, "Error while forwarding the request to the primary") }
            if let expected = state.basicAuth,
                authorization != "Basic " + Data(expected.utf8).base64EncodedString()
            {
                return Self.error(401, 401, "Unauthorized")
            }
            return body(&state, subject, document)
        }
    }

    static func schemaText(_ body: [String: Any]) -> String? {
        guard let schema = body["schema"] as? String,
            (try? JSONSerialization.jsonObject(with: Data(schema.utf8), options: [.fragmentsAllowed])) != nil
        else { return nil }
        return schema
    }

    /// Why `new` cannot read what `old` wrote, nil when it can: a record field the new version adds must have a
    /// default, fields both have must stay readable (unions branch by branch, records field by field, primitives by
    /// their type; a named type referred to by name stays as it was).
    static func backwardIncompatibility(new: String, old: String) -> String? {
        guard let newSchema = try? JSONSerialization.jsonObject(with: Data(new.utf8), options: [.fragmentsAllowed]),
            let oldSchema = try? JSONSerialization.jsonObject(with: Data(old.utf8), options: [.fragmentsAllowed])
        else { return "not JSON" }
        return unreadable(newSchema, oldSchema, path: "")
    }

    static func unreadable(_ new: Any, _ old: Any, path: String) -> String? {
        switch (new, old) {
        case (let new as [Any], let old as [Any]):
            guard new.count == old.count else { return "the union at '\(path)' changed" }
            for (a, b) in zip(new, old) {
                if let reason = unreadable(a, b, path: path) { return reason }
            }
            return nil
        case (let new as [String: Any], let old as [String: Any]):
            let newType = new["type"] as? String
            guard newType == old["type"] as? String else { return "the type at '\(path)' changed" }
            guard newType == "record" else {
                if newType == "array", let a = new["items"], let b = old["items"] { return unreadable(a, b, path: path + "[]") }
                if newType == "map", let a = new["values"], let b = old["values"] { return unreadable(a, b, path: path + "{}") }
                return nil
            }
            let newFields = new["fields"] as? [[String: Any]] ?? []
            let oldFields = old["fields"] as? [[String: Any]] ?? []
            for field in newFields {
                guard let name = field["name"] as? String else { continue }
                let fieldPath = path.isEmpty ? name : "\(path).\(name)"
                if let previous = oldFields.first(where: { $0["name"] as? String == name }) {
                    if let reason = unreadable(field["type"] ?? NSNull(), previous["type"] ?? NSNull(), path: fieldPath) {
                        return reason
                    }
                } else if field["default"] == nil {
                    return "field '\(fieldPath)' was added without a default"
                }
            }
            return nil
        case (let new as String, let old as String):
            return new == old ? nil : "the type at '\(path)' changed from \(old) to \(new)"
        case (let new as [String: Any], let old as String):
            return new["type"] as? String == old ? nil : "the type at '\(path)' changed"
        case (let new as String, let old as [String: Any]):
            return old["type"] as? String == new ? nil : "the type at '\(path)' changed"
        default:
            return "the type at '\(path)' changed"
        }
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/vnd.schemaregistry.v1+json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: Int, _ code: Int, _ message: String) -> Response {
        json(["error_code": code, "message": message], status: HTTPResponse.Status(code: status))
    }
}
