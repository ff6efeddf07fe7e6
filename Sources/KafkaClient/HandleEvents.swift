import CRdKafka
import Foundation
import Logging

/// Where librdkafka's callbacks land. Called on librdkafka's threads (errors, logs) or on the
/// thread that polls the handle (statistics, delivery reports).
final class HandleEvents: @unchecked Sendable {
    let logger: Logger
    let connectivity = BrokerConnectivity()
    // Set once before the handle exists, read only by librdkafka's callbacks afterwards.
    private let deliveryHandler: DeliveryHandler?
    let rebalanceHandler: RebalanceHandler?

    init(logger: Logger, deliveryHandler: DeliveryHandler? = nil, rebalanceHandler: RebalanceHandler? = nil) {
        self.logger = logger
        self.deliveryHandler = deliveryHandler
        self.rebalanceHandler = rebalanceHandler
    }

    func clientError(_ error: KafkaError) {
        if error.code == .allBrokersDown {
            connectivity.markDown(reason: error.message)
        }
        logger.warning("kafka client error", metadata: ["error": "\(error)"])
    }

    func log(level: Int32, facility: String, text: String) {
        // syslog levels: 0 emergency ... 7 debug.
        let swiftLevel: Logger.Level
        switch level {
        case ...3: swiftLevel = .error
        case 4: swiftLevel = .warning
        case 5, 6: swiftLevel = .info
        default: swiftLevel = .debug
        }
        logger.log(level: swiftLevel, "librdkafka \(facility): \(text)")
    }

    func statistics(_ json: UnsafeRawBufferPointer) {
        guard let snapshot = try? JSONDecoder().decode(StatisticsSnapshot.self, from: Data(json)) else { return }
        let upBrokers = snapshot.brokers.values.filter { $0.state == "UP" }.count
        if upBrokers > 0 {
            connectivity.markUp()
        } else {
            connectivity.markDown(reason: "no broker connection is up")
        }
    }

    func delivered(token: UInt64, _ result: Result<DeliveredRecord, KafkaError>) {
        deliveryHandler?(token, result)
    }
}

/// The slice of librdkafka's statistics JSON that says which brokers are connected.
private struct StatisticsSnapshot: Decodable {
    struct Broker: Decodable {
        let state: String
    }
    let brokers: [String: Broker]
}
