// Per-connection state of one ring, as struct-of-arrays indexed by direct-descriptor slot.
// A few dozen bytes per slot, allocated once when the ring starts.

public enum SlotPhase: UInt8 {
    case free
    case open
    /// Close requested after the queued frames are sent.
    case draining
    /// Close requested now; waits only for the send already in flight.
    case closing
    /// Cancel and close submitted; the slot is reusable once the close completes.
    case closeSubmitted
}

/// Public so benchmarks can drive the send queues without sockets; only RingLoop uses it for I/O.
///
/// A send queue keeps its head frame in the slot itself; only a connection with more than one
/// frame queued borrows a spill chunk for the rest (returned when it is down to one), so a
/// million connections cost a few bytes each rather than `queueDepth` entries each.
public struct ConnectionSlots {
    public let count: Int
    public let queueDepth: Int
    let phase: UnsafeMutablePointer<SlotPhase>
    let generation: UnsafeMutablePointer<UInt8>
    let receiving: UnsafeMutablePointer<Bool>
    let sendInFlight: UnsafeMutablePointer<Bool>
    let queueCount: UnsafeMutablePointer<UInt16>
    /// Bytes of the head frame already written to the socket (resumes partial sends).
    let sentBytes: UnsafeMutablePointer<UInt32>
    let queuedBytes: UnsafeMutablePointer<UInt32>
    /// The frame at the head of the queue (valid while queueCount > 0).
    private let head: UnsafeMutablePointer<UInt32>
    /// The slot's spill chunk plus one (0: none): the frames behind the head.
    private let spill: UnsafeMutablePointer<UInt32>
    private let spills: SpillChunks
    /// Index into the leftover store plus one, or 0: an idle connection owns no receive buffer.
    let leftover: UnsafeMutablePointer<Int32>
    /// The handler wants `connectionDrained` once the queue is short again.
    let drainNoticeWanted: UnsafeMutablePointer<Bool>
    /// The head frame is already what goes on the wire (only with a `RingFrameSealer`).
    let headSealed: UnsafeMutablePointer<Bool>

    public init(count: Int, queueDepth: Int) {
        self.count = count
        self.queueDepth = queueDepth
        // All zero at start (SlotPhase.free is 0): untouched slots cost no resident memory.
        phase = ZeroedMemory.allocate(SlotPhase.self, count: count)
        generation = ZeroedMemory.allocate(UInt8.self, count: count)
        receiving = ZeroedMemory.allocate(Bool.self, count: count)
        sendInFlight = ZeroedMemory.allocate(Bool.self, count: count)
        queueCount = ZeroedMemory.allocate(UInt16.self, count: count)
        sentBytes = ZeroedMemory.allocate(UInt32.self, count: count)
        queuedBytes = ZeroedMemory.allocate(UInt32.self, count: count)
        head = ZeroedMemory.allocate(UInt32.self, count: count)
        spill = ZeroedMemory.allocate(UInt32.self, count: count)
        leftover = ZeroedMemory.allocate(Int32.self, count: count)
        drainNoticeWanted = ZeroedMemory.allocate(Bool.self, count: count)
        headSealed = ZeroedMemory.allocate(Bool.self, count: count)
        spills = SpillChunks(entries: max(1, queueDepth - 1))
    }

    public func deallocate() {
        ZeroedMemory.free(phase)
        ZeroedMemory.free(generation)
        ZeroedMemory.free(receiving)
        ZeroedMemory.free(sendInFlight)
        ZeroedMemory.free(queueCount)
        ZeroedMemory.free(sentBytes)
        ZeroedMemory.free(queuedBytes)
        ZeroedMemory.free(head)
        ZeroedMemory.free(spill)
        ZeroedMemory.free(leftover)
        ZeroedMemory.free(drainNoticeWanted)
        ZeroedMemory.free(headSealed)
    }

    /// Spill chunks in use (connections with more than one frame queued), for tests.
    var spillChunksInUse: Int { spills.inUse }

    /// Queues `frame` on a connection, taking a reference; false when the queue is full in
    /// frames, or in bytes (a first frame is always taken, however large). The last entry is
    /// kept for a `final` frame, which ignores the byte limit.
    @inline(__always)
    public func enqueue(_ slot: Int, frame: FrameHandle, frames: FramePool, byteLimit: Int, final: Bool = false) -> Bool {
        let length = frames.bytes(frame).count
        let queued = Int(queueCount[slot])
        if final {
            if queued == queueDepth { return false }
        } else if queued >= queueDepth - 1 || (queued > 0 && Int(queuedBytes[slot]) + length > byteLimit) {
            return false
        }
        frames.retain(frame)
        push(slot, frame: frame.index)
        queuedBytes[slot] += UInt32(length)
        return true
    }

