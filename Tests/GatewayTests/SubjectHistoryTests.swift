import Testing
@testable import Gateway

@Suite struct SubjectHistoryTests {
    static let minute: Int64 = 60_000_000_000

    /// Messages with seqs `seqs` (frame = seq), one per second from time 0.
    private func history(_ seqs: [Int64], limit: Int = 1000) -> (SubjectHistory<Int64>, evicted: [Int64]) {
        var history = SubjectHistory<Int64>()
        var evicted: [Int64] = []
        for (index, seq) in seqs.enumerated() {
            evicted += history.append(seq: seq, frame: seq, at: Int64(index) * 1_000_000_000, limit: limit, maxAge: 3 * Self.minute)
        }
        return (history, evicted)
    }

    @Test func replaysExactlyWhatCameAfterTheLastSeenSeqInOrder() {
        let (history, _) = history([10, 11, 14, 15])
        let replay = history.replay(after: 11)
        #expect(replay.frames == [14, 15])
        #expect(replay.gap == nil, "offsets may skip within a subject")
        #expect(history.replay(after: 15).frames.isEmpty)
    }

    @Test func missedMessagesThatAreGoneAreAGap() {
        let (history, evicted) = history([1, 2, 3, 4, 5], limit: 2)
        #expect(evicted == [1, 2, 3])
        let replay = history.replay(after: 1)
        #expect(replay.gap == 2...3)
        #expect(replay.frames == [4, 5])
        #expect(history.replay(after: 3).gap == nil)
    }

    @Test func messagesBeforeTheFirstOneHeldAreUnknownSoAGap() {
        let (history, _) = history([40, 41])
        #expect(history.replay(after: 30).gap == 31...39)
        #expect(history.replay(after: 39).gap == nil)
    }

    @Test func oldMessagesAgeOut() {
        var (history, _) = history([1, 2, 3])
        let evicted = history.evict(olderThan: 1_500_000_000)
        #expect(evicted == [1, 2])
        #expect(history.replay(after: 0).gap == 1...2)
        #expect(history.replay(after: 0).frames == [3])
    }

    @Test func skippedMessagesCountAsGone() {
        var (history, _) = history([1, 2])
        history.skip(seq: 3)
        #expect(history.replay(after: 2).gap == 3...3)
    }
}
