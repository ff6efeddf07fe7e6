// What a connection does once its WebSocket is open: the part that differs between modes.
import StadiumProtocol
import Synchronization

/// The ring side a script talks to. Called on the ring's thread only.
protocol SessionLink: AnyObject {
    /// Sends one text message on a connection; false when it is not open or its queue is full.
    @discardableResult
    func sendText(connection: Int, _ payload: [UInt8]) -> Bool
    func isOpen(connection: Int) -> Bool
    /// Position of a connection in this ring's per-connection arrays.
    func localIndex(of connection: Int) -> Int
    /// The connection at a local position.
    func connection(atLocal index: Int) -> Int
    var random: SplitMix64 { get set }
}

/// One instance per ring; keeps per-connection state in arrays indexed by local position.
protocol SessionScript: AnyObject {
    func opened(_ link: SessionLink, connection: Int)
    /// `bytes`: the whole text message the message's ranges point into, borrowed for the call.
    func received(_ link: SessionLink, connection: Int, message: ServerMessage, bytes: RawSpan)
    func ticked(_ link: SessionLink)
    func closed(_ link: SessionLink, connection: Int)
    /// Adds this ring's loss accounting (fan-out only).
    func lossSummary() -> LossSummary?
    /// This ring's players, each accounted on its own (players mode only).
    func playerSummary(stoppedEarly: Bool) -> PlayerSummary?
}

extension SessionScript {
    func lossSummary() -> LossSummary? { nil }
    func playerSummary(stoppedEarly: Bool) -> PlayerSummary? { nil }
}

/// Where a run is, shared by the supervising thread with the rings' scripts.
final class RunPhase: Sendable {
    /// Past --duration: bots send no new answers while those sent settle.
    let draining = Atomic<Bool>(false)
}

/// Wall-clock and monotonic time in the units the scripts record.
enum Clock {
    static func wallMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    static func monotonicMicroseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
}

#if canImport(Glibc)
import Glibc
#endif
