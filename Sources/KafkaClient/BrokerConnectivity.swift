import Synchronization

/// Whether a client currently reaches Kafka, for health checks.
/// Down on librdkafka's all-brokers-down error or when statistics show no connected broker;
/// up when statistics show one, or a metadata request succeeded.
public final class BrokerConnectivity: Sendable {
    public struct State: Sendable, Equatable {
        public var isUp: Bool
        /// Why Kafka is considered down; nil while up.
        public var reason: String?
        /// How many times the state went from up to down.
        public var outages: Int
    }

    private let state = Mutex(State(isUp: false, reason: "not connected yet", outages: 0))

    public var current: State { state.withLock { $0 } }
    public var isUp: Bool { state.withLock { $0.isUp } }

    func markUp() {
        state.withLock {
            $0.isUp = true
            $0.reason = nil
        }
    }

    func markDown(reason: String) {
        state.withLock {
            if $0.isUp { $0.outages += 1 }
            $0.isUp = false
            $0.reason = reason
        }
    }
}
