// Kafka figures for /metrics: records per topic both ways, produce latency, consumer lag,
// and fan-out latency from a record's Kafka timestamp to its last socket write.
import Prometheus
import UringIO

final class KafkaMetrics: Sendable {
    private let consumedByTopic: [String: Counter]
    private let producedByTopic: [String: Counter]
    private let produceLatency: DurationHistogram
    private let lagByTopic: [String: Gauge]
    private let up: Gauge

    static let latencyBucketsMilliseconds: [Int64] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]
    private static let latencyBuckets = latencyBucketsMilliseconds.map { Duration.milliseconds($0) }

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

    /// `stadium_fanout_latency_seconds` in the Prometheus text format, from the frame pool's
    /// counts (the pool counts on the rings' threads; nothing here runs there per frame).
    static func emitFanoutLatency(_ counts: SendLatencies.Snapshot, into buffer: inout [UInt8]) {
        let name = "stadium_fanout_latency_seconds"
        var text = "# HELP \(name) Kafka timestamp to the last socket write\n# TYPE \(name) histogram\n"
        for (bound, count) in zip(latencyBucketsMilliseconds, counts.cumulative) {
            text += "\(name)_bucket{le=\"\(seconds(bound))\"} \(count)\n"
        }
        text += "\(name)_bucket{le=\"+Inf\"} \(counts.count)\n"
        text += "\(name)_sum \(seconds(Int64(counts.sumMilliseconds)))\n\(name)_count \(counts.count)\n"
        buffer.append(contentsOf: text.utf8)
    }

    /// Milliseconds as decimal seconds: 2500 is 2.5, 1 is 0.001.
    private static func seconds(_ milliseconds: Int64) -> String {
        let fraction = milliseconds % 1000
        guard fraction != 0 else { return "\(milliseconds / 1000).0" }
        let digits = String(fraction + 1000).dropFirst().reversed().drop(while: { $0 == "0" }).reversed()
        return "\(milliseconds / 1000).\(String(digits))"
    }

    func refresh(lag: [String: Int64], kafkaUp: Bool) {
        for (topic, value) in lag { lagByTopic[topic]?.set(Double(value)) }
        up.set(kafkaUp ? 1.0 : 0.0)
    }
}
