/// How many connections should have been started by a moment of the ramp: `rate` per second
/// from the start, never more than `total`. Pure, so a late tick catches up in one batch.
public struct RampSchedule: Equatable, Sendable {
    public let total: Int
    /// Connects per second; 0 means all at once.
    public let rate: Double

    public init(total: Int, rate: Double) {
        precondition(total >= 0 && rate >= 0, "a ramp needs a non-negative total and rate")
        self.total = total
        self.rate = rate
    }

    /// Connections due `elapsed` after the start.
    public func due(after elapsed: Duration) -> Int {
        guard rate > 0 else { return total }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        guard seconds > 0 else { return 0 }
        let due = (seconds * rate).rounded(.down)
        return due >= Double(total) ? total : Int(due)
    }

    /// When the ramp has started every connection.
    public var duration: Duration {
        guard rate > 0 else { return .zero }
        return .milliseconds(Int64((Double(total) / rate * 1000).rounded(.up)))
    }
}
