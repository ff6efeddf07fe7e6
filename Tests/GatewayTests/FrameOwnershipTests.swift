import Foundation
import StadiumProtocol
import Testing
import UringIO
import WebSocket
@testable import Gateway

/// Frames the gateway builds return to the pool when their owners are done (a history that lets
/// one go included), and a frame that cannot be built is counted, never dropped silently.
@Suite struct FrameOwnershipTests {
    private static func errorCount(_ metrics: GatewayMetrics, _ kind: ErrorKind, _ pool: FramePool) -> Int? {
        let text = String(decoding: metrics.render(loops: [], subjectCount: 0, frames: pool), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("stadium_errors_total") && $0.contains("\"\(kind.rawValue)\"") }
        return line.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } }
    }

    /// A hub with one (unstarted) ring whose inbox the test drains.
    private struct OneRing {
        let pool: FramePool
        let metrics = GatewayMetrics()
        let hub: FanoutHub
        let inbox = RingInbox()

        init(poolCapacity: Int, compression: Bool = false) throws {
            pool = FramePool(capacity: poolCapacity)
            hub = FanoutHub(
                subjects: SubjectRegistry(frames: pool, history: HistoryLimits()), frames: pool, compression: compression,
                metrics: metrics)
            hub.attach(try RingLoop(index: 0, configuration: RingConfiguration(slots: 4), frames: pool, listener: nil), inbox: inbox)
        }

        func drain() -> [InboxMessage] {
            var batch: [InboxMessage] = []
            inbox.drain(into: &batch)
            return batch
        }
    }

    @Test func aHistoryEvictionReturnsItsFrame() throws {
        let pool = FramePool(capacity: 16)
        var limits = HistoryLimits()
        limits.messages = 2
        let registry = SubjectRegistry(frames: pool, history: limits)
        for seq in 0..<6 {
            _ = registry.recordMessage(
                "/question", seq: Int64(seq), partition: nil, live: try pool.acquireOwned(bytes: 10),
                retained: try pool.acquireOwned(bytes: 10))
        }
        // Two live frames in the history and the newest retained one: the rest went back.
        #expect(pool.framesInUse == 3)
    }

    @Test func aMessageThatCannotBeBuiltIsCountedAndThePublisherTold() throws {
        // One frame: the live form takes it, the retained form finds none.
        let ring = try OneRing(poolCapacity: 1)
        let route = LocalRoute(hub: ring.hub, metrics: ring.metrics)
        _ = ring.hub.subjects.join("/question", ring: 0)
        let address = ReplyAddress(ring: 0, slot: 1, connection: 9, requestID: 4)
        route.publish(subject: "/question", data: Array(#"{"q":1}"#.utf8).span.bytes, user: nil, replyTo: address)
        #expect(Self.errorCount(ring.metrics, .messageNotEncoded, ring.pool) == 1)
        let batch = ring.drain()
        #expect(batch.count == 1, "nothing delivered, only the answer")
        guard case .reply(1, 9, let posted) = batch.first else {
            Issue.record("the publisher was not answered: \(batch)")
            return
        }
        // The live frame went back to the pool as the failure unwound: the err could use it.
        let reply = OwnedFrame(adopting: posted, from: ring.pool)
        let text = String(decoding: reply.bytes, as: UTF8.self)
        #expect(text.contains(#""op":"err""#) && text.contains(#""id":4"#))
        _ = consume reply
        #expect(ring.pool.framesInUse == 0)
    }

    @Test func aCompressedFormThatCannotBeBuiltIsCountedAndThePlainFrameServes() throws {
        // Live and retained take both frames: none is left for the compressed form.
        let ring = try OneRing(poolCapacity: 2, compression: true)
        _ = ring.hub.subjects.join("/question", ring: 0)
        let writer = FrameWriter(frames: ring.pool)
        let value = Array(#"{"text":"\#(String(repeating: "which planet is red? ", count: 8))"}"#.utf8)
        try Array("/question".utf8).withUnsafeBytes { name in
            try value.withUnsafeBytes { bytes in
                let data = MessageData(recordValue: bytes.bytes)
                let live = try writer.message(subject: name.bytes, seq: 1, data: data, retained: false)
                let retained = try writer.message(subject: name.bytes, seq: 1, data: data, retained: true)
                ring.hub.publish("/question", seq: 1, live: live, retained: retained)
            }
        }
        guard case .deliver(_, let posted, _) = ring.drain().first else {
            Issue.record("the message was not delivered")
            return
        }
        let frame = OwnedFrame(adopting: posted, from: ring.pool)
        #expect(ring.hub.compressedForm(of: frame.handle) == nil)
        #expect(Self.errorCount(ring.metrics, .compressionNotEncoded, ring.pool) == 1)
        #expect(ring.pool.compressedForm(frame.handle) == .none, "settled: the next socket does not try again")
    }
}
