/// Loss accounting for one connection of `--mode fanout`: probes are numbered 0, 1, 2, ...
/// and arrive in order on one connection, so a jump forward is loss and a step back is a
/// duplicate. Constant size, so a million connections can each keep one.
public struct DeliveryTally: Equatable, Sendable {
    /// The probe index expected next.
    public private(set) var next: Int32 = 0
    public private(set) var received: Int32 = 0
    public private(set) var skipped: Int32 = 0
    public private(set) var duplicates: Int32 = 0

    public init() {}

    public enum Arrival: Equatable, Sendable {
        case inOrder
        /// Probes between the expected one and this one never came.
        case afterGap(missing: Int)
        case duplicate
    }

    @discardableResult
    public mutating func record(_ index: Int) -> Arrival {
        let index = Int32(clamping: index)
        if index < next {
            duplicates += 1
            return .duplicate
        }
        received += 1
        let gap = index - next
        skipped += gap
        next = index + 1
        return gap == 0 ? .inOrder : .afterGap(missing: Int(gap))
    }

    /// Probes of `published` (numbered 0..<published) this connection never received.
    public func missing(of published: Int) -> Int {
        max(0, published - Int(received))
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
