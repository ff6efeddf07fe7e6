// Per-question tallies of one ring's bots; the run merges every ring's ledger for its round
// lines and its report (one shared ledger's lock took most of the time with 53 rings on 2 cores).
import Synchronization

public struct RoundTally: Codable, Equatable, Sendable {
    public let questionIDJSON: [UInt8]
    public var deliveries = 0
    /// Slowest delivery so far (ms from published_ms to receipt): when the last bot had it.
    public var slowestDeliveryMs: Int64 = 0
    public var answers = 0
    public var acks = 0
    public var results = 0
    public var correct = 0
    /// Questions, acks and results of this round that a player received a second time.
    public var duplicates = 0
    /// Wall-clock ms of the first delivery; orders rounds when ledgers are merged (not reported).
    public var openedMs: Int64 = 0

    public init(questionIDJSON: [UInt8], openedMs: Int64 = 0) {
        self.questionIDJSON = questionIDJSON
        self.openedMs = openedMs
    }

    /// Another ring's tally of the same question added to this one.
    mutating func add(_ other: RoundTally) {
        deliveries += other.deliveries
        slowestDeliveryMs = max(slowestDeliveryMs, other.slowestDeliveryMs)
        answers += other.answers
        acks += other.acks
        results += other.results
        correct += other.correct
        duplicates += other.duplicates
        openedMs = min(openedMs, other.openedMs)
    }

    private enum CodingKeys: String, CodingKey {
        case questionId, deliveries, slowestDeliveryMs, answers, acks, results, correct, duplicates
    }

    /// The id as JSON text in the report (`"q017-r42"` or `17`), so reports read like the protocol.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(decoding: questionIDJSON, as: UTF8.self), forKey: .questionId)
        try container.encode(deliveries, forKey: .deliveries)
        try container.encode(slowestDeliveryMs, forKey: .slowestDeliveryMs)
        try container.encode(answers, forKey: .answers)
        try container.encode(acks, forKey: .acks)
        try container.encode(results, forKey: .results)
        try container.encode(correct, forKey: .correct)
        try container.encode(duplicates, forKey: .duplicates)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        questionIDJSON = Array(try container.decode(String.self, forKey: .questionId).utf8)
        deliveries = try container.decode(Int.self, forKey: .deliveries)
        slowestDeliveryMs = try container.decode(Int64.self, forKey: .slowestDeliveryMs)
        answers = try container.decode(Int.self, forKey: .answers)
        acks = try container.decode(Int.self, forKey: .acks)
        results = try container.decode(Int.self, forKey: .results)
        correct = try container.decode(Int.self, forKey: .correct)
        // Reports written before duplicates were counted have none.
        duplicates = try container.decodeIfPresent(Int.self, forKey: .duplicates) ?? 0
    }

    public var summary: String {
        let id = String(decoding: questionIDJSON, as: UTF8.self)
        return "round \(id): question reached \(deliveries) bot(s), the last after \(slowestDeliveryMs) ms; "
            + "answers sent \(answers), acked \(acks); results \(results), correct \(correct)"
            + (duplicates > 0 ? "; duplicates \(duplicates)" : "")
    }
}

public final class RoundLedger: Sendable {
    private struct State {
        /// The latest rounds, still updated by late acks and results.
        var rounds: [RoundTally] = []
        /// Older rounds, kept for the report (bounded: a demo's bots run for days).
        var retired: [RoundTally] = []
    }

    private let state = Mutex(State())
    private let keptRounds = 8
    private let retiredLimit = 10_000

    public init() {}

    /// Counts a delivery received at `nowMs` (wall clock).
    public func questionDelivered(_ questionIDJSON: [UInt8], delayMs: Int64?, nowMs: Int64) {
        state.withLock { state in
            if position(of: questionIDJSON, in: state) == nil {
                state.rounds.append(RoundTally(questionIDJSON: questionIDJSON, openedMs: nowMs))
                if state.rounds.count > keptRounds {
                    state.retired.append(state.rounds.removeFirst())
                    if state.retired.count > retiredLimit { state.retired.removeFirst() }
                }
            }
            let index = position(of: questionIDJSON, in: state)!
            state.rounds[index].deliveries += 1
            if let delayMs { state.rounds[index].slowestDeliveryMs = max(state.rounds[index].slowestDeliveryMs, delayMs) }
        }
    }

    public func update(_ questionIDJSON: [UInt8], _ change: (inout RoundTally) -> Void) {
        state.withLock { state in
            guard let index = position(of: questionIDJSON, in: state) else { return }
            change(&state.rounds[index])
        }
    }

    /// Every round this ledger saw, oldest first; all but the last were closed by the next question.
    public var allRounds: [RoundTally] {
        state.withLock { $0.retired + $0.rounds }
    }

    /// Every ledger's rounds, each question's tallies added together, in the order they opened.
    public static func merged(_ ledgers: [RoundLedger]) -> [RoundTally] {
        var rounds: [RoundTally] = []
        var position: [[UInt8]: Int] = [:]
        for ledger in ledgers {
            for tally in ledger.allRounds {
                if let index = position[tally.questionIDJSON] {
                    rounds[index].add(tally)
                } else {
                    position[tally.questionIDJSON] = rounds.count
                    rounds.append(tally)
                }
            }
        }
        return rounds.sorted { $0.openedMs < $1.openedMs }
    }

    private func position(of id: [UInt8], in state: State) -> Int? {
        state.rounds.lastIndex { $0.questionIDJSON == id }
    }
}
