// Bot players (default mode and --mode players): subscribe to the question and to their own
// result and leaderboard, answer each live question once after a think time, ask for the
// leaderboard every few results.
import Foundation
import Logging
import QuizRecords
import StadiumProtocol

public struct BotSettings: Sendable {
    /// Player names; `{i}` becomes the bot's number, from 1.
    public var nameTemplate: String
    public var policy: AnswerPolicy
    /// Ask /gettop after every this many results; 0 never.
    public var leaderboardEvery: Int

    public init(nameTemplate: String, policy: AnswerPolicy, leaderboardEvery: Int) {
        self.nameTemplate = nameTemplate
        self.policy = policy
        self.leaderboardEvery = leaderboardEvery
    }

    public func name(ofConnection connection: Int) -> String {
        nameTemplate.replacingOccurrences(of: "{i}", with: String(connection + 1))
    }
}

/// What one bot remembers; survives reconnects (kept by connection, not by socket).
private struct BotState {
    /// Serial (in this ring) of the last question the bot planned to answer: never answer twice.
    var answeredQuestion: Int32 = -1
    /// When the latest answer was due (monotonic µs): its ack and result latencies count from here.
    var answerScheduledUs: Int64 = 0
    var leaderboardSentUs: Int64 = 0
    var subscribeSentUs: Int64 = 0
    var results = 0
    var nextRequestID: Int64 = 2
    /// Last seq seen on /question and on /result/<name>: a reconnect resumes after them.
    var questionSeq: Int64 = -1
    var resultSeq: Int64 = -1
    var tally = PlayerTally()
}

private struct DueAnswer {
    /// When it is due on the monotonic clock, for the latencies measured from it.
    let dueUs: Int64
    let local: Int
    let question: Int32
    let answer: Int
}

final class BotScript: SessionScript {
    private let settings: BotSettings
    private let counters: LoadCounters
    private let latency: LatencyRecorder
    private let knowledge: AnswerKnowledge
    private let ledger: RoundLedger
    private let phase: RunPhase
    private let logger: Logger
    private var bots: [BotState]
    /// Planned answers by due time (wall-clock ms): a tick pops only what is due.
    private var due = DueQueue<DueAnswer>()
    /// Question ids seen by this ring, interned so each bot stores a small number.
    private var questionSerials: [[UInt8]: Int32] = [:]
    private var questions: [QuestionOffer] = []
    private static let subscribeRequestID: Int64 = 1
    /// An answer's request id is this plus its question's serial, so its ok names the question;
    /// /gettop ids count up from 3 and never reach it.
    private static let answerRequestIDBase: Int64 = 1 << 32

    init(
        settings: BotSettings, connectionsInRing: Int, counters: LoadCounters, latency: LatencyRecorder,
        knowledge: AnswerKnowledge, ledger: RoundLedger, phase: RunPhase, logger: Logger
    ) {
        self.phase = phase
        self.settings = settings
        self.counters = counters
        self.latency = latency
        self.knowledge = knowledge
        self.ledger = ledger
        self.logger = logger
        bots = Array(repeating: BotState(), count: connectionsInRing)
    }

    func opened(_ link: SessionLink, connection: Int) {
        let name = settings.name(ofConnection: connection)
        let local = link.localIndex(of: connection)
        bots[local].subscribeSentUs = Clock.monotonicMicroseconds()
        // After a reconnect, ask for what was missed instead of the latest message alone.
        var since: [String: Int64] = [:]
        if bots[local].questionSeq >= 0 { since["/question"] = bots[local].questionSeq }
        if bots[local].resultSeq >= 0 { since["/result/\(name)"] = bots[local].resultSeq }
        link.sendText(
            connection: connection,
            ClientRequestEncoder.sub(
                id: Self.subscribeRequestID, subjects: ["/question", "/result/\(name)", "/top/\(name)"], since: since))
    }

