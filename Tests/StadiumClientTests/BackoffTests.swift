// The reconnect schedule: doubling ceilings up to the maximum, delays in the upper half of each.
@testable import StadiumClient
import Testing

@Suite("Backoff")
struct BackoffTests {
    let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))

    @Test("ceilings double from the initial delay and stop at the maximum")
    func ceilingsDouble() {
        let ceilings = (0..<9).map { backoff.ceiling(attempt: $0) }
        #expect(ceilings == [
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16),
            .seconds(30), .seconds(30), .seconds(30),
        ])
        // A very long outage neither overflows nor grows past the maximum.
        #expect(backoff.ceiling(attempt: 10_000) == .seconds(30))
    }

    @Test("the delay lies between half the ceiling and the ceiling, as the jitter picks")
    func jitterPicksWithinUpperHalf() {
        #expect(backoff.delay(attempt: 0, fraction: 0) == .milliseconds(250))
        #expect(backoff.delay(attempt: 0, fraction: 0.5) == .milliseconds(375))
        #expect(backoff.delay(attempt: 1, fraction: 1) == .seconds(1))
        #expect(backoff.delay(attempt: 20, fraction: 0) == .seconds(15))
    }

    @Test("random jitter spreads clients over the window")
    func randomJitterSpreads() {
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<200).map { _ in backoff.delay(attempt: 2, using: &generator) }
        #expect(delays.allSatisfy { $0 >= .seconds(1) && $0 <= .seconds(2) })
        // 200 draws from a continuous range are not all alike: clients do not return in one wave.
        #expect(Set(delays).count > 100)
    }
}
