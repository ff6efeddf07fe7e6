// Encoded frames shared by every socket that sends them: written once, reference counted,
// recycled through size-class free lists so the send path allocates nothing in steady state.
import Synchronization

/// An index into the FramePool; cheap to copy and store in per-connection queues.
public struct FrameHandle: Hashable, Sendable {
    public let index: UInt32
    init(_ index: UInt32) { self.index = index }
}

/// One reference to a pooled frame that gives itself back: it cannot be copied, so it is released
/// exactly once, when its owner lets it go (`deinit`) or hands it to a raw holder at the I/O edge
/// (`handOver`: a socket's send queue, a subject's history), which then releases it.
public struct OwnedFrame: ~Copyable {
    // The pool outlives its frames (the gateway keeps it until the rings are gone): holding it
    // unretained keeps a frame two words with no reference count of its own.
    private unowned(unsafe) let pool: FramePool
    public let handle: FrameHandle

    /// Takes over a reference the caller holds (from `FramePool.acquire` or a raw holder).
    public init(adopting handle: FrameHandle, from pool: FramePool) {
        self.handle = handle
        self.pool = pool
    }

    deinit { pool.release(handle) }

    /// A second owner of the same frame (one more reference).
    public borrowing func retained() -> OwnedFrame {
        pool.retain(handle)
        return OwnedFrame(adopting: handle, from: pool)
    }

    /// Gives this reference to a raw holder without releasing it; the holder must release it once.
    public consuming func handOver() -> FrameHandle {
        let handle = handle
        discard self
        return handle
    }

    /// The encoded bytes; valid while this frame is owned.
    public var bytes: UnsafeRawBufferPointer { pool.bytes(handle) }

    /// The whole writable capacity; fill it, then call `setLength`.
    public var writableBytes: UnsafeMutableRawBufferPointer { pool.writableBytes(handle) }

    public func setLength(_ length: Int) { pool.setLength(handle, length) }

    /// Marks when the frame's message was born, so its last send reports the latency.
    public func stamp(originMilliseconds milliseconds: Int64) {
        pool.stamp(handle, originMilliseconds: milliseconds)
    }
}

public final class FramePool: @unchecked Sendable {
    /// Capacities of the size classes; a frame larger than the last cannot be built.
    public static let sizeClasses: [Int] = [512, 2_048, 4_096, 32_768, 262_144, 1_114_112]
    public static var maximumFrameBytes: Int { sizeClasses.last! }

    private let capacity: Int
    // Per-frame metadata in fixed arrays so readers on any thread never see them move.
    private let storage: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let lengths: UnsafeMutablePointer<Int>
    private let classes: UnsafeMutablePointer<UInt8>
    private let references: UnsafeMutablePointer<Atomic<Int>>
    /// When the frame's message was born (ms since the epoch), 0 when not tracked.
    private let originMilliseconds: UnsafeMutablePointer<Int64>
    /// A subject's history holds one reference: the frame's sends are done when only that one is left.
    private let heldByHistory: UnsafeMutablePointer<Bool>
    /// The frame's compressed form: the same message for sockets that agreed to
    /// permessage-deflate, made the first time one needs it (`CompressedForm.encoded`). The frame
    /// holds one reference to it. Atomic: any ring may settle it while others read it.
    private let compressedForms: UnsafeMutablePointer<Atomic<UInt32>>
    /// Counts the latency of a stamped frame when its last send is done; read by the pool's owner.
    public let sendLatencies: SendLatencies?
    private let state = Mutex(State())

    private struct State {
        var created = 0
        var freeLists: [[UInt32]] = Array(repeating: [], count: FramePool.sizeClasses.count)
    }

    public enum PoolError: Error, Equatable {
        case frameTooLarge(bytes: Int, limit: Int)
        case exhausted(frames: Int)
    }

