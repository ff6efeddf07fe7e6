// When a connection that is behind is given up on (close 1008): past --max-lag-bytes, past
// --max-lag-seconds, or once its next message has left the history. Such a client would otherwise
// hold frames and history for as long as it does not read; it may resume with since. Pure: the ring
// adds up the lag, this judges it.

/// How far one connection is behind: what waits in its queue and backlog, and what the history
/// holds for the subjects it reads from there.
struct ReaderLag: Equatable {
    private(set) var bytes: Int
    /// When the oldest message it has not been sent was recorded (the registry's clock, nanoseconds).
    private(set) var oldestAt: Int64?
    /// What it needs next on some subject is no longer in the history.
    private(set) var missedHistory = false

    init(pendingBytes: Int) {
        bytes = pendingBytes
    }

    /// One subject it reads from history: `bytes` not yet sent, the oldest from `oldestAt`.
    mutating func add(bytes: Int, oldestAt: Int64?) {
        self.bytes += bytes
        if let oldestAt { self.oldestAt = min(self.oldestAt ?? oldestAt, oldestAt) }
    }

    mutating func noteMissedHistory() {
        missedHistory = true
    }
}

struct SlowReaderPolicy: Equatable {
    enum Verdict: Equatable {
        case keep
        /// Close with 1008 for `reason`, counted as `kind`.
        case drop(ErrorKind, reason: String)
    }

    static let fellOutOfHistoryReason = "reading too slowly: missed messages left the history; resubscribe with since"

    let maxLagBytes: Int
    let maxLagNanoseconds: Int64

    init(maxLagBytes: Int, maxLagNanoseconds: Int64) {
        self.maxLagBytes = maxLagBytes
        self.maxLagNanoseconds = maxLagNanoseconds
    }

    init(_ configuration: GatewayConfiguration) {
        self.init(maxLagBytes: configuration.maxLagBytes, maxLagNanoseconds: TrustPolicy.nanoseconds(configuration.maxLagDuration))
    }

    /// The verdict on a connection `lag` behind at `now` (the registry's clock).
    func judge(_ lag: ReaderLag, now: Int64) -> Verdict {
        if lag.missedHistory { return .drop(.fellOutOfHistory, reason: Self.fellOutOfHistoryReason) }
        if lag.bytes > maxLagBytes {
            return .drop(.slowConsumer, reason: "reading too slowly: \(lag.bytes) bytes behind (at most \(maxLagBytes))")
        }
        let behindNanoseconds = lag.oldestAt.map { now - $0 } ?? 0
        if behindNanoseconds > maxLagNanoseconds {
            return .drop(
                .slowConsumer,
                reason: "reading too slowly: \(behindNanoseconds / 1_000_000_000) s behind (at most \(maxLagNanoseconds / 1_000_000_000))")
        }
        return .keep
    }
}
