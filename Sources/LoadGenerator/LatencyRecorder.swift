// Latency histograms (HdrHistogram, microseconds), one recorder per thread, merged for reports.
import Histogram
import Synchronization

public enum LatencyMetric: String, CaseIterable, Codable, Sendable {
    /// socket + bind + connect, on the connector thread.
    case connect
    /// From adoption into the ring to the server's 101.
    case handshake
    /// From sending sub to its ok.
    case subscribe
    /// Fan-out probe: from `scheduled_ms` in its data to receipt (wall clock, ms resolution).
    case delivery
    /// Question: from `published_ms` in its data to receipt (wall clock, ms resolution).
    case questionDelivery = "question_delivery"
    /// From when a pub (answer or probe) was due to its ok, which means Kafka acknowledged it.
    case publishAck = "publish_ack"
    /// From when an answer was due to receiving its result.
    case answerResult = "answer_result"
    /// From sending /gettop to receiving /top.
    case leaderboard
    /// From when a probe or answer was due to when it went out: the load generator's own
    /// lateness, which the latencies above include because they count from the schedule.
    case sendLag = "send_lag"
}

public final class LatencyRecorder: Sendable {
    /// One hour in microseconds: anything slower is recorded as one hour.
    static let highestMicroseconds: UInt64 = 3_600_000_000
    private let histograms: Mutex<[Histogram<UInt64>]>
    /// Fan-out deliveries again, by window of `probesPerWindow` consecutive probes: latency over
    /// the course of a long run, so a run that got slower as it went cannot hide in one total.
    private let deliveryWindows = Mutex<[Int: Histogram<UInt64>]>([:])
    /// Ten probes: ten seconds at the sustained benchmark's one probe per key a second.
    public static let probesPerWindow = 10

    public init() {
        histograms = Mutex(LatencyMetric.allCases.map { _ in Self.emptyHistogram() })
    }

    /// A fan-out probe's delivery, in the run's total and in its probe window.
    public func recordDelivery(ofProbe index: Int, milliseconds: Int64) {
        record(.delivery, milliseconds: milliseconds)
        let value = UInt64(clamping: max(0, min(milliseconds * 1000, Int64(Self.highestMicroseconds))))
        deliveryWindows.withLock { windows in
            _ = windows[index / Self.probesPerWindow, default: Self.emptyHistogram()].record(value)
        }
    }

    /// Every recorder's delivery windows added together, by window number.
    public static func mergedDeliveryWindows(_ recorders: [LatencyRecorder]) -> [Int: Histogram<UInt64>] {
        var result: [Int: Histogram<UInt64>] = [:]
        for recorder in recorders {
            recorder.deliveryWindows.withLock { windows in
                for (window, histogram) in windows { result[window, default: emptyHistogram()].add(histogram) }
            }
        }
        return result
    }

    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: highestMicroseconds, numberOfSignificantValueDigits: .three)
    }

    public func record(_ metric: LatencyMetric, microseconds: Int64) {
        let value = UInt64(clamping: max(0, min(microseconds, Int64(Self.highestMicroseconds))))
        let position = LatencyMetric.allCases.firstIndex(of: metric)!
        histograms.withLock { _ = $0[position].record(value) }
    }

    public func record(_ metric: LatencyMetric, milliseconds: Int64) {
        record(metric, microseconds: milliseconds * 1000)
    }

    public func snapshot() -> [LatencyMetric: Histogram<UInt64>] {
        histograms.withLock { histograms in
            Dictionary(uniqueKeysWithValues: zip(LatencyMetric.allCases, histograms))
        }
    }

    /// All recorders' histograms added together.
    public static func merged(_ recorders: [LatencyRecorder]) -> [LatencyMetric: Histogram<UInt64>] {
        var result = Dictionary(uniqueKeysWithValues: LatencyMetric.allCases.map { ($0, emptyHistogram()) })
        for recorder in recorders {
            for (metric, histogram) in recorder.snapshot() { result[metric]!.add(histogram) }
        }
        return result
    }
}
