import Testing
@testable import UringIO

/// A frame owned as `OwnedFrame` goes back to the pool when its last owner lets it go, and a
/// reference handed to a raw holder (a send queue) stays until that holder releases it.
@Suite struct OwnedFrameTests {
    @Test func theLastOwnerReturnsTheFrame() throws {
        let pool = FramePool(capacity: 4)
        let first = try pool.acquireOwned(bytes: 10)
        let second = first.retained()
        #expect(second.handle == first.handle)
        _ = consume first
        #expect(pool.framesInUse == 1, "the second owner still holds it")
        _ = consume second
        #expect(pool.framesInUse == 0)
        let reused = try pool.acquireOwned(bytes: 10)
        #expect(pool.framesCreated == 1, "the released frame is reused: \(reused.handle)")
    }

    @Test func aFrameLeavingScopeIsReleased() throws {
        let pool = FramePool(capacity: 4)
        for length in 1...3 {
            let frame = try pool.acquireOwned(bytes: 10)
            frame.setLength(length)
            #expect(frame.bytes.count == length)
        }
        #expect(pool.framesInUse == 0)
        #expect(pool.framesCreated == 1)
    }

    @Test func aHandedOverReferenceIsTheHoldersToRelease() throws {
        let pool = FramePool(capacity: 4)
        let frame = try pool.acquireOwned(bytes: 10)
        let raw = frame.handOver()
        #expect(pool.framesInUse == 1, "handing over does not release")
        let adopted = OwnedFrame(adopting: raw, from: pool)
        _ = consume adopted
        #expect(pool.framesInUse == 0)
    }

    @Test func framesQueuedOnAClosedConnectionGoBackToThePool() throws {
        let pool = FramePool(capacity: 8)
        let slots = ConnectionSlots(count: 2, queueDepth: 8)
        defer { slots.deallocate() }
        for byte in 0..<3 {
            let frame = try pool.acquireOwned(bytes: 1)
            frame.writableBytes[0] = UInt8(byte)
            frame.setLength(1)
            #expect(slots.enqueue(1, frame: frame.handle, frames: pool, byteLimit: 1 << 20))
        }
        #expect(pool.framesInUse == 3, "the queue holds its own references")
        slots.dropAll(1, frames: pool)  // what a close does with what was never sent
        #expect(pool.framesInUse == 0)
    }
}
