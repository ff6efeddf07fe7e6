/// Which users already answered one question: a bit per user id, so the first-answer check
/// costs one load and one store.
struct AnsweredSet: Equatable {
    private var words: [UInt64] = []
    private(set) var count = 0

    func contains(_ user: UserID) -> Bool {
        let word = user >> 6
        return word < words.count && words[word] & (1 << UInt64(user & 63)) != 0
    }

    /// Inserts `user`; false if it was already there.
    @discardableResult
    mutating func insert(_ user: UserID) -> Bool {
        let word = user >> 6
        if word >= words.count {
            words.append(contentsOf: repeatElement(0, count: max(word + 1 - words.count, words.count)))
        }
        let bit: UInt64 = 1 << UInt64(user & 63)
        if words[word] & bit != 0 { return false }
        words[word] |= bit
        count += 1
        return true
    }
}
