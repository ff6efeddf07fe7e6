/// What one bot received, kept per player: summed per round, one player's missing question and
/// another's duplicate would cancel out; summed per player they show as one of each.
/// Constant size, so a million bots can each keep one.
public struct PlayerTally: Equatable, Sendable {
    /// The number of the last question received (its round, or its seq when it has no round).
    public private(set) var lastQuestionNumber: Int64 = -1
    public private(set) var questions: Int32 = 0
    /// Rounds skipped between two questions this player received.
    public private(set) var questionsMissed: Int32 = 0
    public private(set) var questionDuplicates: Int32 = 0
    public private(set) var answers: Int32 = 0
    public private(set) var ackDuplicates: Int32 = 0
    public private(set) var resultDuplicates: Int32 = 0
    /// Acks or results for an answer this player never sent.
    public private(set) var unexpected: Int32 = 0
    /// Questions are named by the ring's serials (one per question id the ring has seen).
    private var answered = RecentSerials()
    private var acked = RecentSerials()
    private var resulted = RecentSerials()

    public init() {}

    public enum Receipt: Equatable, Sendable {
        case new
        case duplicate
        /// For an answer this player never sent.
        case unexpected
    }

    /// A question numbered `number`; `contiguous` when numbers go up by one per question (quiz
    /// rounds do; a gateway seq, a Kafka offset, may skip), so a jump counts the skipped ones.
    @discardableResult
    public mutating func question(number: Int64, contiguous: Bool) -> Receipt {
        if number <= lastQuestionNumber {
            questionDuplicates += 1
            return .duplicate
        }
        if contiguous && lastQuestionNumber >= 0 {
            questionsMissed += Int32(clamping: number - lastQuestionNumber - 1)
        }
        lastQuestionNumber = number
        questions += 1
        return .new
    }

    public mutating func answerSent(question serial: Int32) {
        if answered.insert(serial) { answers += 1 }
    }

    public mutating func ack(question serial: Int32) -> Receipt {
        guard answered.contains(serial) else { return countUnexpected() }
        guard acked.insert(serial) else {
            ackDuplicates += 1
            return .duplicate
        }
        return .new
    }

    public mutating func result(question serial: Int32) -> Receipt {
        guard answered.contains(serial) else { return countUnexpected() }
        guard resulted.insert(serial) else {
            resultDuplicates += 1
            return .duplicate
        }
        return .new
    }

    /// Answers sent and never acknowledged (so far).
    public var acksOutstanding: Int { Int(answers) - Int(acked.count) }
    public var resultsOutstanding: Int { Int(answers) - Int(resulted.count) }

    /// The latest answer still waits for its ack (at a stop it may be in flight).
    public var latestAnswerAwaitsAck: Bool {
        answered.newest >= 0 && !acked.contains(answered.newest)
    }

    public var latestAnswerAwaitsResult: Bool {
        answered.newest >= 0 && !resulted.contains(answered.newest)
    }

    private mutating func countUnexpected() -> Receipt {
        unexpected += 1
        return .unexpected
    }
}

/// The last 64 serials' membership plus a count of all inserted: tells a repeat from a first.
/// A serial more than 64 below the newest is too old to remember and counts as new.
struct RecentSerials: Equatable, Sendable {
    private(set) var newest: Int32 = -1
    /// Bit i set: serial `newest - i` is in the set.
    private var mask: UInt64 = 0
    private(set) var count: Int32 = 0

    func contains(_ serial: Int32) -> Bool {
        let offset = Int64(newest) - Int64(serial)
        return serial >= 0 && offset >= 0 && offset < 64 && mask & (1 << UInt64(offset)) != 0
    }

    /// False when `serial` was in the set already.
    mutating func insert(_ serial: Int32) -> Bool {
        if serial > newest {
            let shift = Int64(serial) - Int64(newest)
            mask = shift >= 64 ? 0 : mask << UInt64(shift)
            mask |= 1
            newest = serial
        } else {
            let offset = Int64(newest) - Int64(serial)
            if offset < 64 {
                let bit: UInt64 = 1 << UInt64(offset)
                if mask & bit != 0 { return false }
                mask |= bit
            }
        }
        count += 1
        return true
    }
}

/// Every player's tally added up; each loss and each duplicate is counted where it happened.
public struct PlayerSummary: Codable, Equatable, Sendable {
    public var players = 0
    public var questionsReceived = 0
    public var questionsMissed = 0
    public var questionDuplicates = 0
    public var answersSent = 0
    /// Answers whose ack never came (not counting one still in flight when the run was stopped).
    public var acksMissing = 0
    public var ackDuplicates = 0
    public var resultsMissing = 0
    public var resultDuplicates = 0
    public var unexpected = 0
    /// Latest answers still unsettled when a signal stopped the run: neither lost nor delivered.
    public var answersInFlight = 0
    public var playersWithLoss = 0
    public var playersWithDuplicates = 0

    public init() {}

    /// `stoppedEarly`: the run was stopped without draining, so each player's latest answer may
    /// still be on its way; otherwise (drained after --duration) whatever is outstanding is lost.
    public mutating func add(_ tally: PlayerTally, stoppedEarly: Bool) {
        players += 1
        questionsReceived += Int(tally.questions)
        questionsMissed += Int(tally.questionsMissed)
        questionDuplicates += Int(tally.questionDuplicates)
        answersSent += Int(tally.answers)
        var acksMissing = tally.acksOutstanding
        var resultsMissing = tally.resultsOutstanding
        // Only the latest answer can be in flight at a stop: the earlier ones had a round or more.
        if stoppedEarly && (tally.latestAnswerAwaitsAck || tally.latestAnswerAwaitsResult) {
            answersInFlight += 1
            if tally.latestAnswerAwaitsAck { acksMissing -= 1 }
            if tally.latestAnswerAwaitsResult { resultsMissing -= 1 }
        }
        self.acksMissing += acksMissing
        self.resultsMissing += resultsMissing
        ackDuplicates += Int(tally.ackDuplicates)
        resultDuplicates += Int(tally.resultDuplicates)
        unexpected += Int(tally.unexpected)
        if tally.questionsMissed > 0 || acksMissing > 0 || resultsMissing > 0 { playersWithLoss += 1 }
        if tally.questionDuplicates > 0 || tally.ackDuplicates > 0 || tally.resultDuplicates > 0 || tally.unexpected > 0 {
            playersWithDuplicates += 1
        }
    }

    public mutating func merge(_ other: PlayerSummary) {
        players += other.players
        questionsReceived += other.questionsReceived
        questionsMissed += other.questionsMissed
        questionDuplicates += other.questionDuplicates
        answersSent += other.answersSent
        acksMissing += other.acksMissing
        ackDuplicates += other.ackDuplicates
        resultsMissing += other.resultsMissing
        resultDuplicates += other.resultDuplicates
        unexpected += other.unexpected
        answersInFlight += other.answersInFlight
        playersWithLoss += other.playersWithLoss
        playersWithDuplicates += other.playersWithDuplicates
    }

    /// Questions, acks and results that never arrived.
    public var lost: Int { questionsMissed + acksMissing + resultsMissing }
    /// Receipts of something already received, or of something never asked for.
    public var duplicates: Int { questionDuplicates + ackDuplicates + resultDuplicates + unexpected }
}
