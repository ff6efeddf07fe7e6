import Testing
@testable import UringIO

@Suite struct ConnectionSlotsTests {
    let frames = FramePool(capacity: 64)

    private func frame(_ byte: UInt8) throws -> FrameHandle {
        let frame = try frames.acquire(bytes: 1)
        frames.writableBytes(frame)[0] = byte
        frames.setLength(frame, 1)
        return frame
    }

    @Test("a queue of one frame borrows no spill chunk; longer queues do, and give it back when down to one")
    func oneFrameStaysInTheSlot() throws {
        let slots = ConnectionSlots(count: 4, queueDepth: 8)
        defer { slots.deallocate() }
        let first = try frame(1), second = try frame(2)
        #expect(slots.enqueue(2, frame: first, frames: frames, byteLimit: 1 << 20))
        #expect(slots.spillChunksInUse == 0)
        #expect(slots.enqueue(2, frame: second, frames: frames, byteLimit: 1 << 20))
        #expect(slots.spillChunksInUse == 1)
        #expect(slots.pop(2) == first.index)
        #expect(slots.spillChunksInUse == 0)
        #expect(slots.headFrame(2) == second.index)
        #expect(slots.queuedFrames(2) == 1)
    }

    @Test("frames leave in the order they were queued across many wrap-arounds of the spill chunk")
    func firstInFirstOut() throws {
        let slots = ConnectionSlots(count: 2, queueDepth: 4)
        defer { slots.deallocate() }
        let handles = try (0..<3).map { try frame(UInt8($0)) }
        var expected: [UInt32] = []
        var next = 0
        for step in 0..<50 {
            // Keep between one and three frames queued (the depth keeps one entry for a close frame).
            while slots.queuedFrames(1) < 1 + step % 3 {
                let handle = handles[next % 3]
                next += 1
                #expect(slots.enqueue(1, frame: handle, frames: frames, byteLimit: 1 << 20))
                expected.append(handle.index)
            }
            #expect(slots.pop(1) == expected.removeFirst())
        }
    }

    @Test("a full queue refuses a frame but keeps its last entry for a final (close) frame")
    func finalFrameHasARoom() throws {
        let slots = ConnectionSlots(count: 1, queueDepth: 3)
        defer { slots.deallocate() }
        let data = try frame(1), close = try frame(9)
        #expect(slots.enqueue(0, frame: data, frames: frames, byteLimit: 1 << 20))
        #expect(slots.enqueue(0, frame: data, frames: frames, byteLimit: 1 << 20))
        #expect(!slots.enqueue(0, frame: data, frames: frames, byteLimit: 1 << 20))
        #expect(slots.enqueue(0, frame: close, frames: frames, byteLimit: 1 << 20, final: true))
        #expect(slots.removeLast(0) == close.index)
        #expect(slots.queuedFrames(0) == 2)
        slots.dropAll(0, frames: frames)
        #expect(slots.queuedFrames(0) == 0)
        #expect(slots.spillChunksInUse == 0)
    }
}
