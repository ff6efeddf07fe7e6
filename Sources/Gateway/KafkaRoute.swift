// Client pubs become Kafka records; the client hears `ok` only once Kafka acknowledged the
// record (acks=all), or an `err` saying why not.
import Foundation
import KafkaClient
import Prometheus
import StadiumProtocol
import Synchronization
import UringIO

final class KafkaRoute: PublishRoute, @unchecked Sendable {
    fileprivate struct Pending: Sendable {
        let address: ReplyAddress
        let topic: String
        let started: ContinuousClock.Instant
    }

    private let hub: FanoutHub
    private let metrics: GatewayMetrics
    private let kafkaMetrics: KafkaMetrics
    private let gatewayName: [UInt8]
    /// Pubs awaiting Kafka, sharded by ring: one map under one lock was a quarter of the
    /// gateway's time with 51 rings on 2 cores at a million players.
    private let pendingShards = (0..<KafkaRoute.shardCount).map { _ in PendingShard() }
    private static let shardCount = 64
    private static let shardShift: UInt64 = 56
    private let nextToken = Atomic<UInt64>(1)
    /// Pubs whose `ok` or `err` is not yet in a ring's inbox.
    private let unanswered = Atomic<Int>(0)
    private var producer: KafkaProducer!

    init(config: KafkaConfig, gatewayName: String, hub: FanoutHub, metrics: GatewayMetrics, kafkaMetrics: KafkaMetrics) throws(KafkaError) {
        self.hub = hub
        self.metrics = metrics
        self.kafkaMetrics = kafkaMetrics
        self.gatewayName = Array(gatewayName.utf8)
        producer = try KafkaProducer(config: config) { [weak self] token, result in
            self?.delivered(token: token, result)
        }
    }

    var connectivity: BrokerConnectivity { producer.connectivity }

    func publish(subject: String, data: RawSpan, user: String?, replyTo: ReplyAddress) {
        let (topic, key) = SubjectMapping.topicAndKey(for: subject)
        let shard = UInt64(replyTo.ring % Self.shardCount)
        let serial = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue & (1 << Self.shardShift - 1)
        let token = shard << Self.shardShift | serial
        unanswered.add(1, ordering: .relaxed)
        pendingShards[Int(shard)].entries.withLock { $0[token] = Pending(address: replyTo, topic: topic, started: .now) }
        let headers: [KafkaHeader] = [
            ("stadium-user", Array((user ?? "anonymous").utf8)), ("stadium-gateway", gatewayName),
        ]
        do {
            var keyText = key
            // librdkafka copies the value: the raw pointer does not outlive this call.
            try data.withUnsafeBytes { value in
                if keyText == nil {
                    try producer.produce(topic: topic, key: nil, value: value, headers: headers, token: token)
                } else {
                    try keyText!.withUTF8 { keyBytes in
                        try producer.produce(
                            topic: topic, key: UnsafeRawBufferPointer(keyBytes), value: value, headers: headers, token: token)
                    }
                }
            }
        } catch {
            // Unless shutdown already abandoned it (and answered it): one reply per pub.
            guard takePending(token) != nil else { return }
            if let error = error as? KafkaError {
                fail(replyTo, error)
            } else {
                reply(replyTo, code: .internal, message: "\(error)")
            }
            unanswered.subtract(1, ordering: .relaxed)
        }
    }

    /// Removes a pub from its shard (named by the token's top bits); nil when already taken.
    private func takePending(_ token: UInt64) -> Pending? {
        pendingShards[Int(token >> Self.shardShift)].entries.withLock { $0.removeValue(forKey: token) }
    }

    /// Delivery reports, on the producer's poll thread.
    /// The reply is posted before the pub stops counting, so `outstanding` reaching 0 means
    /// every answer is in a ring's inbox (shutdown relies on it).
    private func delivered(token: UInt64, _ result: Result<DeliveredRecord, KafkaError>) {
        guard let entry = takePending(token) else { return }
        switch result {
        case .success:
            kafkaMetrics.produced(topic: entry.topic, latency: .now - entry.started)
            metrics.messagesPublished.increment()
            hub.reply(entry.address, .ok(id: entry.address.requestID))
        case .failure(let error):
            fail(entry.address, error)
        }
        unanswered.subtract(1, ordering: .releasing)
    }

    /// At shutdown, after the bounded wait: pubs Kafka never acknowledged get `timeout`, never `ok`.
    func abandonOutstanding() -> Int {
        var abandoned = 0
        for shard in pendingShards {
            // Taken out under the lock: a late delivery report then finds nothing and sends no ok.
            let entries = shard.entries.withLock { entries in
                defer { entries.removeAll() }
                return Array(entries.values)
            }
            for entry in entries {
                metrics.count(.kafkaTimeout)
                reply(entry.address, code: .timeout, message: "gateway shut down before Kafka acknowledged; the record may or may not be written")
                unanswered.subtract(1, ordering: .releasing)
            }
            abandoned += entries.count
        }
        return abandoned
    }

    private func fail(_ address: ReplyAddress, _ error: KafkaError) {
        let timedOut = error.kind == .timedOut || error.name.contains("TIMED_OUT")
        metrics.count(timedOut ? .kafkaTimeout : .kafkaUnavailable)
        if error.kind == .unknownTopic {
            reply(address, code: .badSubject, message: "no Kafka topic for this subject: \(error.message)")
        } else if timedOut {
            reply(address, code: .timeout, message: "Kafka did not acknowledge in time: \(error.message)")
        } else {
            reply(address, code: .kafkaUnavailable, message: "Kafka refused the record: \(error.message)")
        }
    }

    private func reply(_ address: ReplyAddress, code: ErrorCode, message: String) {
        hub.reply(address, .error(id: address.requestID, code: code, message: message))
    }

    /// Waits (bounded) until every record produced so far has its delivery report.
    func flush(timeout: Duration) {
        try? producer.flush(timeout: timeout)
    }

    var outstanding: Int { unanswered.load(ordering: .acquiring) }
}

/// One shard of the pubs awaiting Kafka's acknowledgement, by token.
private final class PendingShard: Sendable {
    let entries = Mutex<[UInt64: KafkaRoute.Pending]>([:])
}
