/// A change of a group consumer's partitions, reported before it takes effect.
public enum Rebalance: Sendable, Equatable {
    /// These partitions are now this member's; their records follow once the handler returns.
    case assigned([TopicPartition])
    /// These partitions are taken away once the handler returns: finish their work now.
    case revoked([TopicPartition])
}

/// Called on the group consumer's consume thread (or, at `stop`, on the stopping thread).
public typealias RebalanceHandler = @Sendable (Rebalance) -> Void
