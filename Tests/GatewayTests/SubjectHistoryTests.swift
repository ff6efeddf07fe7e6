import Testing
@testable import Gateway

@Suite struct SubjectHistoryTests {
    static let minute: Int64 = 60_000_000_000
    static let second: Int64 = 1_000_000_000

    /// Messages with seqs `seqs` (frame = seq, version = position + 1, 100 bytes each), one per
    /// second from time 0.
    private func history(_ seqs: [Int64], limit: Int = 1000, maxAge: Int64 = 3 * minute) -> (SubjectHistory<Int64>, evicted: [Int64]) {
        var history = SubjectHistory<Int64>()
        var evicted: [Int64] = []
        for (index, seq) in seqs.enumerated() {
            evicted += history.append(
                seq: seq, version: UInt64(index + 1), frame: seq, bytes: 100, at: Int64(index) * Self.second,
                limit: limit, maxAge: maxAge)
        }
        return (history, evicted)
    }

    @Test func aReaderGetsTheMessagesAfterItsPositionInOrderAndInChunks() {
        let (history, _) = history([10, 11, 14, 15, 16])
        #expect(history.read(after: 1, current: 5, maxFrames: 2, maxBytes: 1 << 20) == .frames([11, 14], through: 3, caughtUp: false))
        #expect(history.read(after: 3, current: 5, maxFrames: 10, maxBytes: 1 << 20) == .frames([15, 16], through: 5, caughtUp: true))
        #expect(history.read(after: 5, current: 5, maxFrames: 10, maxBytes: 1 << 20) == .caughtUp)
    }

    @Test func aChunkStopsAtTheByteBudgetButAlwaysTakesOneMessage() {
        let (history, _) = history([1, 2, 3])
        #expect(history.read(after: 0, current: 3, maxFrames: 10, maxBytes: 250) == .frames([1, 2], through: 2, caughtUp: false))
        #expect(history.read(after: 0, current: 3, maxFrames: 10, maxBytes: 10) == .frames([1], through: 1, caughtUp: false))
    }

    @Test func aReaderWhoseNextMessageIsGoneIsOutOfHistory() {
        let (history, evicted) = history([1, 2, 3, 4, 5], limit: 2)
        #expect(evicted == [1, 2, 3])
        #expect(history.read(after: 1, current: 5, maxFrames: 10, maxBytes: 1 << 20) == .outOfHistory)
        #expect(history.read(after: 3, current: 5, maxFrames: 10, maxBytes: 1 << 20) == .frames([4, 5], through: 5, caughtUp: true))
        #expect(history.lag(after: 2, current: 5) == nil)
    }

    @Test func aSkippedMessageStopsAReaderAtTheHole() {
        var history = SubjectHistory<Int64>()
        _ = history.append(seq: 1, version: 1, frame: 1, bytes: 10, at: 0, limit: 10, maxAge: Self.minute)
        history.skip(seq: 2)
        _ = history.append(seq: 3, version: 3, frame: 3, bytes: 10, at: 0, limit: 10, maxAge: Self.minute)
        #expect(history.read(after: 0, current: 3, maxFrames: 10, maxBytes: 1 << 20) == .frames([1], through: 1, caughtUp: false))
        #expect(history.read(after: 1, current: 3, maxFrames: 10, maxBytes: 1 << 20) == .outOfHistory)
    }

    @Test func lagCountsTheBytesNotYetGivenAndWhenTheOldestOfThemWasRecorded() {
        let (history, _) = history([1, 2, 3, 4])
        #expect(history.lag(after: 1, current: 4) == .init(bytes: 300, oldestAt: 1 * Self.second))
        #expect(history.lag(after: 4, current: 4) == .init(bytes: 0, oldestAt: nil))
    }

    @Test func resumingAfterASeqStartsAtTheFirstMessageAfterIt() {
        let (history, _) = history([10, 11, 14, 15])
        let resume = history.resumePoint(afterSeq: 11, current: 4)
        #expect(resume.gap == nil, "offsets may skip within a subject")
        #expect(resume.after == 2)
        #expect(history.resumePoint(afterSeq: 15, current: 4).after == 4, "nothing missed: caught up")
    }

