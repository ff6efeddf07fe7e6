/// One leaderboard row with what orders ties: `reached`, the scoring sequence at which the user
/// got this score (earlier ranks higher). Tops of several partitions merge by these three fields.
public struct RankedEntry: Sendable, Equatable {
    public let name: String
    public let score: Int64
    public let reached: UInt64

    public init(name: String, score: Int64, reached: UInt64) {
        self.name = name
        self.score = score
        self.reached = reached
    }

    /// Higher score first, then who reached it first, then by name so every instance agrees.
    public func ranksAbove(_ other: RankedEntry) -> Bool {
        if score != other.score { return score > other.score }
        if reached != other.reached { return reached < other.reached }
        return name < other.name
    }
}
