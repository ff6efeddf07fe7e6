import KafkaClient
import Testing
import UringIO
@testable import Gateway

/// The registry's side of cursors: positions for a sub's ok, and when a cursor reader may go live.
@Suite struct CursorRegistryTests {
    let starts: [TopicPartition: Int64] = [
        TopicPartition(topic: "question", partition: 0): 10, TopicPartition(topic: "question", partition: 1): 20,
        TopicPartition(topic: "question", partition: 2): 30,
    ]

    private func record(_ registry: SubjectRegistry, _ pool: FramePool, partition: Int32, seq: Int64) throws {
        let live = try pool.acquireOwned(bytes: 10)
        let retained = try pool.acquireOwned(bytes: 10)
        _ = registry.recordMessage("/question", seq: seq, partition: partition, keyless: true, live: live, retained: retained)
    }

    @Test func positionsAreTheNewestOffsetPerPartitionElseWhereTheConsumerStarted() throws {
        let pool = FramePool(capacity: 64)
        let registry = SubjectRegistry(frames: pool)
        let subject = registry.join("/question", ring: 0)
        #expect(registry.positions(subject, partitions: 3, startOffsets: starts) == (0, [0: 9, 1: 19, 2: 29]))
        try record(registry, pool, partition: 1, seq: 25)
        try record(registry, pool, partition: 0, seq: 12)
        #expect(registry.positions(subject, partitions: 3, startOffsets: starts) == (2, [0: 12, 1: 25, 2: 29]))
    }

    @Test func aCursorReaderPassesOverWhatItHasAndGoesLiveOnlyWhenNothingToComeIsAtOrBelowItsFloors() throws {
        let pool = FramePool(capacity: 64)
        let registry = SubjectRegistry(frames: pool)
        let subject = registry.join("/question", ring: 0)
        try record(registry, pool, partition: 0, seq: 10)
        try record(registry, pool, partition: 1, seq: 20)
        try record(registry, pool, partition: 0, seq: 11)
        // The client has partition 0 through 11 and partition 1 through 22: this gateway has read
        // partition 1 only to 20, so offsets 21 and 22 may still come and must not go out live.
        let floors: [Int32: Int64] = [0: 11, 1: 22, 2: 29]
        let (first, settled) = registry.read(subject, after: 0, maxFrames: 10, maxBytes: 1 << 20, cursorFloors: floors, startOffsets: starts)
        guard case .frames(let frames, let through, true) = first else {
            Issue.record("expected every held message read, got \(first)")
            return
        }
        #expect(frames.isEmpty, "all three are the client's already")
        for frame in frames { pool.release(frame) }
        #expect(!settled)
        try record(registry, pool, partition: 1, seq: 21)
        try record(registry, pool, partition: 1, seq: 23)
        let (second, nowSettled) = registry.read(
            subject, after: through, maxFrames: 10, maxBytes: 1 << 20, cursorFloors: floors, startOffsets: starts)
        guard case .frames(let more, _, true) = second else {
            Issue.record("expected the new messages, got \(second)")
            return
        }
        #expect(more.count == 1, "21 is the client's; 23 is new")
        for frame in more { pool.release(frame) }
        #expect(nowSettled)
    }
}