    @Test func missedMessagesThatAreGoneAreAGap() {
        let (history, _) = history([1, 2, 3, 4, 5], limit: 2)
        let resume = history.resumePoint(afterSeq: 1, current: 5)
        #expect(resume.gap == 2...3)
        #expect(history.read(after: resume.after, current: 5, maxFrames: 10, maxBytes: 1 << 20) == .frames([4, 5], through: 5, caughtUp: true))
        #expect(history.resumePoint(afterSeq: 3, current: 5).gap == nil)
    }

    @Test func messagesBeforeTheFirstOneHeldAreUnknownSoAGap() {
        let (history, _) = history([40, 41])
        #expect(history.resumePoint(afterSeq: 30, current: 2).gap == 31...39)
        #expect(history.resumePoint(afterSeq: 39, current: 2).gap == nil)
    }

    @Test func oldMessagesAgeOut() {
        var (history, _) = history([1, 2, 3])
        let evicted = history.evict(olderThan: 1_500_000_000)
        #expect(evicted == [1, 2])
        let resume = history.resumePoint(afterSeq: 0, current: 3)
        #expect(resume.gap == 1...2)
        #expect(history.read(after: resume.after, current: 3, maxFrames: 10, maxBytes: 1 << 20) == .frames([3], through: 3, caughtUp: true))
    }

    @Test func skippedMessagesCountAsGone() {
        var (history, _) = history([1, 2])
        history.skip(seq: 3)
        #expect(history.resumePoint(afterSeq: 2, current: 3).gap == 3...3)
    }

    @Test func aHistoryTheBudgetEmptiesAfterEachMessageStoresNothing() {
        // The soak's shape: a player's subject gets a message now and then, and the global
        // history budget takes it soon after; a thousand such messages must not pile up.
        var history = SubjectHistory<Int64>()
        for seq in Int64(0)..<1000 {
            #expect(history.append(
                seq: seq, version: UInt64(seq + 1), frame: seq, bytes: 100, at: seq * Self.second,
                limit: 1000, maxAge: 100 * Self.minute).isEmpty)
            #expect(history.dropOldestIfAny() == seq)
            #expect(history.count == 0)
            #expect(history.storedEntries == 0)
        }
        #expect(history.dropOldestIfAny() == nil)
        #expect(history.resumePoint(afterSeq: 997, current: 1000).gap == 998...999)
    }

    @Test func droppedMessagesAreLetGoOfWhileNewerOnesAreHeld() {
        var history = SubjectHistory<Int64>()
        for seq in Int64(0)..<1000 {
            _ = history.append(
                seq: seq, version: UInt64(seq + 1), frame: seq, bytes: 100, at: seq * Self.second,
                limit: 1000, maxAge: 100 * Self.minute)
            // The budget keeps the newest four of this subject.
            if history.count > 4 { #expect(history.dropOldestIfAny() == seq - 4) }
            #expect(history.storedEntries <= history.count + SubjectHistory<Int64>.compactionSlack)
        }
        #expect(history.read(after: 996, current: 1000, maxFrames: 10, maxBytes: 1 << 20) == .frames([996, 997, 998, 999], through: 1000, caughtUp: true))
        #expect(history.read(after: 995, current: 1000, maxFrames: 10, maxBytes: 1 << 20) == .outOfHistory)
    }

    @Test func messagesThatAgedOutAreLetGoOf() {
        var (history, _) = history((0..<200).map { Int64($0) }, maxAge: 100 * Self.minute)
        #expect(history.evict(olderThan: 1000 * Self.second).count == 200)
        #expect(history.storedEntries == 0)
    }

    @Test func aLongHistoryIsReadInFullWithoutLosingItsPlace() {
        let seqs = (0..<5000).map { Int64($0) }
        let (history, _) = history(seqs, limit: 10_000, maxAge: 100 * Self.minute)
        var position: UInt64 = 0
        var seen: [Int64] = []
        while case .frames(let frames, let through, _) = history.read(after: position, current: 5000, maxFrames: 16, maxBytes: 1 << 20) {
            seen += frames
            position = through
        }
        #expect(seen == seqs)
    }

    @Test func afterAKafkaReadOnlyWhatThisHistoryLetGoOfIsAGap() {
        let (history, _) = history([40, 41, 42], limit: 2)
        // It never saw anything before 40: a reader that read Kafka through 39 misses nothing.
        #expect(history.continuation(afterSeq: 39, current: 3).gap == 40...40, "40 was held and evicted")
        #expect(history.continuation(afterSeq: 40, current: 3).gap == nil)
        #expect(history.continuation(afterSeq: 40, current: 3).after == 1, "41 is version 2")
        let (fresh, _) = self.history([40, 41])
        #expect(fresh.continuation(afterSeq: 20, current: 2).gap == nil)
        #expect(fresh.continuation(afterSeq: 20, current: 2).after == 0)
    }
}

