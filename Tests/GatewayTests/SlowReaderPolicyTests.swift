// When a connection that is behind is dropped: the lag the ring adds up, judged without a ring.
import Testing
import UringIO
@testable import Gateway

@Suite struct SlowReaderPolicyTests {
    private static let second: Int64 = 1_000_000_000
    private var second: Int64 { Self.second }
    let policy = SlowReaderPolicy(maxLagBytes: 1_000, maxLagNanoseconds: 60 * second)

    @Test func keepsAReaderWithinBothLimits() {
        var lag = ReaderLag(pendingBytes: 400)
        lag.add(bytes: 600, oldestAt: 40 * second)
        #expect(lag.bytes == 1_000)
        #expect(policy.judge(lag, now: 100 * second) == .keep)
    }

    @Test func dropsPastTheByteLimitCountingQueueBacklogAndHistory() {
        var lag = ReaderLag(pendingBytes: 400)
        lag.add(bytes: 300, oldestAt: nil)
        lag.add(bytes: 301, oldestAt: nil)
        #expect(policy.judge(lag, now: 0) == .drop(.slowConsumer, reason: "reading too slowly: 1001 bytes behind (at most 1000)"))
    }

    @Test func dropsPastTheAgeLimitOfTheOldestUnsentMessage() {
        var lag = ReaderLag(pendingBytes: 0)
        lag.add(bytes: 10, oldestAt: 50 * second)
        lag.add(bytes: 10, oldestAt: 30 * second)
        lag.add(bytes: 10, oldestAt: nil)
        #expect(lag.oldestAt == 30 * second)
        #expect(policy.judge(lag, now: 90 * second) == .keep)
        #expect(policy.judge(lag, now: 90 * second + 1) == .drop(.slowConsumer, reason: "reading too slowly: 60 s behind (at most 60)"))
    }

    @Test func aReaderWithNothingInHistoryIsNeverTooOld() {
        let lag = ReaderLag(pendingBytes: 10)
        #expect(policy.judge(lag, now: .max) == .keep)
    }

    @Test func dropsAReaderWhoseNextMessageLeftTheHistoryWhateverItsLag() {
        var lag = ReaderLag(pendingBytes: 0)
        lag.noteMissedHistory()
        #expect(policy.judge(lag, now: 0) == .drop(.fellOutOfHistory, reason: SlowReaderPolicy.fellOutOfHistoryReason))
    }

    @Test func takesItsLimitsFromTheGatewayOptions() {
        var configuration = GatewayConfiguration(listen: try! SocketAddress(parsing: "127.0.0.1:0"))
        configuration.maxLagBytes = 5
        configuration.maxLagDuration = .milliseconds(1_500)
        #expect(SlowReaderPolicy(configuration) == SlowReaderPolicy(maxLagBytes: 5, maxLagNanoseconds: 1_500_000_000))
    }
}
