import CRdKafka
import Logging

/// librdkafka's in-memory Kafka-protocol cluster, listening on loopback at ports the system picks.
/// Fast to tail; slow to replay a large backlog (about 2,350 records/s from offset 0).
public final class DevelopmentCluster: @unchecked Sendable {
    /// Kafka protocol requests that fault injection can target (the protocol's ApiKey values).
    public enum Request: Int16, Sendable {
        case produce = 0
        case fetch = 1
        case listOffsets = 2
        case metadata = 3
        case offsetCommit = 8
        case offsetFetch = 9
        case findCoordinator = 10
        case joinGroup = 11
        case heartbeat = 12
        case initProducerId = 22
    }

    // The cluster needs a client handle to live in; this one is used for nothing else.
    private let host: KafkaHandle
    private let cluster: OpaquePointer
    public let brokerCount: Int
    /// `host:port[,host:port...]` for `bootstrap.servers`.
    public let bootstrapServers: String

    /// Starts `brokers` brokers (ids 1...brokers) and creates `topics` with `partitions` partitions each.
    public init(
        brokers: Int = 1, partitions: Int = 3, topics: [String],
        logger: Logger = Logger(label: "stadium.kafka.dev-cluster")
    ) throws(KafkaError) {
        host = try KafkaHandle(role: .producer, config: KafkaConfig(), events: HandleEvents(logger: logger))
        guard let cluster = rd_kafka_mock_cluster_new(host.pointer, Int32(brokers)) else {
            throw .stadium(.librdkafka, "could not start a mock cluster of \(brokers) brokers", operation: "rd_kafka_mock_cluster_new")
        }
        self.cluster = cluster
        brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        for topic in topics {
            try createTopic(topic, partitions: partitions)
        }
    }

    deinit {
        // The cluster goes before the handle it lives in.
        rd_kafka_mock_cluster_destroy(cluster)
    }

    public func createTopic(_ name: String, partitions: Int) throws(KafkaError) {
        let replication = Int32(min(brokerCount, 3))
        let result = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), replication)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, message: "creating topic \(name): \(String(cString: rd_kafka_err2str(result)))", operation: "rd_kafka_mock_topic_create")
        }
    }

    /// Closes the broker's connections and refuses new ones until `setBrokerUp`.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        let result = rd_kafka_mock_broker_set_down(cluster, id)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, operation: "rd_kafka_mock_broker_set_down")
        }
    }

    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        let result = rd_kafka_mock_broker_set_up(cluster, id)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, operation: "rd_kafka_mock_broker_set_up")
        }
    }

    /// The next `errors.count` requests of this kind, to any broker, fail with these codes in order.
    public func failNextRequests(_ request: Request, with errors: [KafkaError.Code]) {
        let codes = errors.map(\.cValue)
        codes.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, request.rawValue, buffer.count, buffer.baseAddress)
        }
    }

    /// Delays every response of broker `id` by `milliseconds`.
    public func setRoundTripTime(broker id: Int32, milliseconds: Int32) throws(KafkaError) {
        let result = rd_kafka_mock_broker_set_rtt(cluster, id, milliseconds)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, operation: "rd_kafka_mock_broker_set_rtt")
        }
    }
}
