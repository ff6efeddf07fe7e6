import Testing
import UringIO
@testable import Gateway

/// Replies built off the ring (a pub's ok once Kafka acknowledged it) reach the ring even when
/// they cannot be built, so that it closes the connection instead of leaving it waiting.
@Suite struct ReplyLostTests {
    @Test func aReplyThatCannotBeBuiltReachesTheRingAsLost() throws {
        let pool = FramePool(capacity: 1)
        let hub = FanoutHub(subjects: SubjectRegistry(frames: pool, history: HistoryLimits()), frames: pool)
        let inbox = RingInbox()
        hub.attach(try RingLoop(index: 0, configuration: RingConfiguration(slots: 4), frames: pool, listener: nil), inbox: inbox)
        let address = ReplyAddress(ring: 0, slot: 2, connection: 7, requestID: 1)
        hub.reply(address, .ok(id: 1))
        hub.reply(address, .error(id: 1, code: .timeout, message: "the pool's only frame is taken"))
        var batch: [InboxMessage] = []
        inbox.drain(into: &batch)
        #expect(batch.count == 2)
        guard case .reply(2, 7, let frame) = batch.first else {
            Issue.record("the first reply was not built")
            return
        }
        guard case .replyLost(2, 7) = batch.last else {
            Issue.record("the second reply was not reported lost")
            return
        }
        pool.release(frame)
    }
}