    /// Drops a connection's whole queue, releasing its references (what a close does).
    public func dropAll(_ slot: Int, frames: FramePool) {
        while queueCount[slot] > 0 {
            let frame = FrameHandle(pop(slot))
            frames.release(frame)
        }
        queuedBytes[slot] = 0
    }

    public func queuedFrames(_ slot: Int) -> Int {
        Int(queueCount[slot])
    }

    func headFrame(_ slot: Int) -> UInt32 {
        head[slot]
    }

    /// Puts `frame` in place of the head (its sealed bytes); the caller keeps the references right.
    func replaceHead(_ slot: Int, with frame: UInt32) {
        head[slot] = frame
    }

    func push(_ slot: Int, frame: UInt32) {
        let queued = Int(queueCount[slot])
        if queued == 0 {
            head[slot] = frame
        } else {
            if spill[slot] == 0 { spill[slot] = spills.take() + 1 }
            spills.append(spill[slot] - 1, frame, behind: queued - 1)
        }
        queueCount[slot] += 1
    }

    /// Removes the head frame and returns it.
    func pop(_ slot: Int) -> UInt32 {
        let frame = head[slot]
        let queued = Int(queueCount[slot])
        if queued > 1 {
            let chunk = spill[slot] - 1
            head[slot] = spills.removeFirst(chunk)
            if queued == 2 {
                spills.give(chunk)
                spill[slot] = 0
            }
        }
        queueCount[slot] -= 1
        sentBytes[slot] = 0
        headSealed[slot] = false
        return frame
    }

    /// Removes the last frame queued and returns it.
    func removeLast(_ slot: Int) -> UInt32 {
        let queued = Int(queueCount[slot])
        queueCount[slot] -= 1
        guard queued > 1 else { return head[slot] }
        let chunk = spill[slot] - 1
        let frame = spills.removeLast(chunk, count: queued - 1)
        if queued == 2 {
            spills.give(chunk)
            spill[slot] = 0
        }
        return frame
    }
}

/// The frames queued behind the heads, in chunks of `entries` lent to one connection at a time.
/// Each chunk is a ring: its first frame at `starts[chunk]`.
final class SpillChunks {
    let entries: Int
    private var frames: [UInt32] = []
    private var starts: [Int32] = []
    private var free: [UInt32] = []

    init(entries: Int) {
        self.entries = entries
    }

    var inUse: Int { starts.count - free.count }

    func take() -> UInt32 {
        if let chunk = free.popLast() {
            starts[Int(chunk)] = 0
            return chunk
        }
        frames.append(contentsOf: repeatElement(0, count: entries))
        starts.append(0)
        return UInt32(starts.count - 1)
    }

    func give(_ chunk: UInt32) {
        free.append(chunk)
    }

    /// Stores `frame` after the `count` frames the chunk holds.
    func append(_ chunk: UInt32, _ frame: UInt32, behind count: Int) {
        frames[position(chunk, Int(starts[Int(chunk)]) + count)] = frame
    }

    func removeFirst(_ chunk: UInt32) -> UInt32 {
        let start = Int(starts[Int(chunk)])
        starts[Int(chunk)] = Int32((start + 1) % entries)
        return frames[position(chunk, start)]
    }

    /// The last of the `count` frames the chunk holds.
    func removeLast(_ chunk: UInt32, count: Int) -> UInt32 {
        frames[position(chunk, Int(starts[Int(chunk)]) + count - 1)]
    }

    private func position(_ chunk: UInt32, _ offset: Int) -> Int {
        Int(chunk) * entries + offset % entries
    }
}

/// Receive bytes that did not yet form a whole message, per slot, allocated only while needed.
struct LeftoverStore {
    private(set) var buffers: [[UInt8]] = []
    private var freeIndices: [Int32] = []

    mutating func make(from bytes: UnsafeRawBufferPointer) -> Int32 {
        if let index = freeIndices.popLast() {
            buffers[Int(index)].append(contentsOf: bytes)
            return index
        }
        buffers.append(Array(bytes))
        return Int32(buffers.count - 1)
    }

    mutating func append(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        buffers[Int(index)].append(contentsOf: bytes)
    }

    mutating func removeFirst(_ index: Int32, _ count: Int) {
        buffers[Int(index)].removeFirst(count)
    }

    func isEmpty(_ index: Int32) -> Bool {
        buffers[Int(index)].isEmpty
    }

    /// Gives the buffer back; large ones are dropped so one big message does not pin memory.
    mutating func free(_ index: Int32) {
        if buffers[Int(index)].capacity > 16_384 {
            buffers[Int(index)] = []
        } else {
            buffers[Int(index)].removeAll(keepingCapacity: true)
        }
        freeIndices.append(index)
    }

    mutating func withBytes<R>(_ index: Int32, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        buffers[Int(index)].withUnsafeMutableBytes(body)
    }
}
