internal import CRdKafka

/// An in-process Kafka cluster: librdkafka's mock cluster, which speaks the real Kafka protocol.
///
/// For the demo, tests and `tributary kafka-dev`; production points at a real cluster.
/// - Important: the cluster lives as long as this object; `close()` stops it.
public final class EmbeddedKafka: @unchecked Sendable {
    private var owner: OpaquePointer?
    private var cluster: OpaquePointer?
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokers: Int = 1) throws(KafkaError) {
        // The mock cluster needs a client instance to own it; an idle producer serves.
        let conf = try RDKafkaConfig.make([("client.id", "tributary-embedded-kafka"), ("log_level", "3")])
        let owner = try RDKafkaConfig.client(RD_KAFKA_PRODUCER, conf: conf)
        guard let cluster = rd_kafka_mock_cluster_new(owner, Int32(brokers)) else {
            rd_kafka_destroy(owner)
            throw KafkaError(code: KafkaError.Code.unknown, message: "cannot start the embedded Kafka cluster")
        }
        self.owner = owner
        self.cluster = cluster
        self.brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        close()
    }

    /// Creates a topic with `partitions` partitions (auto-created topics get the mock's default).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        guard let cluster else { throw KafkaError(code: KafkaError.Code.unknown, message: "embedded Kafka is closed") }
        let result = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: result.rawValue, message: "cannot create topic \(name): \(RDKafkaConfig.errorText(result))")
        }
    }

    /// Takes broker `id` (1-based) down: connections to it are closed and new ones refused.
    public func setBrokerDown(_ id: Int) {
        if let cluster { _ = rd_kafka_mock_broker_set_down(cluster, Int32(id)) }
    }

    public func setBrokerUp(_ id: Int) {
        if let cluster { _ = rd_kafka_mock_broker_set_up(cluster, Int32(id)) }
    }

    public func setAllBrokers(up: Bool) {
        for id in 1...brokerCount { up ? setBrokerUp(id) : setBrokerDown(id) }
    }

    /// Delays every response of broker `id` (1-based), or of every broker, by `milliseconds`: a slow or distant cluster.
    public func setRoundTripTime(milliseconds: Int, broker id: Int? = nil) {
        guard let cluster else { return }
        for broker in id.map({ [$0] }) ?? Array(1...brokerCount) {
            _ = rd_kafka_mock_broker_set_rtt(cluster, Int32(broker), Int32(milliseconds))
        }
    }

    /// Makes the next requests of one API (0 = Produce, 1 = Fetch, 3 = Metadata) fail with these Kafka error codes,
    /// one request per code, in order.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        guard let cluster else { return }
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, &codes)
    }

    public func close() {
        if let cluster {
            rd_kafka_mock_cluster_destroy(cluster)
            self.cluster = nil
        }
        if let owner {
            rd_kafka_destroy(owner)
            self.owner = nil
        }
    }
}