@Suite struct ResumeAheadOfTheGatewayTests {
    @Test func messagesUpToTheClientsSinceArePassedOverNotSent() {
        var history = SubjectHistory<Int64>()
        for (index, seq) in [Int64(5), 6, 7, 8].enumerated() {
            _ = history.append(seq: seq, version: UInt64(index + 1), frame: seq, bytes: 10, at: 0, limit: 10, maxAge: 1 << 40)
        }
        // The client saw seq 7 on another gateway; this one reads 5...8 only now.
        #expect(history.read(after: 0, current: 4, maxFrames: 10, maxBytes: 1 << 20, skipThroughSeq: 7) == .frames([8], through: 4, caughtUp: true))
        #expect(history.read(after: 0, current: 4, maxFrames: 2, maxBytes: 1 << 20, skipThroughSeq: 7) == .frames([8], through: 4, caughtUp: true),
                "passed-over messages do not count against the chunk")
        #expect(history.seq(atVersion: 3) == 7)
        #expect(history.seq(atVersion: 9) == nil)
    }
}

/// A subject without a key: its messages come from several partitions, each its own offsets.
@Suite struct CursorHistoryTests {
    /// (partition, offset) in the order recorded; frame = offset, version = position + 1.
    private func history(_ messages: [(Int32, Int64)], limit: Int = 1000) -> SubjectHistory<Int64> {
        var history = SubjectHistory<Int64>()
        for (index, (partition, seq)) in messages.enumerated() {
            _ = history.append(
                seq: seq, partition: partition, version: UInt64(index + 1), frame: seq, bytes: 10, at: 0, limit: limit,
                maxAge: 1 << 40)
        }
        return history
    }

    @Test func aCursorReaderPassesOverWhatItHasInEachPartition() {
        let history = history([(0, 10), (1, 3), (0, 11), (2, 50), (1, 4), (0, 12)])
        // The client has partition 0 through 11 and partition 1 through 3; partition 2 through 49.
        let read = history.read(after: 0, current: 6, maxFrames: 10, maxBytes: 1 << 20, cursorFloors: [0: 11, 1: 3, 2: 49])
        #expect(read == .frames([50, 4, 12], through: 6, caughtUp: true))
        #expect(history.read(after: 0, current: 6, maxFrames: 10, maxBytes: 1 << 20, cursorFloors: [0: 12, 1: 4, 2: 50])
            == .frames([], through: 6, caughtUp: true))
    }

    @Test func whatTheHistoryLetGoOfIsAGapInItsOwnPartitionOnly() {
        let history = history([(0, 10), (1, 3), (0, 11), (1, 4), (0, 12)], limit: 3)
        // 0:10 and 1:3 are gone; the oldest held is 0:11 (version 3).
        #expect(history.evictedThroughByPartition == [0: 10, 1: 3])
        let (gaps, after) = history.cursorContinuation(floors: [0: 9, 1: 3, 2: 7], current: 5)
        #expect(gaps == [0: 10...10])
        #expect(after == 2)
        #expect(history.cursorContinuation(floors: [0: 10, 1: 2], current: 5).gaps == [1: 3...3])
        #expect(SubjectHistory<Int64>().cursorContinuation(floors: [0: 1], current: 4) == ([:], 4))
    }

    @Test func aKeyedSubjectsHistoryKeepsNoPartitions() {
        var history = SubjectHistory<Int64>()
        for seq in Int64(1)...4 {
            _ = history.append(seq: seq, version: UInt64(seq), frame: seq, bytes: 10, at: 0, limit: 2, maxAge: 1 << 40)
        }
        #expect(history.evictedThrough == 2)
        #expect(history.evictedThroughByPartition.isEmpty)
    }
}
