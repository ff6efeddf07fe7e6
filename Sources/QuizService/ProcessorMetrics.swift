import Prometheus
import Quiz
import Synchronization

/// The processors' Prometheus metrics. The engine keeps plain counters (it is pure); at each
/// scrape the registry's counters are advanced by what changed since the previous scrape.
final class ProcessorMetrics: Sendable {
    struct Counters {
        var rounds: Int
        var answersScored: Int
        var lateAnswers: Int
        var duplicateAnswers: Int
        var resultsProduced: Int
        var topReplies: Int
        var snapshots: Int
        var users: Int
        var badAnswers: [BadInputReason: Int]
        var badGetTops: [BadInputReason: Int]
        /// With --cluster: `quiz-tops` records that are not a partition's top.
        var badTops = 0
        /// With --cluster: changelog and result records a partition's restore could not use.
        var restoreRejects = 0

        static let zero = Counters(
            rounds: 0, answersScored: 0, lateAnswers: 0, duplicateAnswers: 0, resultsProduced: 0, topReplies: 0,
            snapshots: 0, users: 0, badAnswers: [:], badGetTops: [:])

        /// Adds what one engine counted (rounds and users are the caller's).
        mutating func add(_ engine: QuizEngine) {
            answersScored += engine.answersScored
            lateAnswers += engine.lateAnswers
            duplicateAnswers += engine.duplicateAnswers
            resultsProduced += engine.resultsProduced
            topReplies += engine.topRepliesProduced
            snapshots += engine.snapshotsProduced
            badAnswers.merge(engine.badAnswers, uniquingKeysWith: +)
            badGetTops.merge(engine.badGetTops, uniquingKeysWith: +)
        }
    }

    static let shared = ProcessorMetrics()

    private let registry = PrometheusCollectorRegistry()
    private let exported = Mutex<[String: Int]>([:])
    private let counters: [String: Counter]
    private let users: Gauge

    private init() {
        var counters: [String: Counter] = [:]
        let plain: [(String, String)] = [
            ("quiz_rounds_total", "Questions published."),
            ("quiz_answers_scored_total", "Answers counted (first answer of a user to a question)."),
            ("quiz_late_answers_total", "Counted answers after the deadline (scored 0)."),
            ("quiz_duplicate_answers_total", "Answers ignored because the user had already answered."),
            ("quiz_results_produced_total", "Records produced on topic result."),
            ("quiz_top_replies_total", "Records produced on topic top."),
            ("quiz_snapshots_total", "Snapshots produced on topic quiz-state."),
            ("quiz_failed_deliveries_total", "Produced records Kafka did not acknowledge."),
            ("quiz_produce_errors_total", "Records the producer refused."),
            ("quiz_bad_tops_total", "quiz-tops records that are not a partition's top (--cluster)."),
            ("quiz_restore_rejected_total", "Changelog and result records a partition's restore could not use (--cluster)."),
        ]
        for (name, help) in plain {
            counters[name] = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: [])
        }
        for reason in BadInputReason.allCases {
            counters["bad_answer.\(reason.rawValue)"] = registry.makeCounter(
                descriptor: Self.descriptor("quiz_bad_answers_total", "Rejected answer records."),
                labels: [("reason", reason.rawValue)]
            )
            counters["bad_gettop.\(reason.rawValue)"] = registry.makeCounter(
                descriptor: Self.descriptor("quiz_bad_gettop_total", "Rejected gettop records."),
                labels: [("reason", reason.rawValue)]
            )
        }
        self.counters = counters
        users = registry.makeGauge(
            descriptor: Self.descriptor("quiz_users", "Users with at least one counted answer."), labels: []
        )
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func render(_ current: Counters, failedDeliveries: Int, produceErrors: Int) -> [UInt8] {
        var values: [String: Int] = [
            "quiz_rounds_total": current.rounds,
            "quiz_answers_scored_total": current.answersScored,
            "quiz_late_answers_total": current.lateAnswers,
            "quiz_duplicate_answers_total": current.duplicateAnswers,
            "quiz_results_produced_total": current.resultsProduced,
            "quiz_top_replies_total": current.topReplies,
            "quiz_snapshots_total": current.snapshots,
            "quiz_failed_deliveries_total": failedDeliveries,
            "quiz_produce_errors_total": produceErrors,
            "quiz_bad_tops_total": current.badTops,
            "quiz_restore_rejected_total": current.restoreRejects,
        ]
        for reason in BadInputReason.allCases {
            values["bad_answer.\(reason.rawValue)"] = current.badAnswers[reason] ?? 0
            values["bad_gettop.\(reason.rawValue)"] = current.badGetTops[reason] ?? 0
        }
        exported.withLock { exported in
            for (name, value) in values {
                let delta = value - (exported[name] ?? 0)
                if delta > 0 { counters[name]?.increment(by: Int64(delta)) }
                exported[name] = value
            }
        }
        users.set(Double(current.users))
        return registry.emitToBuffer()
    }
}
