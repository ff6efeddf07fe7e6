import Foundation
import KafkaClient
import StadiumTestSupport
import Synchronization
import Testing

/// A measurement, not a test of speed: runs only with STADIUM_PROCESSORS_MEASURE=<answers>.
/// One user per answer, all to one open question, produced straight into stadium-kafka while
/// stadium-processors tails `answer`; prints how many results reached `result` and how fast.
/// The development broker keeps about 100,000 records per partition: if scoring falls that far
/// behind, librdkafka resets to the oldest kept offset and the skipped answers are never scored.
/// Set STADIUM_BIN=.build/release to measure the release binaries, STADIUM_MEASURE_PARTITIONS for more partitions.
@Suite struct ScoringThroughputMeasurement {
    static let answerCount = Int(ProcessInfo.processInfo.environment["STADIUM_PROCESSORS_MEASURE"] ?? "") ?? 0
    /// The development broker keeps about 100,000 records per partition: enough partitions keep every answer.
    static let partitions = ProcessInfo.processInfo.environment["STADIUM_MEASURE_PARTITIONS"] ?? "3"

    @Test(.enabled(if: answerCount > 0, "set STADIUM_PROCESSORS_MEASURE=<answers> to run"))
    func scoreAMillionAnswers() throws {
        let count = Self.answerCount
        // The question stays open for the whole run: every answer is scored, none is late.
        let stack = try QuizStack(
            processorArguments: ["--round", "3600", "--answer-window", "3600"], brokerArguments: ["--partitions", Self.partitions])
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
        // Done when every answer has a result, or when no result arrived for 5 s.
        var lastCount = -1
        var lastChange = ContinuousClock.now
        while results.value.load(ordering: .relaxed) < count, ContinuousClock.now - lastChange < .seconds(5) {
            let current = results.value.load(ordering: .relaxed)
            if current != lastCount {
                lastCount = current
                lastChange = ContinuousClock.now
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let scoredCount = results.value.load(ordering: .relaxed)
        let scored = (scoredCount < count ? lastChange : ContinuousClock.now) - start
        let seconds = Double(scored.components.seconds) + Double(scored.components.attoseconds) / 1e18
        print("measure: \(count) answers produced and acknowledged in \(produced); \(scoredCount) results on `result` after \(scored) (\(Int(Double(scoredCount) / seconds)) answers scored/s, \(count - scoredCount) never scored)")
        #expect(scoredCount > 0)
    }
}

private final class ResultCount: Sendable {
    let value = Atomic<Int>(0)
}
