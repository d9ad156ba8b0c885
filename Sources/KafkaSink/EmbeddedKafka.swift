/// An in-process Kafka cluster: librdkafka's mock cluster, which speaks the real Kafka protocol.
///
/// For the demo, tests and `tributary kafka-dev`; production points at a real cluster.
/// - Important: the cluster lives as long as this object; `close()` stops it.
public final class EmbeddedKafka: @unchecked Sendable {
    private let cluster: RDKafkaClient.MockCluster
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokers: Int = 1) throws(KafkaError) {
        cluster = try RDKafkaClient.MockCluster(brokers: brokers)
        brokerCount = brokers
        bootstrapServers = cluster.bootstrapServers
    }

    /// Creates a topic with `partitions` partitions (auto-created topics get the mock's default).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try cluster.createTopic(name, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// Takes broker `id` (1-based) down: connections to it are closed and new ones refused.
    public func setBrokerDown(_ id: Int) {
        cluster.setBroker(id, up: false)
    }

    public func setBrokerUp(_ id: Int) {
        cluster.setBroker(id, up: true)
    }

    public func setAllBrokers(up: Bool) {
        for id in 1...brokerCount { cluster.setBroker(id, up: up) }
    }

    /// Delays every response of broker `id` (1-based), or of every broker, by `milliseconds`: a slow or distant cluster.
    public func setRoundTripTime(milliseconds: Int, broker id: Int? = nil) {
        for broker in id.map({ [$0] }) ?? Array(1...brokerCount) {
            cluster.setRoundTripTime(milliseconds: milliseconds, broker: broker)
        }
    }

    /// Makes the next requests of one API (0 = Produce, 1 = Fetch, 3 = Metadata) fail with these Kafka error codes,
    /// one request per code, in order.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        cluster.pushRequestErrors(apiKey: apiKey, errors: errors)
    }

    public func close() {
        cluster.close()
    }
}
