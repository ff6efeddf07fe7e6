// A per-connection publish budget: `burst` pubs at once, refilled at `rate` per second.
// Time comes in as monotonic nanoseconds so tests drive it without a clock.
public struct TokenBucket: Equatable, Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var refilledAt: Int64

    /// A full bucket at `now`.
    public init(rate: Double, burst: Double, now: Int64) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        refilledAt = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: Int64) -> Bool {
        if now > refilledAt {
            tokens = min(burst, tokens + Double(now - refilledAt) * rate / 1e9)
            refilledAt = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
