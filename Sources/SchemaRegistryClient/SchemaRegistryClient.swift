import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A client of Confluent's schema registry REST API, the part an Avro serialiser uses: register a schema under a
/// subject (`POST /subjects/{subject}/versions`) and look one up (`POST /subjects/{subject}`).
///
/// Its calls block the calling thread until the registry answers or the timeout passes, so call it from a thread of
/// your own, not from an event loop or a task executor. Each URL is tried in turn while the registry cannot be
/// reached.
public final class SchemaRegistryClient: Sendable {
    public struct Settings: Sendable {
        public var urls: [String]
        /// `user:password`, sent as HTTP basic authentication.
        public var basicAuth: String?
        public var bearerToken: String?
        /// PEM files: the CA to trust instead of the system's, and a client certificate with its key.
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var timeout: Duration

        public init(
            urls: [String], basicAuth: String? = nil, bearerToken: String? = nil, caFile: String? = nil,
            certFile: String? = nil, keyFile: String? = nil, timeout: Duration = .seconds(30)
        ) {
            self.urls = urls
            self.basicAuth = basicAuth
            self.bearerToken = bearerToken
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.timeout = timeout
        }
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// The HTTP status; nil when no answer came (the registry cannot be reached, or timed out).
        public var status: Int?
        /// The registry's `error_code` (`40901`, `42201`, `40403`, …).
        public var code: Int?
        public var message: String

        public var description: String { message }

        /// Worth retrying later: no answer, a server error, or too many requests.
        public var isTransient: Bool { status == nil || status! >= 500 || status == 429 || status == 408 }
        public var isUnauthorized: Bool { status == 401 || status == 403 }
    }

    private let settings: Settings
    private let client: HTTPClient
    private let headers: HTTPHeaders

    public init(_ settings: Settings) throws {
        self.settings = settings
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile { tls.trustRoots = .file(caFile) }
        if let certFile = settings.certFile, let keyFile = settings.keyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
            tls.privateKey = .file(keyFile)
        }
        let timeout = Self.timeAmount(settings.timeout)
        client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(
                tlsConfiguration: tls, timeout: HTTPClient.Configuration.Timeout(connect: timeout, read: timeout)))
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/vnd.schemaregistry.v1+json")
        headers.add(name: "Accept", value: "application/vnd.schemaregistry.v1+json, application/json")
        if let basicAuth = settings.basicAuth {
            headers.add(name: "Authorization", value: "Basic " + Data(basicAuth.utf8).base64EncodedString())
        } else if let token = settings.bearerToken {
            headers.add(name: "Authorization", value: "Bearer " + token)
        }
        self.headers = headers
    }

    /// Registers `schema` (Avro schema text) under `subject`, or finds it registered; returns its id.
    public func register(subject: String, schema: String) throws(Failure) -> Int32 {
        let answer = try request(.POST, "/subjects/\(Self.escape(subject))/versions", body: Self.body(schema))
        return try Self.id(in: answer)
    }

    /// The id of `schema` under `subject`; nil when the subject does not hold it.
    public func lookup(subject: String, schema: String) throws(Failure) -> Int32? {
        do {
            let answer = try request(.POST, "/subjects/\(Self.escape(subject))", body: Self.body(schema))
            return try Self.id(in: answer)
        } catch  where error.status == 404 {
            return nil
        }
    }

    /// The subject's latest version: its id, version number and schema text; nil when the subject has none.
    public func latest(subject: String) throws(Failure) -> (id: Int32, version: Int, schema: String)? {
        let answer: [UInt8]
        do {
            answer = try request(.GET, "/subjects/\(Self.escape(subject))/versions/latest", body: [])
        } catch  where error.status == 404 {
            return nil
        }
        let id = try Self.id(in: answer)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(answer))) as? [String: Any],
            let version = object["version"] as? Int, let schema = object["schema"] as? String
        else {
            throw Failure(
                status: 200, code: nil,
                message:
                    "schema registry answered without a version or schema: \(String(decoding: answer.prefix(200), as: UTF8.self))"
            )
        }
        return (id, version, schema)
    }

    /// The registry's compatibility level (`GET /config`): proof that it answers and accepts the credentials.
    public func compatibilityLevel() throws(Failure) -> String {
        let answer = try request(.GET, "/config", body: [])
        let object = (try? JSONSerialization.jsonObject(with: Data(answer))) as? [String: Any]
        return object?["compatibilityLevel"] as? String ?? "unknown"
    }

    public func close() {
        try? client.syncShutdown()
    }

    // MARK: Requests

    private func request(_ method: HTTPMethod, _ path: String, body: [UInt8]) throws(Failure) -> [UInt8] {
        var last = Failure(status: nil, code: nil, message: "no schema registry URL is set")
        for base in settings.urls {
            let url = (base.hasSuffix("/") ? String(base.dropLast()) : base) + path
            do {
                let request = try HTTPClient.Request(
                    url: url, method: method, headers: headers, body: body.isEmpty ? nil : .bytes(body))
                let deadline = NIODeadline.now() + Self.timeAmount(settings.timeout)
                let response = try client.execute(request: request, deadline: deadline).wait()
                let bytes = response.body.map { Array($0.readableBytesView) } ?? []
                guard (200..<300).contains(Int(response.status.code)) else {
                    throw Self.failure(status: Int(response.status.code), body: bytes, url: url)
                }
                return bytes
            } catch let failure as Failure {
                // An answer that is an error is the registry's word: another URL would say the same.
                guard failure.isTransient else { throw failure }
                last = failure
            } catch {
                last = Failure(status: nil, code: nil, message: "schema registry \(base) cannot be reached: \(error)")
            }
        }
        throw last
    }

    /// A duration as NIO's time amount, whole milliseconds, at least one.
    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(max(1, milliseconds))
    }

    static func failure(status: Int, body: [UInt8], url: String) -> Failure {
        let answer = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        let code = answer?["error_code"] as? Int
        let message = answer?["message"] as? String ?? String(decoding: body.prefix(200), as: UTF8.self)
        return Failure(status: status, code: code, message: "schema registry answered \(status) to \(url): \(message)")
    }

    static func id(in body: [UInt8]) throws(Failure) -> Int32 {
        guard let answer = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let id = answer["id"] as? Int, let value = Int32(exactly: id)
        else {
            throw Failure(
                status: 200, code: nil,
                message: "schema registry answered without an id: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        return value
    }

    static func body(_ schema: String) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: ["schema": schema])) ?? Data()
        return Array(data)
    }

    /// A subject as one path segment.
    static func escape(_ subject: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return subject.addingPercentEncoding(withAllowedCharacters: allowed) ?? subject
    }
}
