// Per-question tallies of the bot fleet, shared by every ring; a round's line is logged
// when the next question arrives.
import Synchronization

public struct RoundTally: Equatable, Sendable {
    public let questionIDJSON: [UInt8]
    public var deliveries = 0
    /// Slowest delivery so far (ms from published_ms to receipt): when the last bot had it.
    public var slowestDeliveryMs: Int64 = 0
    public var answers = 0
    public var acks = 0
    public var results = 0
    public var correct = 0

    public init(questionIDJSON: [UInt8]) {
        self.questionIDJSON = questionIDJSON
    }

    public var summary: String {
        let id = String(decoding: questionIDJSON, as: UTF8.self)
        return "round \(id): question reached \(deliveries) bot(s), the last after \(slowestDeliveryMs) ms; "
            + "answers sent \(answers), acked \(acks); results \(results), correct \(correct)"
    }
}

public final class RoundLedger: Sendable {
    private struct State {
        var rounds: [RoundTally] = []
    }

    private let state = Mutex(State())
    private let keptRounds = 8

    public init() {}

    /// Counts a delivery; returns the previous round when this question opens a new one.
    public func questionDelivered(_ questionIDJSON: [UInt8], delayMs: Int64?) -> RoundTally? {
        state.withLock { state in
            var finished: RoundTally?
            if position(of: questionIDJSON, in: state) == nil {
                finished = state.rounds.last
                state.rounds.append(RoundTally(questionIDJSON: questionIDJSON))
                if state.rounds.count > keptRounds { state.rounds.removeFirst() }
            }
            let index = position(of: questionIDJSON, in: state)!
            state.rounds[index].deliveries += 1
            if let delayMs { state.rounds[index].slowestDeliveryMs = max(state.rounds[index].slowestDeliveryMs, delayMs) }
            return finished
        }
    }

    public func update(_ questionIDJSON: [UInt8], _ change: (inout RoundTally) -> Void) {
        state.withLock { state in
            guard let index = position(of: questionIDJSON, in: state) else { return }
            change(&state.rounds[index])
        }
    }

    /// The round in progress, for the final line.
    public var current: RoundTally? {
        state.withLock { $0.rounds.last }
    }

    private func position(of id: [UInt8], in state: State) -> Int? {
        state.rounds.lastIndex { $0.questionIDJSON == id }
    }
}
