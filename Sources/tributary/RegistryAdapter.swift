import Connector
import SchemaRegistryClient

/// The schema registry client as the connector's `SchemaRegistry`: its answers sorted into refusals (through
/// `errors.mode`), an unreachable registry (retried from the slot) and refused credentials.
final class RegistryAdapter: SchemaRegistry, Sendable {
    private let client: SchemaRegistryClient

    init(_ settings: ConnectorConfig.SchemaRegistry) throws {
        client = try SchemaRegistryClient(
            SchemaRegistryClient.Settings(
                urls: settings.urls, basicAuth: settings.basicAuth, bearerToken: settings.bearerToken,
                caFile: settings.caFile, certFile: settings.certFile, keyFile: settings.keyFile, timeout: settings.timeout))
    }

    func id(subject: String, schema: String, register: Bool) throws(SchemaRegistryError) -> Int32 {
        try translating {
            if register { return try client.register(subject: subject, schema: schema) }
            guard let id = try client.lookup(subject: subject, schema: schema) else {
                throw SchemaRegistryError(
                    .refused,
                    "subject \(subject) does not hold this schema, and schema_registry.auto_register is false: register it, "
                        + "or let the connector register it")
            }
            return id
        }
    }

    func latest(subject: String) throws(SchemaRegistryError) -> RegisteredSchema {
        try translating {
            guard let latest = try client.latest(subject: subject) else {
                throw SchemaRegistryError(
                    .refused,
                    "subject \(subject) has no version, and schema_registry.use_latest_version is on: register its schema "
                        + "first")
            }
            return RegisteredSchema(id: latest.id, version: latest.version, schema: latest.schema)
        }
    }

    /// The client's failures as the connector sorts them.
    private func translating<T>(_ body: () throws -> T) throws(SchemaRegistryError) -> T {
        do {
            return try body()
        } catch let error as SchemaRegistryError {
            throw error
        } catch let failure as SchemaRegistryClient.Failure {
            let kind: SchemaRegistryError.Kind =
                failure.isTransient ? .unavailable : failure.isUnauthorized ? .unauthorized : .refused
            throw SchemaRegistryError(kind, failure.message, code: failure.code)
        } catch {
            throw SchemaRegistryError(.unavailable, "\(error)")
        }
    }

    /// The registry's compatibility level, for `tributary check`.
    func compatibilityLevel() throws -> String {
        try client.compatibilityLevel()
    }

    func close() {
        client.close()
    }
}
