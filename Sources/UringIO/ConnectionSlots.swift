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
public struct ConnectionSlots {
    public let count: Int
    public let queueDepth: Int
    let phase: UnsafeMutablePointer<SlotPhase>
    let generation: UnsafeMutablePointer<UInt8>
    let receiving: UnsafeMutablePointer<Bool>
    let sendInFlight: UnsafeMutablePointer<Bool>
    let queueHead: UnsafeMutablePointer<UInt16>
    let queueCount: UnsafeMutablePointer<UInt16>
    /// Bytes of the head frame already written to the socket (resumes partial sends).
    let sentBytes: UnsafeMutablePointer<UInt32>
    let queuedBytes: UnsafeMutablePointer<UInt32>
    /// Frame indices, `queueDepth` per slot, used as a ring buffer.
    let queue: UnsafeMutablePointer<UInt32>
    /// Index into the leftover store, or -1: an idle connection owns no receive buffer.
    let leftover: UnsafeMutablePointer<Int32>
    /// The handler wants `connectionDrained` once the queue is short again.
    let drainNoticeWanted: UnsafeMutablePointer<Bool>
    /// The head frame is already what goes on the wire (only with a `RingFrameSealer`).
    let headSealed: UnsafeMutablePointer<Bool>

    public init(count: Int, queueDepth: Int) {
        self.count = count
        self.queueDepth = queueDepth
        phase = .allocate(capacity: count)
        phase.initialize(repeating: .free, count: count)
        generation = .allocate(capacity: count)
        generation.initialize(repeating: 0, count: count)
        receiving = .allocate(capacity: count)
        receiving.initialize(repeating: false, count: count)
        sendInFlight = .allocate(capacity: count)
        sendInFlight.initialize(repeating: false, count: count)
        queueHead = .allocate(capacity: count)
        queueHead.initialize(repeating: 0, count: count)
        queueCount = .allocate(capacity: count)
        queueCount.initialize(repeating: 0, count: count)
        sentBytes = .allocate(capacity: count)
        sentBytes.initialize(repeating: 0, count: count)
        queuedBytes = .allocate(capacity: count)
        queuedBytes.initialize(repeating: 0, count: count)
        queue = .allocate(capacity: count * queueDepth)
        queue.initialize(repeating: 0, count: count * queueDepth)
        leftover = .allocate(capacity: count)
        leftover.initialize(repeating: -1, count: count)
        drainNoticeWanted = .allocate(capacity: count)
        drainNoticeWanted.initialize(repeating: false, count: count)
        headSealed = .allocate(capacity: count)
        headSealed.initialize(repeating: false, count: count)
    }

    public func deallocate() {
        phase.deallocate()
        generation.deallocate()
        receiving.deallocate()
        sendInFlight.deallocate()
        queueHead.deallocate()
        queueCount.deallocate()
        sentBytes.deallocate()
        queuedBytes.deallocate()
        queue.deallocate()
        leftover.deallocate()
        drainNoticeWanted.deallocate()
        headSealed.deallocate()
    }

    /// Bytes per connection held by these tables (for the memory figure).
    static func bytesPerSlot(queueDepth: Int) -> Int {
        MemoryLayout<SlotPhase>.size + 1 + 1 + 1 + 2 + 2 + 4 + 4 + 4 * queueDepth + 4 + 1 + 1
    }

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
        queue[slot * queueDepth + Int(queueHead[slot])]
    }

    func push(_ slot: Int, frame: UInt32) {
        let position = (Int(queueHead[slot]) + Int(queueCount[slot])) % queueDepth
        queue[slot * queueDepth + position] = frame
        queueCount[slot] += 1
    }

    /// Removes the head frame and returns it.
    func pop(_ slot: Int) -> UInt32 {
        let frame = headFrame(slot)
        queueHead[slot] = UInt16((Int(queueHead[slot]) + 1) % queueDepth)
        queueCount[slot] -= 1
        sentBytes[slot] = 0
        headSealed[slot] = false
        return frame
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
