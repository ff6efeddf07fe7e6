/// How long to wait before each reconnect attempt: doubling from `initial` up to `maximum`, then a
/// random point in the upper half of that, so a stadium of clients dropped by one gateway restart
/// does not come back in one wave.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30)) {
        precondition(initial > .zero && maximum >= initial, "Backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
    }

    /// The ceiling of attempt `attempt` (0 for the first after a drop): min(maximum, initial * 2^attempt).
    public func ceiling(attempt: Int) -> Duration {
        var ceiling = initial
        // Doubling stops at the maximum, so a long outage cannot overflow the arithmetic.
        for _ in 0..<max(0, attempt) where ceiling < maximum {
            ceiling = ceiling * 2
        }
        return min(ceiling, maximum)
    }

    /// The wait before attempt `attempt`: `fraction` (0..<1, random in use) picks a point from
    /// half the ceiling up to the ceiling.
    public func delay(attempt: Int, fraction: Double) -> Duration {
        let ceiling = ceiling(attempt: attempt)
        return ceiling / 2 + (ceiling / 2) * min(max(fraction, 0), 1)
    }

    /// The wait before attempt `attempt`, with the jitter drawn from `generator`.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        delay(attempt: attempt, fraction: Double.random(in: 0..<1, using: &generator))
    }
}
