// --mode idle: subscribe to one subject and hold the connection, counting what arrives.
import StadiumProtocol

final class IdleScript: SessionScript {
    /// What connection n (numbered over the whole run) subscribes to.
    private let subjects: (Int) -> [String]
    private let counters: LoadCounters
    private let latency: LatencyRecorder
    private var subscribeSentUs: [Int64]
    static let subscribeRequestID: Int64 = 1

    convenience init(subjects: [String], connectionsInRing: Int, counters: LoadCounters, latency: LatencyRecorder) {
        self.init(subjects: { _ in subjects }, connectionsInRing: connectionsInRing, counters: counters, latency: latency)
    }

    init(subjects: @escaping (Int) -> [String], connectionsInRing: Int, counters: LoadCounters, latency: LatencyRecorder) {
        self.subjects = subjects
        self.counters = counters
        self.latency = latency
        subscribeSentUs = Array(repeating: 0, count: connectionsInRing)
    }

    func opened(_ link: SessionLink, connection: Int) {
        subscribeSentUs[link.localIndex(of: connection)] = Clock.monotonicMicroseconds()
        link.sendText(connection: connection, ClientRequestEncoder.sub(id: Self.subscribeRequestID, subjects: subjects(connection)))
    }

    func received(_ link: SessionLink, connection: Int, message: ServerMessage, bytes: RawSpan) {
        switch message {
        case .ok(let id) where id == Self.subscribeRequestID:
            counters.add(.subscribed)
            latency.record(.subscribe, microseconds: Clock.monotonicMicroseconds() - subscribeSentUs[link.localIndex(of: connection)])
        case .msg(_, _, _, let retained):
            counters.add(retained ? .retained : .messages)
        case .err:
            counters.add(.errors)
        case .ok, .gap:
            break
        }
    }

    func ticked(_ link: SessionLink) {}

    func closed(_ link: SessionLink, connection: Int) {}
}
