import StadiumProtocol
import Testing
import UringIO
import WebSocket
@testable import Gateway

@Suite struct FrameWriterTests {
    /// Decodes a server frame the way a client would and returns its text.
    private func clientText(_ pool: FramePool, _ frame: FrameHandle) -> String? {
        var bytes = Array(pool.bytes(frame))
        var reader = WebSocketReader(role: .client, maxMessageBytes: 1 << 20)
        var text: String?
        let outcome = bytes.withUnsafeMutableBytes { buffer in
            reader.consume(buffer) { event in
                if case .text(let payload) = event { text = String(decoding: payload, as: UTF8.self) }
            }
        }
        #expect(outcome == .consumed(bytes.count))
        return text
    }

    @Test func messageFrameCarriesTheRecordVerbatim() throws {
        let pool = FramePool(capacity: 8)
        let writer = FrameWriter(frames: pool)
        let value = Array(#"{"id":7,"answers":["a","b"]}"#.utf8)
        let frame = try value.withUnsafeBytes { bytes in
            try Array("/question".utf8).withUnsafeBytes { subject in
                try writer.message(subject: subject, seq: 41, data: MessageData(recordValue: bytes), retained: true)
            }
        }
        #expect(clientText(pool, frame) == #"{"op":"msg","subject":"/question","seq":41,"data":{"id":7,"answers":["a","b"]},"retained":true}"#)
        pool.release(frame)
    }

    @Test func largePayloadsUseTheLongerLengthForms() throws {
        let pool = FramePool(capacity: 8)
        let writer = FrameWriter(frames: pool)
        let text = String(repeating: "x", count: 70_000)
        let value = Array("\"\(text)\"".utf8)
        let frame = try value.withUnsafeBytes { bytes in
            try Array("/big".utf8).withUnsafeBytes { subject in
                try writer.message(subject: subject, seq: 1, data: MessageData(recordValue: bytes), retained: false)
            }
        }
        #expect(clientText(pool, frame)?.contains(text) == true)
        pool.release(frame)
    }

    @Test func framesReturnToThePoolAndAreReused() throws {
        let pool = FramePool(capacity: 4)
        let writer = FrameWriter(frames: pool)
        for _ in 0..<100 {
            let frame = try writer.ok(id: 3)
            #expect(clientText(pool, frame) == #"{"op":"ok","id":3}"#)
            pool.retain(frame, count: 2)
            pool.release(frame)
            pool.release(frame)
            pool.release(frame)
        }
        #expect(pool.framesCreated == 1, "a released frame is reused, not reallocated")
    }

    @Test func aFullPoolIsAnErrorNotACrash() throws {
        let pool = FramePool(capacity: 1)
        let writer = FrameWriter(frames: pool)
        let first = try writer.ok(id: 1)
        #expect(throws: FrameWriter.WriteError.self) { try writer.ok(id: 2) }
        pool.release(first)
    }
}

@Suite struct SubjectRegistryTests {
    /// A registry that keeps no history, so only retained frames hold references.
    private func registryWithoutHistory(capacity: Int) -> (FramePool, SubjectRegistry) {
        let pool = FramePool(capacity: capacity)
        var noHistory = HistoryLimits()
        noHistory.messages = 0
        return (pool, SubjectRegistry(frames: pool, history: noHistory))
    }

    @Test func retainedMessagesAreReplacedAndReferenceCounted() throws {
        let (pool, registry) = registryWithoutHistory(capacity: 4)
        let subject = registry.id(for: "/question")
        #expect(registry.id(for: "/question") == subject)
        #expect(registry.retained(subject) == nil)
        let live = try pool.acquire(bytes: 10)
        defer { pool.release(live) }
        let first = try pool.acquire(bytes: 10)
        #expect(registry.recordMessage(subject, seq: 0, partition: nil, live: live, retained: first).version == 1)
        let second = try pool.acquire(bytes: 10)
        #expect(registry.recordMessage(subject, seq: 1, partition: nil, live: live, retained: second).version == 2)
        // The first frame went back to the pool: acquiring again reuses it.
        let reused = try pool.acquire(bytes: 10)
        #expect(reused == first)
        let held = try #require(registry.retained(subject))
        #expect(held.frame == second && held.version == 2)
        pool.release(held.frame)
        pool.release(reused)
    }

    @Test func aMessageGoesOnlyToRingsThatHadASubscriber() throws {
        let (pool, registry) = registryWithoutHistory(capacity: 8)
        let result = registry.id(for: "/result/alice")
        let live = try pool.acquire(bytes: 10)
        defer { pool.release(live) }
        let nobody = registry.recordMessage(result, seq: 0, partition: nil, live: live, retained: try pool.acquire(bytes: 10)).rings
        #expect((0..<51).allSatisfy { !nobody.includes(ring: $0) })

        registry.subscriberJoined(result, ring: 3)
        let one = registry.recordMessage(result, seq: 1, partition: nil, live: live, retained: try pool.acquire(bytes: 10)).rings
        #expect((0..<51).filter { one.includes(ring: $0) } == [3])
        // Past 64 rings a bit stands for several: more rings get it, none that wants it misses it.
        #expect(one.includes(ring: 67))
    }
}
