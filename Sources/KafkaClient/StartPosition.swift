import CRdKafka

/// Where an assigned partition starts reading.
public enum StartPosition: Sendable, Equatable {
    /// The oldest retained record.
    case beginning
    /// Only records produced after the assignment.
    case end
    /// The last `n` records of each partition (fewer if the partition holds fewer), then tail.
    case back(Int64)
    /// Explicit offsets; partitions not listed start at the end.
    case offsets([TopicPartition: Int64])

    /// librdkafka's offset value for one partition, logical offsets included.
    func librdkafkaOffset(for partition: TopicPartition) -> Int64 {
        switch self {
        case .beginning: return Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .end: return Int64(RD_KAFKA_OFFSET_END)
        // RD_KAFKA_OFFSET_TAIL(n) is a macro Swift cannot import; its value is TAIL_BASE - n.
        case .back(let count): return count <= 0 ? Int64(RD_KAFKA_OFFSET_END) : Int64(RD_KAFKA_OFFSET_TAIL_BASE) - count
        case .offsets(let offsets): return offsets[partition] ?? Int64(RD_KAFKA_OFFSET_END)
        }
    }
}
