import QuizRecords

/// One row of the leaderboard, as a `top` record lists it.
public typealias LeaderboardEntry = TopRecord.Entry

/// Cumulative totals per user and the top N, kept sorted incrementally.
///
/// Totals only grow, so a user outside the top can only enter it by scoring, and when they
/// do the one pushed out is the old last entry: each score change costs O(N), never O(users).
/// Order: higher score first; equal scores by who reached that score first (`reached` is
/// the engine's scoring sequence at the answer that brought the user to the total).
struct Leaderboard {
    let capacity: Int
    private(set) var totals: [Int64] = []
    private(set) var reached: [UInt64] = []
    private(set) var top: [UserID] = []
    /// Bumped whenever `top` or a score in it changes: lets callers cache its encoding.
    private(set) var version = 0
    private var topIsStale = false

    init(capacity: Int) {
        self.capacity = max(capacity, 0)
    }

    var userCount: Int { totals.count }

    func total(of user: UserID) -> Int64 {
        user < totals.count ? totals[user] : 0
    }

    func reachedSequence(of user: UserID) -> UInt64 {
        reached[user]
    }

    func ranksAbove(_ lhs: UserID, _ rhs: UserID) -> Bool {
        if totals[lhs] != totals[rhs] { return totals[lhs] > totals[rhs] }
        if reached[lhs] != reached[rhs] { return reached[lhs] < reached[rhs] }
        return lhs < rhs
    }

    /// Adds points for a counted answer; a user's first counted answer enters them at `sequence`.
    mutating func record(points: Int64, for user: UserID, sequence: UInt64) {
        if user >= totals.count {
            grow(to: user + 1)
            reached[user] = sequence
        } else if points == 0 {
            return
        } else {
            reached[user] = sequence
        }
        totals[user] += points
        if !topIsStale { placeInTop(user) }
    }

    /// Merges a restored total: the larger total wins (totals only grow), so replaying
    /// snapshots and results in any amount is harmless.
    mutating func merge(total: Int64, reached sequence: UInt64, for user: UserID) {
        if user >= totals.count {
            grow(to: user + 1)
        } else if total < totals[user] || (total == totals[user] && sequence >= reached[user]) {
            return
        }
        totals[user] = total
        reached[user] = sequence
        topIsStale = true
    }

    /// The top entries best first; rebuilt with one scan after a restore.
    mutating func topUsers() -> ArraySlice<UserID> {
        if topIsStale { rebuildTop() }
        return top[...]
    }

    private mutating func grow(to count: Int) {
        let added = count - totals.count
        totals.append(contentsOf: repeatElement(0, count: added))
        reached.append(contentsOf: repeatElement(0, count: added))
    }

    private mutating func placeInTop(_ user: UserID) {
        guard capacity > 0 else { return }
        var position: Int
        if let current = top.firstIndex(of: user) {
            position = current
        } else if top.count < capacity {
            top.append(user)
            position = top.count - 1
        } else if ranksAbove(user, top[top.count - 1]) {
            position = top.count - 1
            top[position] = user
        } else {
            return
        }
        while position > 0, ranksAbove(user, top[position - 1]) {
            top.swapAt(position, position - 1)
            position -= 1
        }
        version += 1
    }

    private mutating func rebuildTop() {
        top.removeAll(keepingCapacity: true)
        topIsStale = false
        for user in totals.indices {
            placeInTop(user)
        }
        version += 1
    }
}
