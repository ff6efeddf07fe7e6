// Event counts of a run, bumped from the connector and ring threads, read by the reporter.
import Synchronization

public enum LoadCounter: String, CaseIterable, Codable, Sendable {
    case connectAttempts = "connect_attempts"
    case connected
    case connectFailures = "connect_failures"
    case sourceEndpointsBusy = "source_endpoints_busy"
    case handshakes
    case handshakeFailures = "handshake_failures"
    case protocolErrors = "protocol_errors"
    case disconnects
    case subscribed
    case messages
    case retained
    /// `gap` messages: a reconnect's `since` was older than the gateway's history.
    case gaps
    case errors
    case questions
    case answersSent = "answers_sent"
    case answerAcks = "answer_acks"
    case results
    case correctResults = "correct_results"
    case leaderboardRequests = "leaderboard_requests"
    case leaderboards
    case probesPublished = "probes_published"
    case probeAcks = "probe_acks"
    case probesReceived = "probes_received"
    /// Probes an outside producer scheduled before this run began (an earlier run's, on a shared broker): ignored.
    case staleProbes = "stale_probes"
    /// Questions, acks or results a player received again (or never asked for): counted, not played.
    case duplicates
}

public final class LoadCounters: Sendable {
    /// A class per counter: an array cannot hold the non-copyable Atomic itself.
    private final class Cell: Sendable {
        let value = Atomic<Int>(0)
    }

    private let values: [Cell]

    public init() {
        values = LoadCounter.allCases.map { _ in Cell() }
    }

    public func add(_ counter: LoadCounter, _ amount: Int = 1) {
        values[Self.position(counter)].value.wrappingAdd(amount, ordering: .relaxed)
    }

    public subscript(_ counter: LoadCounter) -> Int {
        values[Self.position(counter)].value.load(ordering: .relaxed)
    }

    public func snapshot() -> [String: Int] {
        var result: [String: Int] = [:]
        for counter in LoadCounter.allCases { result[counter.rawValue] = self[counter] }
        return result
    }

    private static let positions: [LoadCounter: Int] = Dictionary(
        uniqueKeysWithValues: LoadCounter.allCases.enumerated().map { ($1, $0) })

    private static func position(_ counter: LoadCounter) -> Int {
        positions[counter]!
    }
}
