import Foundation
import StadiumProtocol
import Testing
import UringIO
import WebSocket
@testable import Gateway

@Suite struct FrameWriterTests {
    /// Decodes a server frame the way a client would and returns its text.
    private func clientText(_ frame: borrowing OwnedFrame) -> String? {
        var bytes = Array(frame.bytes)
        var reader = WebSocketReader(role: .client, maxMessageBytes: 1 << 20)
        var text: String?
        let outcome = bytes.withUnsafeMutableBytes { buffer in
            reader.consume(buffer) { event in
                if case .text(let payload) = event { text = payload.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
            }
        }
        #expect(outcome == .consumed(bytes.count))
        return text
    }

    @Test func messageFrameCarriesTheRecordVerbatim() throws {
        let pool = FramePool(capacity: 8)
        let writer = FrameWriter(frames: pool)
        let value = Array(#"{"id":7,"answers":["a","b"]}"#.utf8)
        let text = try value.withUnsafeBytes { bytes in
            try Array("/question".utf8).withUnsafeBytes { subject in
                clientText(try writer.message(subject: subject.bytes, seq: 41, data: MessageData(recordValue: bytes.bytes), retained: true))
            }
        }
        #expect(text == #"{"op":"msg","subject":"/question","seq":41,"data":{"id":7,"answers":["a","b"]},"retained":true}"#)
        #expect(pool.framesInUse == 0, "the frame went back to the pool with its last owner")
    }

    @Test func largePayloadsUseTheLongerLengthForms() throws {
        let pool = FramePool(capacity: 8)
        let writer = FrameWriter(frames: pool)
        let text = String(repeating: "x", count: 70_000)
        let value = Array("\"\(text)\"".utf8)
        let decoded = try value.withUnsafeBytes { bytes in
            try Array("/big".utf8).withUnsafeBytes { subject in
                clientText(try writer.message(subject: subject.bytes, seq: 1, data: MessageData(recordValue: bytes.bytes), retained: false))
            }
        }
        #expect(decoded?.contains(text) == true)
    }

    @Test func framesReturnToThePoolAndAreReused() throws {
        let pool = FramePool(capacity: 4)
        let writer = FrameWriter(frames: pool)
        for _ in 0..<100 {
            let frame = try writer.ok(id: 3)
            #expect(clientText(frame) == #"{"op":"ok","id":3}"#)
            let second = frame.retained()
            let third = second.retained()
            _ = consume frame
            _ = consume second
            #expect(pool.framesInUse == 1, "the third owner still holds it")
            _ = consume third
            #expect(pool.framesInUse == 0)
        }
        #expect(pool.framesCreated == 1, "a released frame is reused, not reallocated")
    }

    @Test func framesInUseAreThoseNotBackOnAFreeList() throws {
        let pool = FramePool(capacity: 8)
        let writer = FrameWriter(frames: pool)
        let first = try writer.ok(id: 0)
        let second = try writer.ok(id: 1)
        let third = try writer.ok(id: 2)
        #expect(pool.framesInUse == 3)
        _ = first.retained()
        #expect(pool.framesInUse == 3, "a frame with a reference left is still in use")
        _ = consume first
        _ = consume second
        #expect(pool.framesInUse == 1)
        #expect(pool.framesCreated == 3)
        _ = consume third
        #expect(pool.framesInUse == 0)
    }

    @Test func aFullPoolIsAnErrorNotACrash() throws {
        let pool = FramePool(capacity: 1)
        let writer = FrameWriter(frames: pool)
        let first = try writer.ok(id: 1)
        #expect(throws: FrameWriter.WriteError.self) { _ = try writer.ok(id: 2) }
        _ = consume first
        #expect(pool.framesInUse == 0)
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
        let subject = registry.join("/question", ring: 0)
        #expect(registry.existingID(for: "/question") == subject)
        let noneYet = registry.retained(subject) == nil
        #expect(noneYet)
        let live = try pool.acquireOwned(bytes: 10)
        let first = try pool.acquireOwned(bytes: 10)
        let firstHandle = first.handle
        #expect(registry.recordMessage("/question", seq: 0, partition: nil, live: live, retained: first).version == 1)
        let second = try pool.acquireOwned(bytes: 10)
        let secondHandle = second.handle
        #expect(registry.recordMessage("/question", seq: 1, partition: nil, live: live, retained: second).version == 2)
        // The first frame went back to the pool: acquiring again reuses it.
        let reused = try pool.acquireOwned(bytes: 10)
        #expect(reused.handle == firstHandle)
        guard let held = registry.retained(subject) else {
            Issue.record("the retained message is gone")
            return
        }
        #expect(held.frame.handle == secondHandle && held.version == 2)
        _ = consume held
        _ = consume reused
        _ = consume live
        #expect(pool.framesInUse == 1, "only the registry's reference to the retained message is left")
    }

    @Test func aMessageGoesOnlyToRingsThatHadASubscriber() throws {
        let (pool, registry) = registryWithoutHistory(capacity: 8)
        let live = try pool.acquireOwned(bytes: 10)
        let nobody = registry.recordMessage("/result/alice", seq: 0, partition: nil, live: live, retained: try pool.acquireOwned(bytes: 10)).rings
        #expect((0..<51).allSatisfy { !nobody.includes(ring: $0) })

        _ = registry.join("/result/alice", ring: 3)
        let one = registry.recordMessage("/result/alice", seq: 1, partition: nil, live: live, retained: try pool.acquireOwned(bytes: 10)).rings
        #expect((0..<51).filter { one.includes(ring: $0) } == [3])
        // Past 64 rings a bit stands for several: more rings get it, none that wants it misses it.
        #expect(one.includes(ring: 67))
    }
}

@Suite struct ForgettingSubjectsTests {
    /// One retained frame per subject; at most `maxIdle` subjects without subscribers.
    private func publish(_ registry: SubjectRegistry, _ pool: FramePool, _ names: [String]) throws {
        for (seq, name) in names.enumerated() {
            let live = try pool.acquireOwned(bytes: 10)
            _ = registry.recordMessage(name, seq: Int64(seq), partition: nil, live: live, retained: try pool.acquireOwned(bytes: 10))
        }
    }

    private func registry(maxIdle: Int, poolCapacity: Int) -> (FramePool, SubjectRegistry) {
        let pool = FramePool(capacity: poolCapacity)
        var noHistory = HistoryLimits()
        noHistory.messages = 0
        return (pool, SubjectRegistry(frames: pool, history: noHistory, maxIdleSubjects: maxIdle))
    }

    @Test func recordsForSubjectsNobodyHoldsDoNotRunTheFramePoolDry() throws {
        // 10,000 distinct players' results through a pool of 200 frames: without forgetting, the
        // retained frames alone would need 10,000.
        let (pool, registry) = registry(maxIdle: 100, poolCapacity: 200)
        try publish(registry, pool, (0..<10_000).map { "/result/p\($0)" })
        #expect(registry.count <= 100 + 8 + 1)
    }

    @Test func aSubjectWithSubscribersIsNeverForgotten() throws {
        let (pool, registry) = registry(maxIdle: 10, poolCapacity: 400)
        let held = registry.join("/result/alice", ring: 0)
        try publish(registry, pool, ["/result/alice"] + (0..<300).map { "/result/p\($0)" })
        #expect(registry.existingID(for: "/result/alice") == held)
        let kept = registry.retained(held) != nil
        #expect(kept)
        registry.leave(held)
        try publish(registry, pool, (300..<600).map { "/result/p\($0)" })
        #expect(registry.existingID(for: "/result/alice") == nil, "once left, it ages out like the rest")
    }

    @Test func aForgottenSubjectComesBackWithANewID() throws {
        let (pool, registry) = registry(maxIdle: 2, poolCapacity: 100)
        let first = registry.join("/result/bob", ring: 0)
        registry.leave(first)
        try publish(registry, pool, (0..<50).map { "/result/p\($0)" })
        #expect(registry.existingID(for: "/result/bob") == nil)
        let again = registry.join("/result/bob", ring: 0)
        #expect(again != first, "ids are not reused: a message still on its way to the old one reaches nobody")
    }
}

@Suite struct FanoutLatencyReportTests {
    /// One bucket of a second: a frame stamped long ago lands past it.
    private let counted = SendLatencies(boundsMilliseconds: [1_000])

    @Test func aFrameHeldByTheHistoryIsCountedAtItsLastSendOnce() throws {
        let pool = FramePool(capacity: 4, sendLatencies: counted)
        let frame = try pool.acquire(bytes: 10)
        pool.stamp(frame, originMilliseconds: 1234)
        pool.retainForHistory(frame)
        pool.retain(frame, count: 2)  // two sockets
        pool.release(frame)  // the publisher's own reference
        pool.release(frame)  // first socket written
        #expect(counted.snapshot.count == 0)
        pool.release(frame)  // last socket written: only the history's reference is left
        #expect(counted.snapshot.count == 1)
        #expect(counted.snapshot.cumulative == [0], "stamped in 1970")
        #expect(counted.snapshot.sumMilliseconds > 1_000_000)
        pool.release(frame)  // the history lets go much later
        #expect(counted.snapshot.count == 1, "counted once")
    }

    @Test func withoutHistoryTheLastReferenceCounts() throws {
        let pool = FramePool(capacity: 4, sendLatencies: counted)
        let frame = try pool.acquire(bytes: 10)
        pool.stamp(frame, originMilliseconds: 99)
        pool.retainForHistory(frame)
        pool.releaseFromHistory(frame)  // the history's budget was spent: not kept
        pool.retain(frame)
        pool.release(frame)
        #expect(counted.snapshot.count == 0, "a socket still holds it")
        pool.release(frame)
        #expect(counted.snapshot.count == 1)
    }

    @Test func aRecentFrameLandsInItsBucket() throws {
        let pool = FramePool(capacity: 4, sendLatencies: counted)
        let frame = try pool.acquire(bytes: 10)
        pool.stamp(frame, originMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        pool.release(frame)
        #expect(counted.snapshot.cumulative == [1])
        #expect(counted.snapshot.count == 1)
    }

    @Test func thePrometheusTextIsAHistogramInSeconds() {
        var text: [UInt8] = []
        let counts = SendLatencies.Snapshot(
            cumulative: [1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3], count: 4, sumMilliseconds: 12_503)
        KafkaMetrics.emitFanoutLatency(counts, into: &text)
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.contains(#"stadium_fanout_latency_seconds_bucket{le="0.001"} 1"#))
        #expect(lines.contains(#"stadium_fanout_latency_seconds_bucket{le="1.0"} 3"#))
        #expect(lines.contains(#"stadium_fanout_latency_seconds_bucket{le="2.5"} 3"#))
        #expect(lines.contains(#"stadium_fanout_latency_seconds_bucket{le="+Inf"} 4"#))
        #expect(lines.contains("stadium_fanout_latency_seconds_sum 12.503"))
        #expect(lines.contains("stadium_fanout_latency_seconds_count 4"))
        #expect(lines.contains("# TYPE stadium_fanout_latency_seconds histogram"))
    }
}

@Suite struct HistoryBudgetTests {
    @Test func whenTheBudgetIsSpentTheOldestMessageAnywhereGoesFirst() throws {
        let pool = FramePool(capacity: 64)
        var limits = HistoryLimits()
        limits.frames = 3
        let registry = SubjectRegistry(frames: pool, history: limits)
        let question = registry.join("/question", ring: 0)
        func record(_ name: String, seq: Int64) throws {
            let live = try pool.acquireOwned(bytes: 10)
            _ = registry.recordMessage(name, seq: seq, partition: nil, live: live, retained: try pool.acquireOwned(bytes: 10))
        }
        try record("/question", seq: 1)
        try record("/question", seq: 2)
        try record("/result/a", seq: 3)
        // Full: each new message pushes out the oldest of all subjects (the question's two), not
        // the one subject's own oldest: the newest result stays.
        try record("/result/b", seq: 4)
        try record("/result/c", seq: 5)
        let result = registry.join("/result/c", ring: 0)
        if case .frames(let frames, _, _) = registry.read(result, after: 0, maxFrames: 10, maxBytes: 1 << 20) {
            #expect(frames.count == 1)
            for frame in frames { pool.release(frame) }
        } else {
            Issue.record("the newest result was not kept")
        }
        #expect(registry.read(question, after: 0, maxFrames: 10, maxBytes: 1 << 20) == .outOfHistory, "both questions were the oldest")
    }
}
