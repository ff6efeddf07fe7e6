// The quiz engine in-process, no Kafka: what stadium-processors does with each record it consumes
// (QuizProcessor.handle), one operation at a time. Keys and values are built in each benchmark's
// setup; a run of 1,000 operations per sample (`scalingFactor: .kilo`) only indexes into them.
import Benchmark
import Quiz

enum QuizSamples {
    /// Players in the engines: a new user per answer until this many have answered.
    static let users = 1_000_000
    static let bank = QuestionBank(questions: [
        Question(id: "q1", text: "First?", answers: ["a0", "a1", "a2", "a3"], correctIndex: 1, points: 100),
        Question(id: "q2", text: "Second?", answers: ["b0", "b1", "b2", "b3"], correctIndex: 3, points: 50),
    ])
    static let startMs: Int64 = 1_700_000_000_000
    /// Answers come 1 s after the question, well inside its window: every one scores.
    static let answerMs = startMs + 1_000

    /// An engine with its first question open (stadium-processors' default 20 s round, 10 s window).
    static func engineWithOpenQuestion() -> QuizEngine {
        var engine = QuizEngine(bank: bank, configuration: QuizConfiguration(roundMs: 20_000, answerWindowMs: 10_000, topCount: 10))
        _ = engine.tick(nowMs: startMs)
        return engine
    }

    /// The keys of `count` players, `player-0` on.
    static func keys(_ count: Int) -> [[UInt8]] {
        (0..<count).map { Array("player-\($0)".utf8) }
    }

    /// The four answers to the open question of `engine`, a quarter of them correct.
    static func answerValues(_ engine: QuizEngine) -> [[UInt8]] {
        let questionID = engine.currentQuestion!.publishedID
        return (0..<4).map { Array("{\"question_id\":\"\(questionID)\",\"answer\":\($0)}".utf8) }
    }
}

/// Each answer from a user the engine has not seen: intern the key, mark the question answered,
/// score, encode the `result` record. After `QuizSamples.users` answers the engine starts over
/// (outside the measurement), so the samples cover a users table growing from 0 to a million.
final class NewUserAnswers {
    let keys = QuizSamples.keys(QuizSamples.users)
    let values: [[UInt8]]
    var engine = QuizSamples.engineWithOpenQuestion()
    var next = 0
    var resultBytes = 0

    init() {
        values = QuizSamples.answerValues(engine)
    }

    /// A fresh engine when the next `count` keys would run past the last.
    func prepare(_ count: Int) {
        guard next + count > keys.count else { return }
        engine = QuizSamples.engineWithOpenQuestion()
        precondition(QuizSamples.answerValues(engine) == values, "the new engine opened another question")
        next = 0
    }

    func answerNext() {
        let index = next
        next += 1
        guard case .scored(let record) = engine.answerRecord(
            key: keys[index], value: values[index & 3], kafkaTimestampMs: QuizSamples.answerMs)
        else { preconditionFailure("answer \(index) not scored") }
        resultBytes &+= record.value.count
    }
}

/// An engine where every one of `QuizSamples.users` players has answered the open question once.
final class AnsweredQuiz {
    let keys = QuizSamples.keys(QuizSamples.users)
    let values: [[UInt8]]
    var engine = QuizSamples.engineWithOpenQuestion()
    var next = 0

    init() {
        values = QuizSamples.answerValues(engine)
        for index in keys.indices {
            _ = engine.answerRecord(key: keys[index], value: values[index & 3], kafkaTimestampMs: QuizSamples.answerMs)
        }
        precondition(engine.answersScored == keys.count && engine.userCount == keys.count, "the set-up answers were not all scored")
    }

    /// The next player's answer again, as a consumer re-delivers it after a restart: parse, look up, duplicate.
    func answerAgain() {
        let index = next
        next = next + 1 == keys.count ? 0 : next + 1
        guard engine.answerRecord(key: keys[index], value: values[index & 3], kafkaTimestampMs: QuizSamples.answerMs)
            == .duplicate
        else { preconditionFailure("re-delivered answer \(index) was not a duplicate") }
    }
}

/// `gettop` requests from players spread over the answered engine's users: parse the request,
/// look up the user's total, build the `top` reply. The leaderboard does not change between
/// requests here, so its encoded top list is reused, as between two scored answers.
final class GetTopRequests {
    static let distinctRequests = 100_000
    let quiz = AnsweredQuiz()
    let requests: [[UInt8]]
    var next = 0
    var replyBytes = 0

    init() {
        let stride = QuizSamples.users / Self.distinctRequests
        requests = (0..<Self.distinctRequests).map { Array("{\"user_id\":\"player-\($0 * stride)\"}".utf8) }
    }

    func requestNext() {
        let index = next
        next = next + 1 == requests.count ? 0 : next + 1
        guard let reply = quiz.engine.getTopRecord(value: requests[index]) else { preconditionFailure("gettop \(index) refused") }
        replyBytes &+= reply.value.count
    }
}

func registerQuizBenchmarks() {
    Benchmark(
        "Quiz score answer (new user)",
        configuration: .init(scalingFactor: .kilo)
    ) { (benchmark: Benchmark, answers: NewUserAnswers) in
        answers.prepare(benchmark.scaledIterations.count)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            answers.answerNext()
        }
        benchmark.stopMeasurement()
        blackHole(answers.resultBytes)
    } setup: {
        NewUserAnswers()
    }

    Benchmark(
        "Quiz duplicate answer",
        configuration: .init(scalingFactor: .kilo)
    ) { (benchmark: Benchmark, quiz: AnsweredQuiz) in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            quiz.answerAgain()
        }
        benchmark.stopMeasurement()
        blackHole(quiz.engine.duplicateAnswers)
    } setup: {
        AnsweredQuiz()
    }

    Benchmark(
        "Quiz gettop",
        configuration: .init(scalingFactor: .kilo)
    ) { (benchmark: Benchmark, requests: GetTopRequests) in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            requests.requestNext()
        }
        benchmark.stopMeasurement()
        blackHole(requests.replyBytes)
    } setup: {
        GetTopRequests()
    }
}
