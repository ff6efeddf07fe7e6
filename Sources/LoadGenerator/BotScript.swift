// Bot players (default mode and --mode players): subscribe to the question and to their own
// result and leaderboard, answer each live question once after a think time, ask for the
// leaderboard every few results.
import Foundation
import Logging
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
    var answerSentUs: Int64 = 0
    var answerRequestID: Int64 = 0
    var leaderboardSentUs: Int64 = 0
    var subscribeSentUs: Int64 = 0
    var results = 0
    var nextRequestID: Int64 = 2
    /// Last seq seen on /question and on /result/<name>: a reconnect resumes after them.
    var questionSeq: Int64 = -1
    var resultSeq: Int64 = -1
}

private struct DueAnswer {
    let dueMs: Int64
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
    private let logger: Logger
    private var bots: [BotState]
    private var due: [DueAnswer] = []
    /// Question ids seen by this ring, interned so each bot stores a small number.
    private var questionSerials: [[UInt8]: Int32] = [:]
    private var questions: [QuestionOffer] = []
    private static let subscribeRequestID: Int64 = 1

    init(
        settings: BotSettings, connectionsInRing: Int, counters: LoadCounters, latency: LatencyRecorder,
        knowledge: AnswerKnowledge, ledger: RoundLedger, logger: Logger
    ) {
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

    func received(_ link: SessionLink, connection: Int, message: ServerMessage, bytes: UnsafeRawBufferPointer) {
        let local = link.localIndex(of: connection)
        switch message {
        case .ok(let id):
            if id == Self.subscribeRequestID {
                counters.add(.subscribed)
                latency.record(.subscribe, microseconds: Clock.monotonicMicroseconds() - bots[local].subscribeSentUs)
            } else if id == bots[local].answerRequestID, bots[local].answeredQuestion >= 0 {
                counters.add(.answerAcks)
                latency.record(.publishAck, microseconds: Clock.monotonicMicroseconds() - bots[local].answerSentUs)
                ledger.update(questions[Int(bots[local].answeredQuestion)].idJSON) { $0.acks += 1 }
            }
        case .err(_, let code, let text):
            counters.add(.errors)
            if counters[.errors] <= 5 { logger.warning("\(settings.name(ofConnection: connection)): gateway refused a request: \(code): \(text)") }
        case .msg(let subject, let seq, let data, let retained):
            if retained { counters.add(.retained) } else { counters.add(.messages) }
            if subject.isString("/question", in: bytes) {
                // The same seq twice is a repeat (a replay overlapping what arrived): once is enough.
                guard seq != bots[local].questionSeq else { return }
                bots[local].questionSeq = seq
                question(link, local: local, connection: connection, bytes: bytes, data: data, retained: retained)
            } else if !retained, let name = subject.string(in: bytes) {
                if name.hasPrefix("/result/") {
                    guard seq != bots[local].resultSeq else { return }
                    bots[local].resultSeq = seq
                    result(link, local: local, connection: connection, bytes: bytes, data: data)
                } else if name.hasPrefix("/top/") {
                    counters.add(.leaderboards)
                    latency.record(.leaderboard, microseconds: Clock.monotonicMicroseconds() - bots[local].leaderboardSentUs)
                }
            }
        case .gap(let subject, _, _):
            counters.add(.gaps)
            // What was missed is gone: take what comes next on that subject as new.
            if subject == "/question" { bots[local].questionSeq = -1 }
            if subject.hasPrefix("/result/") { bots[local].resultSeq = -1 }
        }
    }

    private func question(
        _ link: SessionLink, local: Int, connection: Int, bytes: UnsafeRawBufferPointer, data: Range<Int>, retained: Bool
    ) {
        guard let offer = QuestionOffer(data: bytes, range: data) else { return }
        let now = Clock.wallMilliseconds()
        let serial = intern(offer)
        if !retained {
            counters.add(.questions)
            let delay = offer.publishedMs.map { now - $0 }
            if let delay { latency.record(.questionDelivery, milliseconds: delay) }
            ledger.questionDelivered(offer.idJSON, delayMs: delay, nowMs: now)
        }
        guard let plan = settings.policy.plan(
            offer, nowMs: now, alreadyAnswered: bots[local].answeredQuestion == serial,
            knownCorrect: knowledge.correctAnswer(for: offer), using: &link.random)
        else { return }
        bots[local].answeredQuestion = serial
        due.append(DueAnswer(dueMs: plan.dueMs, local: local, question: serial, answer: plan.answer))
    }

    private func result(_ link: SessionLink, local: Int, connection: Int, bytes: UnsafeRawBufferPointer, data: Range<Int>) {
        guard let notice = ResultNotice(data: bytes, range: data) else { return }
        counters.add(.results)
        if notice.isCorrect { counters.add(.correctResults) }
        knowledge.learn(notice)
        if let serial = questionSerials[notice.questionIDJSON], serial == bots[local].answeredQuestion {
            latency.record(.answerResult, microseconds: Clock.monotonicMicroseconds() - bots[local].answerSentUs)
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
            id: nextRequestID(local), subject: "/gettop", data: Array("{\"user_id\":\(jsonString(name))}".utf8))
        if link.sendText(connection: connection, request) {
            bots[local].leaderboardSentUs = Clock.monotonicMicroseconds()
            counters.add(.leaderboardRequests)
        }
    }

    func ticked(_ link: SessionLink) {
        guard !due.isEmpty else { return }
        let now = Clock.wallMilliseconds()
        var waiting: [DueAnswer] = []
        for answer in due {
            guard answer.dueMs <= now else {
                waiting.append(answer)
                continue
            }
            send(link, answer)
        }
        due = waiting
    }

    private func send(_ link: SessionLink, _ answer: DueAnswer) {
        let connection = link.connection(atLocal: answer.local)
        let offer = questions[Int(answer.question)]
        let id = nextRequestID(answer.local)
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
        bots[answer.local].answerRequestID = id
        bots[answer.local].answerSentUs = Clock.monotonicMicroseconds()
        counters.add(.answersSent)
        ledger.update(offer.idJSON) { $0.answers += 1 }
    }

    func closed(_ link: SessionLink, connection: Int) {}

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

    private func jsonString(_ text: String) -> String {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20: escaped += String(format: "\\u%04x", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
