import KafkaClient
import Logging
import Quiz

/// Rebuilds the engine from Kafka at start, in the order `QuizEngine` documents: the last
/// snapshot on `quiz-state`, the last `question`, then the `result`s the snapshot does not cover.
struct StateRestore {
    let reader: TopicReader
    let resultPartitions: Int32
    let logger: Logger

    /// Returns the positions in `result` the restored state covers, per partition.
    func restore(into engine: inout QuizEngine) throws -> [Int32: Int64] {
        try restoreSnapshot(into: &engine)
        for record in try reader.read(topic: QuizTopic.question.rawValue, start: .back(1), firstOffset: back(1)) {
            do {
                try engine.restore(questionRecord: record.value)
            } catch {
                logger.warning("last question not restored: \(error); a new round starts")
            }
        }
        let positions = engine.restoredResultPositions
        let results = try reader.read(
            topic: QuizTopic.result.rawValue,
            start: .offsets(Dictionary(uniqueKeysWithValues: (0..<resultPartitions).map {
                (TopicPartition(topic: QuizTopic.result.rawValue, partition: $0), positions[$0] ?? 0)
            })),
            firstOffset: { partition, _ in positions[partition.partition] ?? 0 }
        )
        var rejected = 0
        var covered = positions
        for record in results {
            covered[record.partition] = max(covered[record.partition] ?? 0, record.offset + 1)
            do {
                try engine.restore(resultKey: record.key, value: record.value)
            } catch {
                rejected += 1
            }
        }
        logger.info("state restored", metadata: [
            "round": "\(engine.round)", "users": "\(engine.userCount)",
            "results_read": "\(results.count)", "results_rejected": "\(rejected)",
        ])
        return covered
    }

    private func restoreSnapshot(into engine: inout QuizEngine) throws {
        let topic = QuizTopic.quizState.rawValue
        let tails = try reader.read(topic: topic, start: .back(1), firstOffset: back(1))
        guard let last = tails.compactMap({ record in QuizSnapshotHeader(stateRecord: record.value).map { (record, $0) } })
            .max(by: { $0.1.takenAtMs < $1.1.takenAtMs })
        else {
            logger.info("no snapshot on \(topic): starting from the results alone")
            return
        }
        let (record, header) = last
        let firstOffset = record.offset - Int64(header.part)
        let parts = header.part == 0 ? [record] : try reader.read(
            topic: topic,
            start: .offsets([TopicPartition(topic: topic, partition: record.partition): firstOffset]),
            firstOffset: { partition, high in partition.partition == record.partition ? firstOffset : high }
        )
        for part in parts where part.partition == record.partition && part.offset >= firstOffset {
            try engine.restore(stateRecord: part.value)
        }
        logger.info("snapshot restored", metadata: ["round": "\(header.round)", "parts": "\(header.parts)"])
    }

    private func back(_ count: Int64) -> (TopicPartition, Int64) -> Int64 {
        { _, high in max(0, high - count) }
    }
}