    func received(_ link: SessionLink, connection: Int, message: ServerMessage, bytes: RawSpan) {
        let local = link.localIndex(of: connection)
        switch message {
        case .ok(let id):
            if id == Self.subscribeRequestID {
                counters.add(.subscribed)
                latency.record(.subscribe, microseconds: Clock.monotonicMicroseconds() - bots[local].subscribeSentUs)
            } else if let id, id >= Self.answerRequestIDBase {
                let serial = Int32(clamping: id - Self.answerRequestIDBase)
                let receipt = bots[local].tally.ack(question: serial)
                guard receipt == .new else {
                    counters.add(.duplicates)
                    if receipt == .duplicate { ledger.update(questions[Int(serial)].idJSON) { $0.duplicates += 1 } }
                    return
                }
                counters.add(.answerAcks)
                if serial == bots[local].answeredQuestion {
                    latency.record(.publishAck, microseconds: Clock.monotonicMicroseconds() - bots[local].answerScheduledUs)
                }
                ledger.update(questions[Int(serial)].idJSON) { $0.acks += 1 }
            }
        case .err(_, let code, let text):
            counters.add(.errors)
            if counters[.errors] <= 5 { logger.warning("\(settings.name(ofConnection: connection)): gateway refused a request: \(code): \(text)") }
        case .msg(let subject, let seq, let data, let retained):
            if retained { counters.add(.retained) } else { counters.add(.messages) }
            if subject.isString("/question", in: bytes) {
                bots[local].questionSeq = max(bots[local].questionSeq, seq)
                question(link, local: local, connection: connection, bytes: bytes, data: data, seq: seq, retained: retained)
            } else if !retained, let name = subject.string(in: bytes) {
                if name.hasPrefix("/result/") {
                    bots[local].resultSeq = max(bots[local].resultSeq, seq)
                    result(link, local: local, connection: connection, bytes: bytes, data: data)
                } else if name.hasPrefix("/top/") {
                    counters.add(.leaderboards)
                    latency.record(.leaderboard, microseconds: Clock.monotonicMicroseconds() - bots[local].leaderboardSentUs)
                }
            }
        case .gap(let subject, _, _):
            counters.add(.gaps)
            // The question's seq is kept: a reconnect without `since` would replay the retained
            // question this bot already had, a duplicate. The round counter shows what was missed.
            if subject.hasPrefix("/result/") { bots[local].resultSeq = -1 }
        }
    }

    private func question(
        _ link: SessionLink, local: Int, connection: Int, bytes: RawSpan, data: Range<Int>, seq: Int64,
        retained: Bool
    ) {
        guard let offer = QuestionOffer(data: bytes, range: data) else { return }
        let now = Clock.wallMilliseconds()
        let serial = intern(offer)
        // A repeat (the gateway sent this question to this player before) is counted, not played.
        let receipt = bots[local].tally.question(number: offer.round ?? seq, contiguous: offer.round != nil)
        guard receipt == .new else {
            counters.add(.duplicates)
            ledger.update(offer.idJSON) { $0.duplicates += 1 }
            return
        }
        if !retained {
            counters.add(.questions)
            let delay = offer.publishedMs.map { now - $0 }
            if let delay { latency.record(.questionDelivery, milliseconds: delay) }
            ledger.questionDelivered(offer.idJSON, delayMs: delay, nowMs: now)
        }
        // While the run drains, answers already sent settle and no new ones start.
        guard !phase.draining.load(ordering: .relaxed), let plan = settings.policy.plan(
            offer, nowMs: now, alreadyAnswered: bots[local].answeredQuestion == serial,
            knownCorrect: knowledge.correctAnswer(for: offer), using: &link.random)
        else { return }
        bots[local].answeredQuestion = serial
        let dueUs = Clock.monotonicMicroseconds() + (plan.dueMs - now) * 1000
        due.push(DueAnswer(dueUs: dueUs, local: local, question: serial, answer: plan.answer), due: plan.dueMs)
    }

