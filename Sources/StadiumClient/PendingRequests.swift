/// The requests waiting for their `ok` or `err`, by id, each with what the client needs to act on
/// the reply. Ids are never reused, not even across connections, so a reply always finds the
/// request it answers.
public struct PendingRequests<Context> {
    private var byID: [Int64: Context] = [:]
    private var lastID: Int64 = 0

    public init() {}

    /// Takes the next id and remembers `context` under it.
    public mutating func register(_ context: Context) -> Int64 {
        lastID += 1
        byID[lastID] = context
        return lastID
    }

    /// Removes and returns the request a reply with `id` answers; nil when none has that id.
    public mutating func settle(_ id: Int64?) -> Context? {
        guard let id else { return nil }
        return byID.removeValue(forKey: id)
    }

    /// Removes and returns everything still waiting, oldest first (the connection is gone).
    public mutating func removeAll() -> [Context] {
        let waiting = byID.sorted { $0.key < $1.key }.map(\.value)
        byID.removeAll()
        return waiting
    }

    public var count: Int { byID.count }
}

extension PendingRequests: Sendable where Context: Sendable {}