    /// `capacity` bounds the number of frames alive at once (queued on some socket or retained).
    public init(capacity: Int = 1 << 16, sendLatencies: SendLatencies? = nil) {
        self.capacity = capacity
        self.sendLatencies = sendLatencies
        // Zero pages: a frame's metadata costs memory once the frame is first made.
        originMilliseconds = ZeroedMemory.allocate(Int64.self, count: capacity)
        heldByHistory = ZeroedMemory.allocate(Bool.self, count: capacity)
        // An Atomic<UInt32> of zero is `CompressedForm.none` in memory.
        compressedForms = ZeroedMemory.allocate(Atomic<UInt32>.self, count: capacity)
        storage = ZeroedMemory.allocate(UnsafeMutableRawPointer?.self, count: capacity)
        lengths = ZeroedMemory.allocate(Int.self, count: capacity)
        classes = ZeroedMemory.allocate(UInt8.self, count: capacity)
        // An Atomic<Int> of zero is a zero Int in memory.
        references = ZeroedMemory.allocate(Atomic<Int>.self, count: capacity)
    }

    deinit {
        let created = state.withLock { $0.created }
        for index in 0..<created {
            storage[index]?.deallocate()
        }
        ZeroedMemory.free(storage)
        ZeroedMemory.free(lengths)
        ZeroedMemory.free(classes)
        ZeroedMemory.free(originMilliseconds)
        ZeroedMemory.free(heldByHistory)
        ZeroedMemory.free(compressedForms)
        ZeroedMemory.free(references)
    }

    /// A frame with room for `bytes`, holding one reference for the caller.
    public func acquire(bytes: Int) throws(PoolError) -> FrameHandle {
        guard let sizeClass = FramePool.sizeClasses.firstIndex(where: { $0 >= bytes }) else {
            throw .frameTooLarge(bytes: bytes, limit: FramePool.maximumFrameBytes)
        }
        let reused: UInt32? = state.withLock { state in
            state.freeLists[sizeClass].popLast()
        }
        let index: UInt32
        if let reused {
            index = reused
        } else {
            let created: Int? = state.withLock { state in
                guard state.created < capacity else { return nil }
                state.created += 1
                return state.created - 1
            }
            guard let created else { throw .exhausted(frames: capacity) }
            index = UInt32(created)
            storage[created] = .allocate(byteCount: FramePool.sizeClasses[sizeClass], alignment: 16)
            classes[created] = UInt8(sizeClass)
        }
        lengths[Int(index)] = 0
        originMilliseconds[Int(index)] = 0
        heldByHistory[Int(index)] = false
        compressedForms[Int(index)].store(CompressedForm.none.encoded, ordering: .relaxed)
        references[Int(index)].store(1, ordering: .relaxed)
        return FrameHandle(index)
    }

    /// `acquire` as a frame that releases itself.
    public func acquireOwned(bytes: Int) throws(PoolError) -> OwnedFrame {
        OwnedFrame(adopting: try acquire(bytes: bytes), from: self)
    }

    /// The whole writable capacity of a frame; fill it, then call `setLength`.
    public func writableBytes(_ frame: FrameHandle) -> UnsafeMutableRawBufferPointer {
        let index = Int(frame.index)
        return UnsafeMutableRawBufferPointer(
            start: storage[index], count: FramePool.sizeClasses[Int(classes[index])])
    }

    public func setLength(_ frame: FrameHandle, _ length: Int) {
        lengths[Int(frame.index)] = length
    }

    /// Marks when the frame's message was born, so its final release reports the latency.
    public func stamp(_ frame: FrameHandle, originMilliseconds milliseconds: Int64) {
        originMilliseconds[Int(frame.index)] = milliseconds
    }

    /// The encoded bytes of a frame. Valid while the caller holds a reference.
    public func bytes(_ frame: FrameHandle) -> UnsafeRawBufferPointer {
        let index = Int(frame.index)
        return UnsafeRawBufferPointer(start: storage[index], count: lengths[index])
    }

    /// Makes `frame` (a message, not a reply or control frame) one that may be compressed, once a
    /// socket that agreed to permessage-deflate needs it. Call before the frame is shared.
    public func markCompressible(_ frame: FrameHandle) {
        compressedForms[Int(frame.index)].store(CompressedForm.unsettled.encoded, ordering: .relaxed)
    }

    /// Whether `frame` has a compressed form; valid while the caller holds `frame`. Once settled
    /// it stays so until the frame returns to the pool.
    @inline(__always)
    public func compressedForm(_ frame: FrameHandle) -> CompressedForm {
        // Acquiring: a form settled on another thread is read with the bytes written before it.
        CompressedForm(encoded: compressedForms[Int(frame.index)].load(ordering: .acquiring))
    }

