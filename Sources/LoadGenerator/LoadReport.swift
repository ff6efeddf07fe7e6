// What a run measured: counts, latency percentiles, loss; as JSON (--report) and as a table.
import Foundation
import Histogram

public struct LatencySummary: Codable, Equatable, Sendable {
    public var count: UInt64
    public var minMs: Double
    public var meanMs: Double
    public var p50Ms: Double
    public var p90Ms: Double
    public var p99Ms: Double
    public var p999Ms: Double
    public var maxMs: Double

    public init(_ histogram: Histogram<UInt64>) {
        func ms(_ microseconds: UInt64) -> Double { (Double(microseconds) / 1000 * 1000).rounded() / 1000 }
        count = histogram.totalCount
        minMs = ms(histogram.min)
        meanMs = (histogram.mean / 1000 * 1000).rounded() / 1000
        p50Ms = ms(histogram.valueAtPercentile(50))
        p90Ms = ms(histogram.valueAtPercentile(90))
        p99Ms = ms(histogram.valueAtPercentile(99))
        p999Ms = ms(histogram.valueAtPercentile(99.9))
        maxMs = ms(histogram.max)
    }
}

/// Delivery latency of the probes numbered firstProbe ..< firstProbe + probes.
public struct DeliveryWindow: Codable, Equatable, Sendable {
    public var firstProbe: Int
    public var probes: Int
    public var latency: LatencySummary
}

public struct LoadReport: Codable, Equatable, Sendable {
    public var mode: String
    public var url: String
    public var connections: Int
    /// Requested connects per second; 0 means as fast as possible.
    public var rate: Double
    public var rings: Int
    public var boundSources: Bool
    public var durationSeconds: Double
    /// From the first connect until every connection of the ramp was connected (nil if never).
    public var rampSeconds: Double?
    public var connectsPerSecond: Double?
    public var counters: [String: Int]
    /// Keyed by LatencyMetric raw values; metrics with no samples are left out.
    public var latencies: [String: LatencySummary]
    public var loss: LossSummary?
    /// Players mode: one entry per question seen, oldest first; the last may still be open.
    public var rounds: [RoundTally]
    /// One sample per progress line, for `make plots`.
    public var timeline: [ProgressSample]
    /// Players mode: every player's questions, acks and results, each accounted on its own.
    public var players: PlayerSummary?
    /// Whether the run passed (the exit status says the same); nil in reports older than it.
    public var verdict: RunVerdict?
    /// Fan-out: delivery latency per window of probes, oldest first (nil in older reports).
    public var deliveryWindows: [DeliveryWindow]?

    public init(
        mode: String, url: String, connections: Int, rate: Double, rings: Int, boundSources: Bool,
        durationSeconds: Double, rampSeconds: Double?, counters: [String: Int],
        latencies: [LatencyMetric: Histogram<UInt64>], loss: LossSummary?, rounds: [RoundTally] = [],
        timeline: [ProgressSample] = [], players: PlayerSummary? = nil, verdict: RunVerdict? = nil,
        deliveryWindows: [Int: Histogram<UInt64>] = [:]
    ) {
        self.mode = mode
        self.url = url
        self.connections = connections
        self.rate = rate
        self.rings = rings
        self.boundSources = boundSources
        self.durationSeconds = (durationSeconds * 1000).rounded() / 1000
        self.rampSeconds = rampSeconds.map { ($0 * 1000).rounded() / 1000 }
        connectsPerSecond = rampSeconds.flatMap { $0 > 0 ? (Double(connections) / $0).rounded() : nil }
        self.counters = counters
        var summaries: [String: LatencySummary] = [:]
        for (metric, histogram) in latencies where histogram.totalCount > 0 {
            summaries[metric.rawValue] = LatencySummary(histogram)
        }
        self.latencies = summaries
        self.loss = loss
        self.rounds = rounds
        self.timeline = timeline
        self.players = players
        self.verdict = verdict
        self.deliveryWindows = deliveryWindows.isEmpty ? nil : deliveryWindows.keys.sorted().map { window in
            DeliveryWindow(
                firstProbe: window * LatencyRecorder.probesPerWindow, probes: LatencyRecorder.probesPerWindow,
                latency: LatencySummary(deliveryWindows[window]!))
        }
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }

    public static func read(from path: String) throws -> LoadReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(LoadReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The summary printed at the end of a run.
    public var table: String {
        var lines: [String] = []
        lines.append("mode \(mode), \(connections) connection(s) to \(url), \(rings) ring(s), sources \(boundSources ? "bound explicitly" : "chosen by the kernel")")
        var timing = String(format: "ran %.1f s", durationSeconds)
        if let rampSeconds, let connectsPerSecond {
            timing += String(format: "; all connected after %.2f s (%.0f connects/s)", rampSeconds, connectsPerSecond)
        }
        lines.append(timing)
        let nonZero = counters.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        lines.append(nonZero.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        if !latencies.isEmpty {
            lines.append(Self.row(["latency (ms)", "count", "p50", "p90", "p99", "p99.9", "max"]))
            for metric in LatencyMetric.allCases {
                guard let summary = latencies[metric.rawValue] else { continue }
                lines.append(Self.row([
                    metric.rawValue, String(summary.count), Self.number(summary.p50Ms), Self.number(summary.p90Ms),
                    Self.number(summary.p99Ms), Self.number(summary.p999Ms), Self.number(summary.maxMs),
                ]))
            }
        }
        if let loss {
            lines.append("loss: \(loss.missing) of \(loss.expected) expected deliveries missing "
                + "(\(loss.connectionsWithLoss) connection(s) affected), \(loss.duplicates) duplicate(s)")
        }
        for round in rounds { lines.append(round.summary) }
        if let players {
            lines.append("players: \(players.players), questions received \(players.questionsReceived), missed \(players.questionsMissed), "
                + "duplicated \(players.questionDuplicates); answers \(players.answersSent), acks missing \(players.acksMissing), "
                + "results missing \(players.resultsMissing), ack/result duplicates \(players.ackDuplicates + players.resultDuplicates), "
                + "unexpected \(players.unexpected), in flight at the stop \(players.answersInFlight); "
                + "\(players.playersWithLoss) player(s) with loss, \(players.playersWithDuplicates) with duplicates")
        }
        if let verdict {
            lines.append(verdict.passed
                ? "verdict: passed (connection failures \(verdict.connectionFailures), lost \(verdict.lost), duplicates \(verdict.duplicates))"
                : "verdict: FAILED: " + verdict.failures.joined(separator: "; "))
        }
        return lines.joined(separator: "\n")
    }

    private static func number(_ value: Double) -> String {
        String(format: value < 10 ? "%.3f" : "%.1f", value)
    }

    private static func row(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == 0 ? cell.padding(toLength: 18, withPad: " ", startingAt: 0) : String(repeating: " ", count: max(0, 10 - cell.count)) + cell
        }.joined()
    }
}

/// Connections and deliveries at one moment of a run.
public struct ProgressSample: Codable, Equatable, Sendable {
    public var seconds: Double
    public var open: Int
    public var subscribed: Int
    /// Messages, probes, questions and results received so far.
    public var received: Int

    public init(seconds: Double, open: Int, subscribed: Int, received: Int) {
        self.seconds = (seconds * 1000).rounded() / 1000
        self.open = open
        self.subscribed = subscribed
        self.received = received
    }
}
