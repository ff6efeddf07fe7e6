// Client pubs become Kafka records; the client hears `ok` only once Kafka acknowledged the
// record (acks=all), or an `err` saying why not.
import Foundation
import KafkaClient
import Prometheus
import StadiumProtocol
import Synchronization
import UringIO

final class KafkaRoute: PublishRoute, @unchecked Sendable {
    private struct Pending {
        let address: ReplyAddress
        let topic: String
        let started: ContinuousClock.Instant
    }

    private let hub: FanoutHub
    private let writer: FrameWriter
    private let metrics: GatewayMetrics
    private let kafkaMetrics: KafkaMetrics
    private let gatewayName: [UInt8]
    private let pending = Mutex<[UInt64: Pending]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private var producer: KafkaProducer!

    init(config: KafkaConfig, gatewayName: String, hub: FanoutHub, metrics: GatewayMetrics, kafkaMetrics: KafkaMetrics) throws(KafkaError) {
        self.hub = hub
        self.writer = FrameWriter(frames: hub.frames)
        self.metrics = metrics
        self.kafkaMetrics = kafkaMetrics
        self.gatewayName = Array(gatewayName.utf8)
        producer = try KafkaProducer(config: config) { [weak self] token, result in
            self?.delivered(token: token, result)
        }
    }

    var connectivity: BrokerConnectivity { producer.connectivity }

    func publish(subject: String, data: UnsafeRawBufferPointer, user: String?, replyTo: ReplyAddress) {
        let (topic, key) = SubjectMapping.topicAndKey(for: subject)
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        pending.withLock { $0[token] = Pending(address: replyTo, topic: topic, started: .now) }
        let headers: [KafkaHeader] = [
            ("stadium-user", Array((user ?? "anonymous").utf8)), ("stadium-gateway", gatewayName),
        ]
        do {
            var keyText = key
            if keyText == nil {
                try producer.produce(topic: topic, key: nil, value: data, headers: headers, token: token)
            } else {
                try keyText!.withUTF8 { keyBytes in
                    try producer.produce(
                        topic: topic, key: UnsafeRawBufferPointer(keyBytes), value: data, headers: headers, token: token)
                }
            }
        } catch let error as KafkaError {
            pending.withLock { _ = $0.removeValue(forKey: token) }
            fail(replyTo, error)
        } catch {
            pending.withLock { _ = $0.removeValue(forKey: token) }
            reply(replyTo, code: .internal, message: "\(error)")
        }
    }

    /// Delivery reports, on the producer's poll thread.
    /// The reply is posted while the entry is still counted, so `outstanding` reaching 0 means
    /// every answer is in a ring's inbox (shutdown relies on it).
    private func delivered(token: UInt64, _ result: Result<DeliveredRecord, KafkaError>) {
        pending.withLock { pending in
            guard let entry = pending.removeValue(forKey: token) else { return }
            switch result {
            case .success:
                kafkaMetrics.produced(topic: entry.topic, latency: .now - entry.started)
                metrics.messagesPublished.increment()
                if let ok = try? writer.ok(id: entry.address.requestID) { hub.reply(entry.address, frame: ok) }
            case .failure(let error):
                fail(entry.address, error)
            }
        }
    }

    /// At shutdown, after the bounded wait: pubs Kafka never acknowledged get `timeout`, never `ok`.
    func abandonOutstanding() -> Int {
        pending.withLock { pending in
            let abandoned = pending.count
            for entry in pending.values {
                metrics.count(.kafkaTimeout)
                reply(entry.address, code: .timeout, message: "gateway shut down before Kafka acknowledged; the record may or may not be written")
            }
            pending.removeAll()
            return abandoned
        }
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
        if let frame = try? writer.error(id: address.requestID, code: code, message: message) {
            hub.reply(address, frame: frame)
        }
    }

    /// Waits (bounded) until every record produced so far has its delivery report.
    func flush(timeout: Duration) {
        try? producer.flush(timeout: timeout)
    }

    var outstanding: Int { pending.withLock { $0.count } }
}
