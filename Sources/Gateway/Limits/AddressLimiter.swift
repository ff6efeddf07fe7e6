// Connections per source address, across every ring: one shared count behind a lock, taken
// once when a connection's address is known and once when it closes, never per message.
import Synchronization
import UringIO

public final class AddressLimiter: Sendable {
    public let limit: Int
    private let counts = Mutex<[PeerAddress: Int]>([:])

    public init(limit: Int) {
        precondition(limit > 0, "a limit of 0 means no limiter")
        self.limit = limit
    }

    /// Counts a connection from `address`, or refuses it when that address already has `limit`.
    public func admit(_ address: PeerAddress) -> Bool {
        counts.withLock { counts in
            let current = counts[address, default: 0]
            guard current < limit else { return false }
            counts[address] = current + 1
            return true
        }
    }

    /// A connection `admit` counted has closed.
    public func release(_ address: PeerAddress) {
        counts.withLock { counts in
            guard let current = counts[address] else { return }
            counts[address] = current > 1 ? current - 1 : nil
        }
    }

    public func connections(from address: PeerAddress) -> Int {
        counts.withLock { $0[address, default: 0] }
    }
}
