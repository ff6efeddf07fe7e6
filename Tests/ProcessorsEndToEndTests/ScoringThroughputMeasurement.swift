import Foundation
import KafkaClient
import Synchronization
import Testing

/// A measurement, not a test of speed: runs only with STADIUM_PROCESSORS_MEASURE=<answers>.
/// One user per answer, all to one open question, produced straight into stadium-kafka while
/// stadium-processors tails `answer`; prints how long until every result was on `result`.
/// Set STADIUM_BIN=.build/release to measure the release binaries.
@Suite struct ScoringThroughputMeasurement {
    static let answerCount = Int(ProcessInfo.processInfo.environment["STADIUM_PROCESSORS_MEASURE"] ?? "") ?? 0

    @Test(.enabled(if: answerCount > 0, "set STADIUM_PROCESSORS_MEASURE=<answers> to run"))
    func scoreAMillionAnswers() throws {
        let count = Self.answerCount
        // The question stays open for the whole run: every answer is scored, none is late.
        let stack = try QuizStack(processorArguments: ["--round", "3600", "--answer-window", "3600"])
        let question = try stack.nextQuestion()
        let config = KafkaConfig(bootstrapServers: stack.bootstrapServers)
        let results = ResultCount()
        let tail = try KafkaConsumer(config: config, topics: ["result"], start: .end)
        tail.start { batch in results.value.add(batch.records.count, ordering: .relaxed) }
        defer { tail.stop() }
        try waitUntil("the result tail fetching") { tail.highWatermarks().count == tail.partitions.count }

        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        let value = Array("{\"question_id\":\"\(question.id)\",\"answer\":0}".utf8)
        let start = ContinuousClock.now
        for index in 0..<count {
            let key = Array("user-\(index)".utf8)
            while true {
                do {
                    try producer.produce(topic: "answer", key: key, value: value, token: 0)
                    break
                } catch {
                    guard error.kind == .queueFull else { throw error }
                    Thread.sleep(forTimeInterval: 0.001)
                }
            }
        }
        try producer.flush(timeout: .seconds(600))
        let produced = ContinuousClock.now - start
        try waitUntil("\(count) results", timeout: .seconds(900)) { results.value.load(ordering: .relaxed) >= count }
        let scored = ContinuousClock.now - start
        let seconds = Double(scored.components.seconds) + Double(scored.components.attoseconds) / 1e18
        print("measure: \(count) answers produced and acknowledged in \(produced); all \(count) results on `result` after \(scored) (\(Int(Double(count) / seconds)) answers scored/s)")
        #expect(results.value.load(ordering: .relaxed) == count)
    }
}

private final class ResultCount: Sendable {
    let value = Atomic<Int>(0)
}
