import Foundation
import Testing
@testable import Quiz

/// Opt-in measurement, not an assertion on speed:
/// `QUIZ_THROUGHPUT=1 swift test -c release --filter QuizTests.ThroughputMeasurement`
/// prints how many answers per second one engine scores in-process.
@Suite struct ThroughputMeasurement {
    static let enabled = ProcessInfo.processInfo.environment["QUIZ_THROUGHPUT"] != nil

    @Test(.enabled(if: enabled)) func millionAnswersFromDistinctUsers() {
        let answers = 1_000_000
        var engine = QuizEngine(bank: Fixtures.bank, configuration: Fixtures.configuration())
        _ = engine.tick(nowMs: Fixtures.startMs)
        let keys = (0..<answers).map { Array("player-\($0)".utf8) }
        let values = (0..<4).map { Fixtures.answerValue("alpha-r1", $0) }

        let clock = ContinuousClock()
        var resultBytes = 0
        let elapsed = clock.measure {
            for index in 0..<answers {
                let outcome = engine.answerRecord(
                    key: keys[index], value: values[index & 3], kafkaTimestampMs: Fixtures.startMs + 1_000
                )
                if case .scored(let record) = outcome { resultBytes &+= record.value.count }
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let gettops = 1_000_000
        let request = Fixtures.bytes(#"{"user_id":"player-17"}"#)
        var topBytes = 0
        let topElapsed = clock.measure {
            for _ in 0..<gettops {
                topBytes &+= engine.getTopRecord(value: request)?.value.count ?? 0
            }
        }
        let topSeconds = Double(topElapsed.components.seconds) + Double(topElapsed.components.attoseconds) / 1e18
        print("""
            quiz throughput: \(answers) answers in \(String(format: "%.3f", seconds)) s = \
            \(Int(Double(answers) / seconds)) answers/s (\(resultBytes) result bytes); \
            \(gettops) gettop in \(String(format: "%.3f", topSeconds)) s = \(Int(Double(gettops) / topSeconds)) replies/s
            """)
        #expect(engine.answersScored == answers)
    }
}
