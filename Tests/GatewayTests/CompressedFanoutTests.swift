import StadiumProtocol
import Testing
import UringIO
import WebSocket
@testable import Gateway

/// With compression on, a message is compressed the first time a socket that agreed to
/// permessage-deflate needs it, once for every ring; a message no such socket is sent (a retained
/// message nobody new reads, a player's own message to a plain client) is never compressed.
@Suite struct CompressedFanoutTests {
    private struct Fanout {
        let pool = FramePool(capacity: 64)
        let registry: SubjectRegistry
        let hub: FanoutHub
        let inboxes = [RingInbox(), RingInbox()]

        init(compression: Bool) throws {
            registry = SubjectRegistry(frames: pool, history: HistoryLimits())
            hub = FanoutHub(subjects: registry, frames: pool, compression: compression)
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
            let value = Array(value.utf8)
            let data = MessageData(recordValue: value.span.bytes)
            _ = registry.join("/question", ring: 0)
            _ = registry.join("/question", ring: 1)
            try subject.withUnsafeBytes { name in
                let live = try writer.message(subject: name.bytes, seq: 41, data: data, retained: false)
                let retained = try writer.message(subject: name.bytes, seq: 41, data: data, retained: true)
                hub.publish("/question", seq: 41, live: live, retained: retained)
            }
            return inboxes.compactMap { inbox in
                var batch: [InboxMessage] = []
                inbox.drain(into: &batch)
                guard case .deliver(_, let frame, _) = batch.first else { return nil }
                return frame
            }
        }

        /// The subject's retained frame, as a subscriber is given it.
        func retained() throws -> OwnedFrame {
            let subject = registry.join("/question", ring: 0)
            defer { registry.leave(subject) }
            guard let held = registry.retained(subject) else { throw MissingRetained() }
            return held.frame.retained()
        }

        struct MissingRetained: Error {}
    }

    /// The payload of a server frame, inflated when RSV1 says it is compressed.
    private static func payload(_ bytes: UnsafeRawBufferPointer) -> (compressed: Bool, text: String)? {
        guard case .header(let header) = FrameHeader.parse(bytes.bytes) else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: bytes[header.headerLength...])
        guard header.reservedBits != 0 else { return (false, String(decoding: body, as: UTF8.self)) }
        let inflater = MessageInflater(limit: 1 << 16)!
        return withExtendedLifetime(inflater) {
            guard case .inflated(let text) = inflater.inflate(body.bytes) else { return nil }
            return (true, text.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        }
    }

    static let question = #"{"question_id":"q007-r41","text":"Which planet is known as the red planet?","choices":["Venus","Mars","Jupiter","Saturn"],"deadline_ms":1732400000000}"#

    @Test func publishingCompressesNothing() throws {
        let fanout = try Fanout(compression: true)
        let delivered = try fanout.publish(Self.question)
        #expect(delivered.count == 2)
        #expect(delivered[0] == delivered[1])
        // Live and retained, plain: a message no deflating socket is sent costs no compression.
        #expect(fanout.pool.framesCreated == 2)
        #expect(fanout.hub.compressionsSettled == 0)
        #expect(fanout.pool.compressedForm(delivered[0]) == .unsettled)
        let retained = try fanout.retained()
        #expect(fanout.pool.compressedForm(retained.handle) == .unsettled)
        for frame in delivered { fanout.pool.release(frame) }
    }

    @Test func theFirstDeflatingSocketMakesTheFormEveryRingShares() throws {
        let fanout = try Fanout(compression: true)
        let delivered = try fanout.publish(Self.question)
        let compressed = try #require(fanout.hub.compressedForm(of: delivered[0]))
        // The other ring's deflating socket gets the same frame, not a second compression.
        #expect(fanout.hub.compressedForm(of: delivered[1]) == compressed)
        #expect(fanout.hub.compressionsSettled == 1)
        #expect(fanout.pool.framesCreated == 3)
        let plain = try #require(Self.payload(fanout.pool.bytes(delivered[0])))
        let inflated = try #require(Self.payload(fanout.pool.bytes(compressed)))
        #expect(!plain.compressed && inflated.compressed)
        #expect(inflated.text == plain.text)
        #expect(fanout.pool.bytes(compressed).count < fanout.pool.bytes(delivered[0]).count)
        // The retained form is still plain: no new deflating subscriber asked for it.
        let retained = try fanout.retained()
        #expect(fanout.pool.compressedForm(retained.handle) == .unsettled)
        for frame in delivered { fanout.pool.release(frame) }
    }

