// Kafka figures for /metrics: records per topic both ways, produce latency, consumer lag,
// and fan-out latency from a record's Kafka timestamp to its last socket write.
import Foundation
import Prometheus

final class KafkaMetrics: Sendable {
    private let consumedByTopic: [String: Counter]
    private let producedByTopic: [String: Counter]
    private let produceLatency: DurationHistogram
    private let fanoutLatency: DurationHistogram
    private let lagByTopic: [String: Gauge]
    private let up: Gauge

    private static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init(registry: PrometheusCollectorRegistry, consumedTopics: [String], producedTopics: [String]) {
        func counters(_ name: String, _ help: String, _ topics: [String]) -> [String: Counter] {
            Dictionary(uniqueKeysWithValues: topics.map { topic in
                (topic, registry.makeCounter(
                    descriptor: .init(metricName: name, unitName: "", helpText: help), labels: [("topic", topic)]))
            })
        }
        consumedByTopic = counters("stadium_kafka_records_consumed_total", "Kafka records fanned out", consumedTopics)
        producedByTopic = counters("stadium_kafka_records_produced_total", "Client pubs acknowledged by Kafka", producedTopics)
        lagByTopic = Dictionary(uniqueKeysWithValues: consumedTopics.map { topic in
            (topic, registry.makeGauge(
                descriptor: .init(metricName: "stadium_kafka_consumer_lag", unitName: "", helpText: "Records not yet consumed"),
                labels: [("topic", topic)]))
        })
        produceLatency = registry.makeDurationHistogram(
            descriptor: .init(metricName: "stadium_kafka_produce_latency", unitName: "seconds", helpText: "Pub to Kafka acknowledgement"),
            buckets: Self.latencyBuckets)
        fanoutLatency = registry.makeDurationHistogram(
            descriptor: .init(metricName: "stadium_fanout_latency", unitName: "seconds", helpText: "Kafka timestamp to the last socket write"),
            buckets: Self.latencyBuckets)
        up = registry.makeGauge(descriptor: .init(metricName: "stadium_kafka_up", unitName: "", helpText: "1 when Kafka is reachable"))
    }

    func consumed(topic: String) {
        consumedByTopic[topic]?.increment()
    }

    /// Pubs to topics not listed at start are still produced, just not counted per topic.
    func produced(topic: String, latency: Duration) {
        producedByTopic[topic]?.increment()
        produceLatency.record(latency)
    }

    func fannedOut(originMilliseconds: Int64) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        fanoutLatency.record(.milliseconds(max(0, now - originMilliseconds)))
    }

    func refresh(lag: [String: Int64], kafkaUp: Bool) {
        for (topic, value) in lag { lagByTopic[topic]?.set(Double(value)) }
        up.set(kafkaUp ? 1.0 : 0.0)
    }
}