    /// The compressed form of `frame` if it has one (nil while unsettled, or without one).
    @inline(__always)
    public func compressed(_ frame: FrameHandle) -> FrameHandle? {
        if case .frame(let compressed) = compressedForm(frame) { return compressed }
        return nil
    }

    /// Settles the compressed form of a frame marked compressible, once: `compressed` (whose
    /// reference the frame takes over), or nil when it has none (too short, does not shrink). The
    /// caller holds `frame` and makes sure only one thread settles it (the hub's deflater lock).
    public func settleCompressed(_ compressed: consuming OwnedFrame?, for frame: FrameHandle) {
        let form: CompressedForm
        switch consume compressed {
        case .some(let made): form = .frame(made.handOver())
        case .none: form = .none
        }
        let (exchanged, _) = compressedForms[Int(frame.index)].compareExchange(
            expected: CompressedForm.unsettled.encoded, desired: form.encoded, ordering: .releasing)
        precondition(exchanged, "frame \(frame.index) already has its compressed form settled")
    }

    /// Takes a reference for a subject's history (which keeps it long after its sends): the
    /// frame's latency is reported when the last reference but this one goes.
    public func retainForHistory(_ frame: FrameHandle) {
        heldByHistory[Int(frame.index)] = true
        retain(frame)
    }

    /// Gives back a reference taken with `retainForHistory` that the history did not keep.
    public func releaseFromHistory(_ frame: FrameHandle) {
        heldByHistory[Int(frame.index)] = false
        release(frame)
    }

    public func retain(_ frame: FrameHandle, count: Int = 1) {
        references[Int(frame.index)].wrappingAdd(count, ordering: .relaxed)
    }

    /// Drops one reference; the last one returns the frame to its free list.
    public func release(_ frame: FrameHandle) {
        let index = Int(frame.index)
        let remaining = references[index].wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue
        precondition(remaining >= 0, "frame \(index) released more often than retained")
        if remaining == 1 && heldByHistory[index] {
            reportSendsDone(index)
        }
        if remaining == 0 {
            reportSendsDone(index)
            // The last reference: no thread can be settling the form now.
            let form = compressedForms[index].exchange(CompressedForm.none.encoded, ordering: .acquiring)
            if case .frame(let compressed) = CompressedForm(encoded: form) {
                release(compressed)
            }
            let sizeClass = Int(classes[index])
            state.withLock { $0.freeLists[sizeClass].append(frame.index) }
        }
    }

    /// Reports the frame's latency once: at its last send (its last reference, or the last but
    /// the history's); a later release finds the origin cleared.
    private func reportSendsDone(_ index: Int) {
        let origin = originMilliseconds[index]
        guard origin != 0 else { return }
        originMilliseconds[index] = 0
        sendLatencies?.record(originMilliseconds: origin)
    }

    /// Frames created so far (for metrics and the malloc-free steady-state benchmark).
    public var framesCreated: Int { state.withLock { $0.created } }

    /// Frames created and not on a free list: queued, retained, in a history or in an inbox.
    /// One that climbs while the load stays the same is a frame somebody never released.
    public var framesInUse: Int {
        state.withLock { state in state.created - state.freeLists.reduce(0) { $0 + $1.count } }
    }
}

/// A frame's permessage-deflate form: none (the plain frame serves every socket: replies, control
/// frames, messages that would not shrink), not made yet for a message that may be compressed, or
/// a pooled frame.
public enum CompressedForm: Equatable, Sendable {
    case none
    case unsettled
    case frame(FrameHandle)

    /// 0 none, UInt32.max unsettled, otherwise the compressed frame's index + 1.
    var encoded: UInt32 {
        switch self {
        case .none: 0
        case .unsettled: UInt32.max
        case .frame(let frame): frame.index + 1
        }
    }

    init(encoded: UInt32) {
        switch encoded {
        case 0: self = .none
        case UInt32.max: self = .unsettled
        default: self = .frame(FrameHandle(encoded - 1))
        }
    }
}
