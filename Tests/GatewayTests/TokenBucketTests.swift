import Testing
@testable import Gateway

@Suite struct TokenBucketTests {
    static let second: Int64 = 1_000_000_000

    @Test func burstThenRefusal() {
        var bucket = TokenBucket(rate: 2, burst: 3, now: 0)
        let taken = (0..<5).map { _ in bucket.take(now: 0) }
        #expect(taken == [true, true, true, false, false])
    }

    @Test func refillsAtTheRate() {
        var bucket = TokenBucket(rate: 2, burst: 3, now: 0)
        for _ in 0..<3 { _ = bucket.take(now: 0) }
        let afterQuarter = bucket.take(now: Self.second / 4)
        let afterHalf = bucket.take(now: Self.second / 2)
        let againAfterHalf = bucket.take(now: Self.second / 2)
        #expect(!afterQuarter, "a quarter second gives half a token")
        #expect(afterHalf, "half a second gives one")
        #expect(!againAfterHalf)
    }

    @Test func neverHoldsMoreThanTheBurst() {
        var bucket = TokenBucket(rate: 100, burst: 2, now: 0)
        let taken = (0..<3).map { _ in bucket.take(now: 3600 * Self.second) }
        #expect(taken == [true, true, false])
    }

    @Test func clockGoingBackDoesNotRefill() {
        var bucket = TokenBucket(rate: 1, burst: 1, now: 10 * Self.second)
        let first = bucket.take(now: 10 * Self.second)
        let afterGoingBack = bucket.take(now: 5 * Self.second)
        #expect(first)
        #expect(!afterGoingBack)
    }
}
