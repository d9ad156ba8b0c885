internal import CRdKafka
import Foundation

/// Builds an `rd_kafka_conf_t` from string properties.
///
/// - Important: the returned pointer is owned by the caller until `rd_kafka_new` succeeds,
///   which takes it over; on failure the caller must `rd_kafka_conf_destroy` it.
enum RDKafkaConfig {
    static func make(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: KafkaError.Code.unknown, message: "rd_kafka_conf_new failed")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                var reason = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                if isSecret(key), !value.isEmpty { reason = reason.replacingOccurrences(of: value, with: "****") }
                throw KafkaError(code: KafkaError.Code.invalidArgument, message: "Kafka property \(key): \(reason)")
            }
        }
        return conf
    }

    /// Creates a client of `type`; takes ownership of `conf` on success and destroys it on failure.
    static func client(_ type: rd_kafka_type_t, conf: OpaquePointer) throws(KafkaError) -> OpaquePointer {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            // rd_kafka_new frees the conf only on success.
            rd_kafka_conf_destroy(conf)
            let reason = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError(code: KafkaError.Code.unknown, message: "cannot create Kafka client: \(reason)")
        }
        return handle
    }

    /// Properties whose values must never appear in a message (passwords, keys, JAAS configs).
    static func isSecret(_ key: String) -> Bool {
        ["password", "secret", "jaas", "ssl.key.pem", "private.key", "token"].contains { key.contains($0) }
    }

    static func errorText(_ code: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(code))
    }
}