    private func result(_ link: SessionLink, local: Int, connection: Int, bytes: RawSpan, data: Range<Int>) {
        guard let notice = ResultNotice(data: bytes, range: data) else { return }
        // A result for a question this ring never saw cannot answer anything this player sent.
        let serial = questionSerials[notice.questionIDJSON] ?? -1
        let receipt = bots[local].tally.result(question: serial)
        guard receipt == .new else {
            counters.add(.duplicates)
            if receipt == .duplicate { ledger.update(notice.questionIDJSON) { $0.duplicates += 1 } }
            return
        }
        counters.add(.results)
        if notice.isCorrect { counters.add(.correctResults) }
        knowledge.learn(notice)
        if serial == bots[local].answeredQuestion {
            latency.record(.answerResult, microseconds: Clock.monotonicMicroseconds() - bots[local].answerScheduledUs)
        }
        ledger.update(notice.questionIDJSON) { tally in
            tally.results += 1
            if notice.isCorrect { tally.correct += 1 }
        }
        bots[local].results += 1
        let every = settings.leaderboardEvery
        guard every > 0, bots[local].results % every == 0 else { return }
        let name = settings.name(ofConnection: connection)
        let request = ClientRequestEncoder.pub(
            id: nextRequestID(local), subject: "/gettop", data: GetTopRequest(userID: name).encoded())
        if link.sendText(connection: connection, request) {
            bots[local].leaderboardSentUs = Clock.monotonicMicroseconds()
            counters.add(.leaderboardRequests)
        }
    }

    func ticked(_ link: SessionLink) {
        guard !due.isEmpty else { return }
        // Draining: only answers already sent settle; one sent now could not settle in time.
        if phase.draining.load(ordering: .relaxed) {
            due.removeAll()
            return
        }
        let now = Clock.wallMilliseconds()
        while let answer = due.popDue(now: now) { send(link, answer) }
    }

    private func send(_ link: SessionLink, _ answer: DueAnswer) {
        let connection = link.connection(atLocal: answer.local)
        let offer = questions[Int(answer.question)]
        let id = Self.answerRequestIDBase + Int64(answer.question)
        var data = Array("{\"question_id\":".utf8)
        data += offer.idJSON
        data += Array(",\"answer\":\(answer.answer)}".utf8)
        let name = settings.name(ofConnection: connection)
        let request = ClientRequestEncoder.pub(id: id, subject: "/answer/\(name)", data: data)
        guard link.sendText(connection: connection, request) else {
            // Disconnected while thinking: the retained question may be answered after reconnecting.
            if bots[answer.local].answeredQuestion == answer.question { bots[answer.local].answeredQuestion = -1 }
            return
        }
        let sentUs = Clock.monotonicMicroseconds()
        bots[answer.local].answerScheduledUs = answer.dueUs
        bots[answer.local].tally.answerSent(question: answer.question)
        latency.record(.sendLag, microseconds: sentUs - answer.dueUs)
        counters.add(.answersSent)
        ledger.update(offer.idJSON) { $0.answers += 1 }
    }

    func closed(_ link: SessionLink, connection: Int) {}

    func playerSummary(stoppedEarly: Bool) -> PlayerSummary? {
        var summary = PlayerSummary()
        for bot in bots { summary.add(bot.tally, stoppedEarly: stoppedEarly) }
        return summary
    }

    private func nextRequestID(_ local: Int) -> Int64 {
        bots[local].nextRequestID += 1
        return bots[local].nextRequestID
    }

    private func intern(_ offer: QuestionOffer) -> Int32 {
        if let serial = questionSerials[offer.idJSON] { return serial }
        knowledge.noteQuestion(offer)
        let serial = Int32(questions.count)
        questions.append(offer)
        questionSerials[offer.idJSON] = serial
        return serial
    }
}