    @Test func aRetainedMessageIsCompressedWhenAskedAndKeptWithIt() throws {
        let fanout = try Fanout(compression: true)
        for frame in try fanout.publish(Self.question) { fanout.pool.release(frame) }
        let first = try fanout.retained()
        let compressed = try #require(fanout.hub.compressedForm(of: first.handle))
        let text = try #require(Self.payload(fanout.pool.bytes(compressed)))
        #expect(text.compressed && text.text.contains(#""retained":true"#))
        #expect(text.text == Self.payload(first.bytes)?.text)
        _ = consume first
        // The next subscriber that deflates finds it made.
        let second = try fanout.retained()
        #expect(fanout.pool.compressed(second.handle) == compressed)
        #expect(fanout.hub.compressedForm(of: second.handle) == compressed)
        #expect(fanout.hub.compressionsSettled == 1)
    }

    @Test func shortMessagesAreSettledPlainOnceAndCompressionOffMakesNothing() throws {
        let short = try Fanout(compression: true)
        let shortDelivered = try short.publish("1")
        #expect(short.hub.compressedForm(of: shortDelivered[0]) == nil)
        #expect(short.pool.compressedForm(shortDelivered[0]) == .none)
        // Settled: the next socket does not try again.
        #expect(short.hub.compressedForm(of: shortDelivered[1]) == nil)
        #expect(short.hub.compressionsSettled == 1)
        #expect(short.pool.framesCreated == 2)
        for frame in shortDelivered { short.pool.release(frame) }

        let off = try Fanout(compression: false)
        let offDelivered = try off.publish(Self.question)
        #expect(off.hub.compressedForm(of: offDelivered[0]) == nil)
        #expect(off.pool.compressedForm(offDelivered[0]) == .none)
        #expect(off.pool.framesCreated == 2)
        for frame in offDelivered { off.pool.release(frame) }
    }

    @Test func ringsAskingAtOnceGetOneForm() async throws {
        let fanout = try Fanout(compression: true)
        let delivered = try fanout.publish(Self.question)
        let hub = fanout.hub
        let frame = delivered[0]
        let forms = await withTaskGroup(of: FrameHandle?.self) { group in
            for _ in 0..<8 { group.addTask { hub.compressedForm(of: frame) } }
            return await group.reduce(into: [FrameHandle?]()) { $0.append($1) }
        }
        #expect(forms.count == 8)
        #expect(Set(forms).count == 1 && forms[0] != nil)
        #expect(hub.compressionsSettled == 1)
        #expect(fanout.pool.framesCreated == 3)
        for frame in delivered { fanout.pool.release(frame) }
    }

    @Test func theCompressedFormGoesBackToThePoolWithItsFrame() throws {
        let pool = FramePool(capacity: 2)
        let frame = try pool.acquire(bytes: 100)
        let compressed = try pool.acquire(bytes: 50)
        pool.markCompressible(frame)
        pool.settleCompressed(OwnedFrame(adopting: compressed, from: pool), for: frame)
        pool.retain(compressed)  // a socket's send queue holds the compressed form
        pool.release(frame)
        let reused = try pool.acquire(bytes: 10)
        #expect(reused == frame)
        #expect(pool.compressedForm(reused) == .none)
        // The queued compressed form outlives its frame until its send is done.
        #expect(throws: FramePool.PoolError.exhausted(frames: 2)) { try pool.acquire(bytes: 10) }
        pool.release(compressed)
        let again = try pool.acquire(bytes: 10)
        #expect(again == compressed)
        pool.release(again)
        pool.release(reused)
        #expect(pool.framesCreated == 2)
    }

    @Test func onlyMarkedFramesWaitForAFormAndReuseForgetsIt() throws {
        let pool = FramePool(capacity: 1)
        let frame = try pool.acquire(bytes: 100)
        // A reply or control frame is never compressed.
        #expect(pool.compressedForm(frame) == .none)
        pool.markCompressible(frame)
        #expect(pool.compressedForm(frame) == .unsettled)
        pool.settleCompressed(nil, for: frame)
        #expect(pool.compressedForm(frame) == .none)
        #expect(pool.compressed(frame) == nil)
        pool.release(frame)
        let reused = try pool.acquire(bytes: 100)
        #expect(reused == frame)
        #expect(pool.compressedForm(reused) == .none)
        pool.release(reused)
    }

    @Test func repliesAndControlFramesAreNeverCompressed() throws {
        let fanout = try Fanout(compression: true)
        let writer = FrameWriter(frames: fanout.pool)
        let long = Array(repeating: UInt8(ascii: "a"), count: 100)
        let pong = try long.withUnsafeBytes { try writer.control(.pong, payload: $0).handOver() }
        let error = try writer.error(id: 1, code: .badRequest, message: String(repeating: "x", count: 100)).handOver()
        #expect(fanout.hub.compressedForm(of: pong) == nil)
        #expect(fanout.hub.compressedForm(of: error) == nil)
        #expect(fanout.hub.compressionsSettled == 0)
        fanout.pool.release(pong)
        fanout.pool.release(error)
    }
}
