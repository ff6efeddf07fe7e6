import KafkaClient
import Quiz

/// What a processors instance in a group reads back from Kafka, with bounded reads of single
/// partitions: a partition's scores when it is assigned, the newest records of a topic.
struct PartitionRestore {
    struct Outcome {
        /// The offset of `result` after the last record read: what the restored state covers.
        var resultEnd: Int64 = 0
        var changelogRecords = 0
        var resultRecords = 0
        var rejected = 0
    }

    let reader: KafkaRangeReader
    let timeout: Duration

    /// Merges answer partition `partition`'s state into `engine` (its open rounds restored
    /// first): `quiz-scores` from its start, then `result` from the largest offset it names.
    func restore(partition: Int32, into engine: inout QuizEngine) throws(KafkaError) -> Outcome {
        var outcome = Outcome()
        var resultStart: Int64 = 0
        let scores = try reader.read(
            TopicPartition(topic: QuizTopic.scores.rawValue, partition: partition), offsets: 0..<Int64.max,
            timeout: timeout) { _ in true }
        outcome.changelogRecords = scores.records.count
        for record in scores.records {
            do {
                resultStart = max(resultStart, try engine.restore(changelogKey: record.key, value: record.value))
            } catch {
                outcome.rejected += 1
            }
        }
        let results = try reader.read(
            TopicPartition(topic: QuizTopic.result.rawValue, partition: partition), offsets: resultStart..<Int64.max,
            timeout: timeout) { _ in true }
        outcome.resultRecords = results.records.count
        outcome.resultEnd = max(resultStart, results.records.last.map { $0.offset + 1 } ?? results.firstAvailable)
        for record in results.records {
            do {
                try engine.restore(resultKey: record.key, value: record.value)
            } catch {
                outcome.rejected += 1
            }
        }
        return outcome
    }

    /// The offset the partition's next record will get.
    func end(of partition: TopicPartition) throws(KafkaError) -> Int64 {
        try reader.watermarks(of: partition, timeout: timeout).high
    }

    /// The values of the partition's last `count` records, oldest first.
    func newest(_ count: Int64, of partition: TopicPartition) throws(KafkaError) -> [[UInt8]] {
        let end = try end(of: partition)
        return try reader.read(partition, offsets: max(0, end - count)..<end, timeout: timeout) { _ in true }
            .records.map(\.value)
    }
}
