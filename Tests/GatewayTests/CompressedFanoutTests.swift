import StadiumProtocol
import Testing
import UringIO
import WebSocket
@testable import Gateway

/// With compression on, a published message gets its compressed form once, before it is shared:
/// every ring's delivery, the history and the retained message carry the same two frames.
@Suite struct CompressedFanoutTests {
    private struct Fanout {
        let pool = FramePool(capacity: 64)
        let registry: SubjectRegistry
        let hub: FanoutHub
        let inboxes = [RingInbox(), RingInbox()]

        init(compression: Bool, compressingConnections: Int = 1) throws {
            registry = SubjectRegistry(frames: pool, history: HistoryLimits())
            hub = FanoutHub(subjects: registry, frames: pool, compression: compression)
            for _ in 0..<compressingConnections { hub.countCompressingConnection(true) }
            for (index, inbox) in inboxes.enumerated() {
                hub.attach(
                    try RingLoop(index: index, configuration: RingConfiguration(slots: 4), frames: pool, listener: nil),
                    inbox: inbox)
            }
        }

        /// Publishes `value` on /question, subscribed on both rings; returns what each ring got.
        func publish(_ value: String) throws -> [FrameHandle] {
            let writer = FrameWriter(frames: pool)
            let subject = Array("/question".utf8)
            let data = Array(value.utf8).withUnsafeBytes { MessageData(recordValue: $0) }
            let (live, retained) = try subject.withUnsafeBytes { name in
                (try writer.message(subject: name, seq: 41, data: data, retained: false),
                 try writer.message(subject: name, seq: 41, data: data, retained: true))
            }
            _ = registry.join("/question", ring: 0)
            _ = registry.join("/question", ring: 1)
            hub.publish("/question", seq: 41, live: live, retained: retained)
            return inboxes.compactMap { inbox in
                var batch: [InboxMessage] = []
                inbox.drain(into: &batch)
                guard case .deliver(_, let frame, _) = batch.first else { return nil }
                return frame
            }
        }
    }

    /// The payload of a server frame, inflated when RSV1 says it is compressed.
    private static func payload(_ bytes: UnsafeRawBufferPointer) -> (compressed: Bool, text: String)? {
        guard case .header(let header) = FrameHeader.parse(bytes) else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: bytes[header.headerLength...])
        guard header.reservedBits != 0 else { return (false, String(decoding: body, as: UTF8.self)) }
        let inflater = MessageInflater(limit: 1 << 16)!
        return withExtendedLifetime(inflater) {
            guard case .inflated(let text) = inflater.inflate(body) else { return nil }
            return (true, String(decoding: text, as: UTF8.self))
        }
    }

    static let question = #"{"question_id":"q007-r41","text":"Which planet is known as the red planet?","choices":["Venus","Mars","Jupiter","Saturn"],"deadline_ms":1732400000000}"#

    @Test func aMessageIsCompressedOnceAndSharedByEveryRing() throws {
        let fanout = try Fanout(compression: true)
        let delivered = try fanout.publish(Self.question)
        #expect(delivered.count == 2)
        #expect(delivered[0] == delivered[1])
        let compressed = try #require(fanout.pool.compressed(delivered[0]))
        let plain = try #require(Self.payload(fanout.pool.bytes(delivered[0])))
        let inflated = try #require(Self.payload(fanout.pool.bytes(compressed)))
        #expect(!plain.compressed && inflated.compressed)
        #expect(inflated.text == plain.text)
        #expect(fanout.pool.bytes(compressed).count < fanout.pool.bytes(delivered[0]).count)
        // Live, retained and one compressed form of each: nothing per ring.
        #expect(fanout.pool.framesCreated == 4)

        let subject = fanout.registry.join("/question", ring: 0)
        let (retained, _) = try #require(fanout.registry.retained(subject))
        let retainedForm = try #require(fanout.pool.compressed(retained))
        let retainedText = try #require(Self.payload(fanout.pool.bytes(retainedForm)))
        #expect(retainedText.text.contains(#""retained":true"#))
        #expect(retainedText.text == Self.payload(fanout.pool.bytes(retained))?.text)
        fanout.pool.release(retained)
        for frame in delivered { fanout.pool.release(frame) }
    }

    @Test func shortMessagesCompressionOffAndNoDeflateClientsMeanNoCompressedForm() throws {
        let short = try Fanout(compression: true)
        let shortDelivered = try short.publish("1")
        #expect(short.pool.compressed(shortDelivered[0]) == nil)
        for frame in shortDelivered { short.pool.release(frame) }

        let off = try Fanout(compression: false)
        let offDelivered = try off.publish(Self.question)
        #expect(off.pool.compressed(offDelivered[0]) == nil)
        #expect(off.pool.framesCreated == 2)
        for frame in offDelivered { off.pool.release(frame) }

        // On, but no connection agreed to deflate: nothing is compressed for nobody.
        let unused = try Fanout(compression: true, compressingConnections: 0)
        let unusedDelivered = try unused.publish(Self.question)
        #expect(unused.pool.compressed(unusedDelivered[0]) == nil)
        for frame in unusedDelivered { unused.pool.release(frame) }
    }

    @Test func theCompressedFormGoesBackToThePoolWithItsFrame() throws {
        let pool = FramePool(capacity: 2)
        let frame = try pool.acquire(bytes: 100)
        let compressed = try pool.acquire(bytes: 50)
        pool.attachCompressed(compressed, to: frame)
        pool.retain(compressed)  // a socket's send queue holds the compressed form
        pool.release(frame)
        let reused = try pool.acquire(bytes: 10)
        #expect(reused == frame)
        #expect(pool.compressed(reused) == nil)
        // The queued compressed form outlives its frame until its send is done.
        #expect(throws: FramePool.PoolError.exhausted(frames: 2)) { try pool.acquire(bytes: 10) }
        pool.release(compressed)
        let again = try pool.acquire(bytes: 10)
        #expect(again == compressed)
        pool.release(again)
        pool.release(reused)
        #expect(pool.framesCreated == 2)
    }
}
