// When a process gives the memory of finished handshakes back to the kernel: after enough of
// them, and not more often than every few seconds, whichever ring notices first.
import StadiumTLS
import Synchronization

/// The decision alone (pure): how many handshakes ended since the last trim, and how long ago it was.
public struct HandshakeTrimPolicy: Sendable {
    /// Fewer leave too little behind to be worth walking the heap for.
    public var minimumHandshakes = 1_000
    /// A trim holds the allocator's locks; rings allocate little, but not never.
    public var minimumIntervalNanoseconds: Int64 = 5_000_000_000

    public init() {}

    public func isDue(handshakesSinceTrim: Int, nanosecondsSinceTrim: Int64) -> Bool {
        handshakesSinceTrim >= minimumHandshakes && nanosecondsSinceTrim >= minimumIntervalNanoseconds
    }
}

/// Shared by a process's rings: their `TLSConnections` count handshakes that ended, and on a
/// ring's tick one of them trims when the policy says so.
public final class HandshakeMemoryTrim: Sendable {
    private let policy: HandshakeTrimPolicy
    private let ended = Atomic<Int>(0)
    private let lastTrim = Atomic<Int64>(0)
    private let epoch = ContinuousClock.now

    public init(policy: HandshakeTrimPolicy = HandshakeTrimPolicy()) {
        self.policy = policy
    }

    func handshakeEnded() {
        ended.wrappingAdd(1, ordering: .relaxed)
    }

    /// On a ring's tick: trims if due; only one ring wins the moment.
    public func trimIfDue() {
        let elapsed = (ContinuousClock.now - epoch).components
        let now = elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
        let last = lastTrim.load(ordering: .relaxed)
        guard policy.isDue(handshakesSinceTrim: ended.load(ordering: .relaxed), nanosecondsSinceTrim: now - last),
            lastTrim.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return }
        ended.store(0, ordering: .relaxed)
        HandshakeMemory.returnFreedPages()
    }
}
