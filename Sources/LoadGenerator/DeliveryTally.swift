/// Loss accounting for one connection of `--mode fanout`: probes are numbered 0, 1, 2, ...
/// A subject spread over several Kafka partitions delivers them in order per partition only,
/// so arrivals may be reordered: a window of the 64 probes after the first one still missing
/// tells a late probe from a duplicate. Constant size, so a million connections can each keep one.
public struct DeliveryTally: Equatable, Sendable {
    /// The lowest probe index not received yet.
    public private(set) var next: Int32 = 0
    public private(set) var received: Int32 = 0
    public private(set) var duplicates: Int32 = 0
    /// Bit i set: probe `next + i` was received (bit 0 is always clear).
    private var window: UInt64 = 0
    private static let windowSize: Int32 = 64

    public init() {}

    public enum Arrival: Equatable, Sendable {
        case inOrder
        /// Received before some lower-numbered probe (reordered across partitions, or that one is lost).
        case early
        case duplicate
    }

    @discardableResult
    public mutating func record(_ index: Int) -> Arrival {
        var offset = Int32(clamping: index) - next
        if offset < 0 { return countDuplicate() }
        if offset >= Self.windowSize {
            // Too far ahead to keep the lowest missing probes in view: give up on the oldest ones.
            let slide = offset - Self.windowSize + 1
            window = slide >= Self.windowSize ? 0 : window >> UInt64(slide)
            next += slide
            offset -= slide
            advancePastReceived()
        }
        let bit: UInt64 = 1 << UInt64(offset)
        if window & bit != 0 { return countDuplicate() }
        window |= bit
        received += 1
        advancePastReceived()
        return offset == 0 ? .inOrder : .early
    }

    /// Probes of `published` (numbered 0..<published) this connection never received.
    public func missing(of published: Int) -> Int {
        max(0, published - Int(received))
    }

    private mutating func countDuplicate() -> Arrival {
        duplicates += 1
        return .duplicate
    }

    private mutating func advancePastReceived() {
        let run = (~window).trailingZeroBitCount
        window = run >= 64 ? 0 : window >> UInt64(run)
        next += Int32(run)
    }
}

/// Loss summed over every connection of a run.
public struct LossSummary: Codable, Equatable, Sendable {
    public var connections = 0
    public var published = 0
    /// connections x published: what a loss-free run delivers.
    public var expected = 0
    public var received = 0
    public var missing = 0
    public var duplicates = 0
    /// Connections that missed at least one probe.
    public var connectionsWithLoss = 0

    public init() {}

    public mutating func add(_ tally: DeliveryTally, published: Int) {
        connections += 1
        self.published = published
        expected += published
        received += Int(tally.received)
        let missing = tally.missing(of: published)
        self.missing += missing
        duplicates += Int(tally.duplicates)
        if missing > 0 { connectionsWithLoss += 1 }
    }

    public mutating func merge(_ other: LossSummary) {
        connections += other.connections
        published = max(published, other.published)
        expected += other.expected
        received += other.received
        missing += other.missing
        duplicates += other.duplicates
        connectionsWithLoss += other.connectionsWithLoss
    }
}
