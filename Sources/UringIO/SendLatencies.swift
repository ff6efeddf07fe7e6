// How long stamped frames took from their origin (a Kafka record's timestamp) to their last
// socket write, counted in fixed buckets: the frame pool counts, its owner reads the counts.
import Glibc
import Synchronization

public final class SendLatencies: Sendable {
    /// Upper bounds of the buckets in milliseconds, ascending; slower ones count only in `count`.
    public let boundsMilliseconds: [Int64]
    /// Once per message (its last send), not per socket: a lock costs nothing here.
    private let counts: Mutex<Snapshot>

    public init(boundsMilliseconds: [Int64]) {
        self.boundsMilliseconds = boundsMilliseconds
        counts = Mutex(Snapshot(cumulative: boundsMilliseconds.map { _ in 0 }, count: 0, sumMilliseconds: 0))
    }

    /// What was counted so far: per bucket the frames at or under its bound (cumulative, as
    /// Prometheus wants them), all frames, and their summed latency.
    public struct Snapshot: Equatable, Sendable {
        public var cumulative: [Int]
        public var count: Int
        public var sumMilliseconds: Int

        public init(cumulative: [Int], count: Int, sumMilliseconds: Int) {
            self.cumulative = cumulative
            self.count = count
            self.sumMilliseconds = sumMilliseconds
        }
    }

    public var snapshot: Snapshot { counts.withLock { $0 } }

    /// Counts one frame born at `originMilliseconds` (since 1970) whose last send is done now.
    func record(originMilliseconds: Int64) {
        let latency = max(0, Self.nowMilliseconds() - originMilliseconds)
        let first = boundsMilliseconds.firstIndex(where: { latency <= $0 }) ?? boundsMilliseconds.count
        counts.withLock { counts in
            for index in first..<counts.cumulative.count { counts.cumulative[index] += 1 }
            counts.count += 1
            counts.sumMilliseconds += Int(latency)
        }
    }

    private static func nowMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
