// One I/O thread and its rings: accepts into direct descriptors, multishot receives from provided
// buffer rings, bounded per-connection send queues of shared frames, and orderly closes. A ring's
// file table holds at most RLIMIT_NOFILE descriptors, so a thread with more connections than that
// runs several rings (`RingConfiguration.slotsPerRing`) and waits on all of them in one place.
import Foundation
import Synchronization
internal import CUring

#if canImport(Glibc)
import Glibc
#endif

/// What a ring tells the protocol layer above it. Called on the ring's own thread only.
public protocol RingLoopHandler: AnyObject {
    /// A connection now lives in `slot` (accepted, or adopted by `adopt`).
    func connectionOpened(_ loop: RingLoop, slot: UInt32)
    /// Unread bytes of a connection: returns how many it consumed; the rest comes back with more.
    func connectionReceived(_ loop: RingLoop, slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int
    /// The connection is gone and its slot may be reused.
    func connectionClosed(_ loop: RingLoop, slot: UInt32)
    /// Another thread called `wake()`.
    func loopWoken(_ loop: RingLoop)
    /// The periodic timer fired.
    func loopTicked(_ loop: RingLoop)
    /// `stop()` was called: say goodbye to the connections; the loop ends when all are closed.
    func loopStopping(_ loop: RingLoop)
    /// After `notifyWhenDrained`: the connection's queue is down to `drainLowWater` frames.
    func connectionDrained(_ loop: RingLoop, slot: UInt32)
    /// With `resolvesPeerAddresses`: the accepted connection's remote address, soon after it
    /// opened (nil when the kernel cannot tell: io_uring socket commands need Linux 6.7).
    func connectionPeerAddress(_ loop: RingLoop, slot: UInt32, address: PeerAddress?)
}

extension RingLoopHandler {
    public func connectionPeerAddress(_ loop: RingLoop, slot: UInt32, address: PeerAddress?) {}
    public func connectionDrained(_ loop: RingLoop, slot: UInt32) {}
}

/// Turns a connection's queued frames into the bytes that go on the wire (TLS records), just
/// before each is written, so they are sealed in the order they are sent and a frame dropped
/// unsent was never sealed. Called on the ring's thread only.
public protocol RingFrameSealer: AnyObject {
    /// What to write for `frame`: a frame with a reference for the loop, or `frame` itself when it
    /// is wire bytes already; nil when the connection cannot go on (the loop closes it).
    func sealFrame(_ loop: RingLoop, slot: UInt32, frame: FrameHandle) -> FrameHandle?
    /// Wire bytes that end the connection once its queue is sent (TLS close_notify), or nil.
    func closingFrame(_ loop: RingLoop, slot: UInt32) -> FrameHandle?
}

public struct RingConfiguration: Sendable {
    /// Connection slots of the loop, across all its rings.
    public var slots: Int
    /// Direct-descriptor slots of one ring, at most RLIMIT_NOFILE: the loop runs
    /// slots / slotsPerRing rings (rounded up) on its one thread.
    public var slotsPerRing: Int
    /// Frames a connection may have queued before `send` reports `.queueFull`.
    public var sendQueueFrames: Int = 64
    /// Bytes a connection may have queued before `send` reports `.queueFull`.
    public var sendQueueBytes: Int = 1 << 20
    /// Provided receive buffers per ring (a power of two).
    public var receiveBufferCount: Int = 512
    public var receiveBufferSize: Int = 4096
    public var submissionEntries: Int = 4096
    public var tickInterval: Duration = .milliseconds(100)
    /// Longest wait for a closing connection to take its last frames (close frame, HTTP response).
    public var drainTimeout: Duration = .seconds(5)
    /// Longest wait for connections to close after `stop()`.
    public var stopTimeout: Duration = .seconds(5)
    /// Ask the kernel for each accepted connection's peer address (for per-address limits).
    public var resolvesPeerAddresses = false

    public init(slots: Int, slotsPerRing: Int? = nil) {
        self.slots = slots
        self.slotsPerRing = max(1, min(slots, slotsPerRing ?? slots))
    }

    /// How many rings the loop runs.
    public var rings: Int { (slots + slotsPerRing - 1) / slotsPerRing }
}

public enum SendResult: Equatable {
    case queued
    case queueFull
    case closed
}

public enum CloseMode {
    /// Send what is queued first (used after a close frame or an HTTP response).
    case afterFlush
    /// Drop what is queued.
    case now
}

/// Counters a ring keeps for /metrics; read from any thread.
public final class RingCounters: Sendable {
    public let accepted = Atomic<Int>(0)
    public let acceptErrors = Atomic<Int>(0)
    public let closed = Atomic<Int>(0)
    public let open = Atomic<Int>(0)
    public let sends = Atomic<Int>(0)
    public let bytesSent = Atomic<Int>(0)
    public let bytesReceived = Atomic<Int>(0)
    public let sendErrors = Atomic<Int>(0)
    public let receiveBufferShortages = Atomic<Int>(0)

    static func add(_ counter: borrowing Atomic<Int>, _ value: Int) {
        counter.wrappingAdd(value, ordering: .relaxed)
    }
}

public final class RingLoop: @unchecked Sendable {
    public let index: Int
    public let configuration: RingConfiguration
    public let frames: FramePool
    public let counters = RingCounters()
    public weak var handler: RingLoopHandler?
    /// Set before `start` when every connection's frames are sealed (a TLS listener); nil keeps
    /// the plaintext send path as it is.
    public var sealer: RingFrameSealer?

    private let listener: Listener?
    /// The loop's rings; ring 0 also carries the wake-ups, the timer and the others' readiness.
    private var rings: [LoopRing] = []
    private var slots: ConnectionSlots
    private var leftovers = LeftoverStore()
    private var openCount = 0
    private var drainDeadlines: [(slot: UInt32, generation: UInt8, deadline: ContinuousClock.Instant)] = []
    /// Completions copied out of a ring, shared by the loop's rings (they are reaped one at a time).
    private var completions: UnsafeMutableBufferPointer<gw_completion>

    // Accepting: multishot while a ring's table has room for a whole backlog, single accepts near the top.
    private var acceptEnabled = true
    /// The ring whose file table takes new connections.
    private var acceptingRing = 0
    private let multishotHeadroom: Int
    private let acceptReserve = 4
    /// Ticks since the last connection was accepted (see `rearmQuietAccept`).
    private var ticksWithoutAccept = 0

    /// One sockaddr per slot for peer-address requests; only with `resolvesPeerAddresses`.
    private let peerAddressBuffers: UnsafeMutableRawPointer?
    private let peerAddressLength: Int

    // Slots for connections adopted from ordinary descriptors (client side: no listener).
    private var freeAdoptSlots: [UInt32] = []

    private let wakeDescriptor: Int32
    private let wakePending = Atomic<Bool>(false)
    private let wakeReadBuffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private let stopRequested = Atomic<Bool>(false)
    private var stopping = false
    private var stopDeadline = ContinuousClock.now
    private let finished = DispatchSemaphore(value: 0)
    private let started = DispatchSemaphore(value: 0)
    private var startError: SystemError?

    private static let bufferGroup: UInt16 = 1

    public init(index: Int, configuration: RingConfiguration, frames: FramePool, listener: Listener?) throws(SystemError) {
        self.index = index
        self.configuration = configuration
        self.frames = frames
        self.listener = listener
        slots = ConnectionSlots(count: configuration.slots, queueDepth: configuration.sendQueueFrames)
        multishotHeadroom = 4096 + 512
        completions = .allocate(capacity: 4096)
        let descriptor = gw_eventfd_create()
        try SystemError.check(descriptor, "eventfd")
        wakeDescriptor = descriptor
        if listener == nil {
            freeAdoptSlots = (0..<UInt32(configuration.slots)).reversed()
        }
        // SO_PEERNAME refuses a buffer longer than the address: ask for the listener's family's size.
        peerAddressLength = listener?.address.isIPv6 == true ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        peerAddressBuffers = configuration.resolvesPeerAddresses && listener != nil
            ? UnsafeMutableRawPointer.allocate(byteCount: configuration.slots * peerAddressLength, alignment: 8) : nil
    }

    deinit {
        peerAddressBuffers?.deallocate()
        completions.deallocate()
        slots.deallocate()
        wakeReadBuffer.deallocate()
        Glibc.close(wakeDescriptor)
    }

    /// Starts the ring's thread; returns once the ring exists (or throws why it could not).
    public func start() throws(SystemError) {
        let thread = Thread { [self] in self.run() }
        thread.name = "ring-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
        started.wait()
        if let startError { throw startError }
    }

    /// Asks the loop to say goodbye to its connections and end; safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    /// Waits until the loop's thread has ended.
    public func join() {
        finished.wait()
        finished.signal()
    }

    /// Wakes the loop so the handler's `loopWoken` runs; safe from any thread, coalesced.
    public func wake() {
        if wakePending.exchange(true, ordering: .acquiringAndReleasing) { return }
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    public var openConnections: Int { openCount }

    // MARK: - Thread body

    private func run() {
        do {
            for member in 0..<configuration.rings {
                rings.append(try makeRing(member))
            }
        } catch {
            rings = []
            startError = error
            started.signal()
            finished.signal()
            return
        }
        started.signal()
        armWake()
        armTick()
        for member in rings.indices.dropFirst() { armReadiness(member) }
        manageAccepting()
        var othersPending = false
        while true {
            // The other rings' requests go in now; ring 0's go in as the thread waits on it.
            for member in rings.indices.dropFirst() { rings[member].ring.submit() }
            do {
                if othersPending {
                    rings[0].ring.submitAndGetEvents()
                } else {
                    try rings[0].ring.submitAndWait()
                }
            } catch {
                // Only a broken ring gets here; nothing sensible remains but to stop.
                FileHandle.standardError.write(Data("ring \(index): \(error)\n".utf8))
                break
            }
            reap(0)
            othersPending = false
            for member in rings.indices.dropFirst() where rings[member].ready {
                rings[member].ready = false
                rings[member].ring.submitAndGetEvents()
                // The kernel runs a bounded batch of a ring's deferred completions per call (20
                // since Linux 6.13) and signals the eventfd again only for new ones: come back
                // until a call yields nothing.
                if reap(member) > 0 {
                    rings[member].ready = true
                    othersPending = true
                }
            }
            for ring in rings { ring.ring.publishReturnedBuffers() }
            if stopRequested.load(ordering: .acquiring) && !stopping {
                beginStopping()
            }
            if stopping && (openCount == 0 || ContinuousClock.now >= stopDeadline) {
                break
            }
        }
        rings = []
        finished.signal()
    }

    /// Ring `member` of the loop: its file table holds slots member * slotsPerRing onwards.
    private func makeRing(_ member: Int) throws(SystemError) -> LoopRing {
        let base = member * configuration.slotsPerRing
        let fileSlots = min(configuration.slotsPerRing, configuration.slots - base)
        // Room for a send completion per slot and a burst of receives; more waits in the
        // kernel's overflow list (nothing is dropped), and the queue is resident memory.
        let completionEntries = max(4096, Self.powerOfTwo(atLeast: fileSlots + 1024))
        let ring = try Ring(
            submissionEntries: UInt32(configuration.submissionEntries),
            completionEntries: UInt32(completionEntries),
            fileSlots: UInt32(fileSlots))
        try ring.setUpBuffers(
            group: Self.bufferGroup, count: UInt32(configuration.receiveBufferCount),
            size: UInt32(configuration.receiveBufferSize))
        let member = LoopRing(ring: ring, base: UInt32(base), fileSlots: fileSlots)
        if base > 0 {
            // Ring 0 waits for this ring's completions through an eventfd it reads.
            let descriptor = gw_eventfd_create()
            try SystemError.check(descriptor, "eventfd")
            member.readinessDescriptor = descriptor
            try SystemError.check(ring.registerEventDescriptor(descriptor), "io_uring_register_eventfd")
        }
        return member
    }

    /// Handles the completions of ring `member` until none is left; returns how many.
    @discardableResult
    private func reap(_ member: Int) -> Int {
        let ring = rings[member].ring
        var count = 0
        var total = 0
        repeat {
            count = ring.reap(into: completions)
            total += count
            for raw in completions[0..<count] {
                handle(Completion(raw), ring: member)
            }
            // The buffers this batch returned go back before the next: a long reap must not run dry.
            ring.publishReturnedBuffers()
        } while count == completions.count
        return total
    }

    /// The ring holding `slot`'s descriptor, and the slot's index in that ring's file table.
    private func ring(of slot: UInt32) -> (ring: Ring, file: UInt32) {
        let member = member(of: slot)
        return (member.ring, slot - member.base)
    }

    private func beginStopping() {
        stopping = true
        stopDeadline = ContinuousClock.now + configuration.stopTimeout
        acceptEnabled = false
        for member in rings { member.cancelAccepts() }
        handler?.loopStopping(self)
    }

    private func handle(_ completion: Completion, ring member: Int) {
        guard let userData = UserData(raw: completion.userData) else { return }
        switch userData.operation {
        case .accept:
            accepted(completion, ring: member)
        case .receive:
            received(completion, userData)
        case .send:
            sent(completion, userData)
        case .close:
            closed(userData)
        case .wake:
            wakePending.store(false, ordering: .releasing)
            handler?.loopWoken(self)
            armWake()
        case .tick:
            // A backstop: deferred work the kernel left on a ring without a new signal runs now.
            for ring in rings.dropFirst() { ring.ready = true }
            rearmQuietAccept()
            closeOverdueDrains()
            handler?.loopTicked(self)
            armTick()
        case .peerAddress:
            peerAddressKnown(completion, userData)
        case .ringReady:
            let ready = Int(userData.extra)
            rings[ready].ready = true
            armReadiness(ready)
        case .cancel, .cancelAccept:
            break
        }
    }

    // MARK: - Accepting

    /// One ring accepts at a time: the same one while it has room for a whole backlog, then the
    /// one with the most free slots. Multishot while the accepting ring has that room, then
    /// single accepts, never more than it has free slots.
    private func manageAccepting() {
        guard let listener, acceptEnabled else { return }
        let current = rings[acceptingRing]
        if current.free <= multishotHeadroom {
            var best = acceptingRing
            for member in rings.indices where rings[member].free > rings[best].free { best = member }
            // A move costs a cancel round trip: only to a ring with clearly more room, or off a full one.
            if current.free <= acceptReserve || rings[best].free >= current.free + multishotHeadroom / 4 { acceptingRing = best }
        }
        let target = rings[acceptingRing]
        let multishotWanted = target.free > multishotHeadroom
        // The listener wakes one waiting accept per new connection. An accept still waiting on a
        // ring that no longer takes connections swallows wake-ups: once the backlog is full no new
        // connection comes to wake the accepting ring, and accepting stops for good. So the other
        // rings' accepts are cancelled, and the accepting ring waits until they have ended.
        var othersAccepting = false
        for (member, ring) in rings.enumerated() where member != acceptingRing && ring.isAccepting {
            othersAccepting = true
            ring.cancelAccepts()
        }
        if target.multishotArmed && !multishotWanted && !target.acceptCancelRequested {
            target.ring.cancel(UserData(.accept, extra: 1), UserData(.cancelAccept))
            target.acceptCancelRequested = true
        }
        if othersAccepting { return }
        if multishotWanted {
            if !target.isAccepting {
                target.ring.acceptMultishot(listener: listener.descriptor, UserData(.accept, extra: 1))
                target.multishotArmed = true
            }
            return
        }
        if target.multishotArmed { return }
        // Never more single accepts outstanding than free slots: an accept into a full table drops the peer.
        let wanted = min(8, target.free - acceptReserve)
        while target.singleAcceptsOutstanding < wanted {
            target.ring.acceptOnce(listener: listener.descriptor, UserData(.accept, extra: 0))
            target.singleAcceptsOutstanding += 1
            // A cancel already asked for does not reach these: a later move must ask again.
            target.acceptCancelRequested = false
        }
    }

    /// A backstop for a lost wake-up (see `manageAccepting`): accepts that have waited a second
    /// without a connection are cancelled, and armed again when the cancel completes; a new
    /// accept takes what the backlog holds at once.
    private func rearmQuietAccept() {
        ticksWithoutAccept += 1
        guard ticksWithoutAccept >= 10 else { return }
        ticksWithoutAccept = 0
        for member in rings { member.cancelAccepts() }
    }

    private func accepted(_ completion: Completion, ring member: Int) {
        let ring = rings[member]
        let multishot = UserData(raw: completion.userData)?.extra == 1
        if multishot {
            if !completion.hasMore { ring.multishotArmed = false }
        } else {
            ring.singleAcceptsOutstanding -= 1
        }
        if !ring.isAccepting { ring.acceptCancelRequested = false }
        if completion.result >= 0 {
            ticksWithoutAccept = 0
            RingCounters.add(counters.accepted, 1)
            opened(slot: ring.base + UInt32(completion.result))
        } else if completion.result != -ECANCELED {
            RingCounters.add(counters.acceptErrors, 1)
        }
        manageAccepting()
    }

    /// Puts an ordinary connected socket into a free slot of this ring (the caller may close `fd` after).
    /// Must be called on the ring's thread.
    public func adopt(descriptor fd: Int32) throws(SystemError) -> UInt32 {
        guard let slot = freeAdoptSlots.popLast() else {
            throw SystemError(call: "adopt (ring \(index) is full)", errno: ENFILE)
        }
        do {
            let (ring, file) = self.ring(of: slot)
            try ring.installFile(slot: file, fd: fd)
        } catch {
            freeAdoptSlots.append(slot)
            throw error
        }
        opened(slot: slot)
        return slot
    }

    private func opened(slot: UInt32) {
        let index = Int(slot)
        slots.phase[index] = .open
        slots.generation[index] &+= 1
        slots.drainNoticeWanted[index] = false
        slots.headSealed[index] = false
        openCount += 1
        counters.open.store(openCount, ordering: .relaxed)
        member(of: slot).open += 1
        if let peerAddressBuffers {
            // The address arrives before any request bytes, so limits apply before the upgrade.
            slots.receiving[index] = true
            let (ring, file) = self.ring(of: slot)
            ring.peerAddressThenReceive(
                slot: file, into: peerAddressBuffers + index * peerAddressLength, length: UInt32(peerAddressLength),
                UserData(.peerAddress, slot: slot, generation: slots.generation[index]), group: Self.bufferGroup,
                UserData(.receive, slot: slot, generation: slots.generation[index]))
        } else {
            armReceive(slot)
        }
        handler?.connectionOpened(self, slot: slot)
    }

    private func peerAddressKnown(_ completion: Completion, _ userData: UserData) {
        let index = Int(userData.slot)
        guard let peerAddressBuffers, slots.generation[index] == userData.generation,
              slots.phase[index] == .open || slots.phase[index] == .draining else { return }
        var address: PeerAddress?
        if completion.result > 0 {
            address = PeerAddress(sockaddr: UnsafeRawBufferPointer(
                start: peerAddressBuffers + index * peerAddressLength, count: Int(completion.result)))
        }
        handler?.connectionPeerAddress(self, slot: userData.slot, address: address)
    }

    // MARK: - Receiving

    private func armReceive(_ slot: UInt32) {
        let index = Int(slot)
        slots.receiving[index] = true
        let (ring, file) = self.ring(of: slot)
        ring.receiveMultishot(
            slot: file, group: Self.bufferGroup,
            UserData(.receive, slot: slot, generation: slots.generation[index]))
    }

    private func received(_ completion: Completion, _ userData: UserData) {
        let index = Int(userData.slot)
        let current = slots.generation[index] == userData.generation
        if current && !completion.hasMore { slots.receiving[index] = false }
        let ring = self.ring(of: userData.slot).ring
        defer {
            if let buffer = completion.bufferID { ring.returnBuffer(buffer) }
        }
        guard current else { return }
        let phase = slots.phase[index]
        if completion.result > 0, let buffer = completion.bufferID {
            RingCounters.add(counters.bytesReceived, Int(completion.result))
            if phase == .open {
                deliver(slot: userData.slot, bytes: UnsafeMutableRawBufferPointer(
                    start: ring.buffer(buffer), count: Int(completion.result)))
            }
            if !completion.hasMore && slots.phase[index] == .open { armReceive(userData.slot) }
            return
        }
        if completion.result == -ENOBUFS {
            // Every provided buffer is in use: re-arm; the buffers come back within this batch.
            RingCounters.add(counters.receiveBufferShortages, 1)
            if !completion.hasMore && phase == .open { armReceive(userData.slot) }
            return
        }
        if completion.result == -ECANCELED { return }
        // End of stream or a socket error: the connection is over.
        if phase == .open || phase == .draining { close(userData.slot, .now) }
    }

    /// Offers the connection's unread bytes to the handler, keeping what it did not consume.
    private func deliver(slot: UInt32, bytes: UnsafeMutableRawBufferPointer) {
        let index = Int(slot)
        let leftover = slots.leftover[index] - 1
        if leftover < 0 {
            let consumed = handler?.connectionReceived(self, slot: slot, bytes: bytes) ?? bytes.count
            if consumed < bytes.count && slots.phase[index] == .open {
                slots.leftover[index] = leftovers.make(from: UnsafeRawBufferPointer(rebasing: bytes[consumed...])) + 1
            }
            return
        }
        leftovers.append(leftover, UnsafeRawBufferPointer(bytes))
        let consumed = leftovers.withBytes(leftover) { unread in
            handler?.connectionReceived(self, slot: slot, bytes: unread) ?? unread.count
        }
        leftovers.removeFirst(leftover, consumed)
        if leftovers.isEmpty(leftover) {
            leftovers.free(leftover)
            slots.leftover[index] = 0
        }
    }

    // MARK: - Sending

    /// Queues a frame on a connection (taking a reference to it) and starts sending if idle.
    /// A `final` frame (a close frame) may use the queue entry kept free for it and ignores the
    /// byte limit, so even a connection dropped for reading too slowly is told why.
    public func send(slot: UInt32, frame: FrameHandle, final: Bool = false) -> SendResult {
        let index = Int(slot)
        guard slots.phase[index] == .open else { return .closed }
        guard slots.enqueue(index, frame: frame, frames: frames, byteLimit: configuration.sendQueueBytes, final: final) else {
            return .queueFull
        }
        if !slots.sendInFlight[index] { sendHead(index) }
        return .queued
    }

    /// Drops the frames queued on a connection, except one being written, so that the next
    /// frame sent (a close frame) is the next the peer reads.
    public func discardQueued(slot: UInt32) {
        let index = Int(slot)
        guard slots.phase[index] == .open else { return }
        dropQueuedFrames(index, keepingHead: slots.sendInFlight[index] || slots.sentBytes[index] > 0)
    }

    /// True until the connection is closed or closing: frames sent to it will be written.
    public func isOpen(slot: UInt32) -> Bool {
        slots.phase[Int(slot)] == .open
    }

    /// Bytes queued on a connection and not yet written.
    public func queuedBytes(slot: UInt32) -> Int {
        Int(slots.queuedBytes[Int(slot)])
    }

    /// Frames queued on a connection, the one being written included.
    public func queuedFrames(slot: UInt32) -> Int {
        Int(slots.queueCount[Int(slot)])
    }

    /// Queue length at or below which a connection that asked is told it drained.
    public var drainLowWater: Int { max(1, configuration.sendQueueFrames / 4) }

    /// Calls the handler's `connectionDrained` once the connection's queue is down to
    /// `drainLowWater` frames (at the next completed send), so it can be fed more.
    public func notifyWhenDrained(slot: UInt32) {
        slots.drainNoticeWanted[Int(slot)] = true
    }

    private func sendHead(_ index: Int) {
        if let sealer, !slots.headSealed[index], !sealHead(index, sealer) { return }
        let frame = FrameHandle(slots.headFrame(index))
        let bytes = frames.bytes(frame)
        let offset = Int(slots.sentBytes[index])
        slots.sendInFlight[index] = true
        let (ring, file) = self.ring(of: UInt32(index))
        ring.send(
            slot: file, bytes: bytes.baseAddress! + offset, count: UInt32(bytes.count - offset),
            UserData(.send, slot: UInt32(index), generation: slots.generation[index]))
    }

    /// Puts the sealer's frame in place of the queue's head; false when the connection was closed instead.
    private func sealHead(_ index: Int, _ sealer: RingFrameSealer) -> Bool {
        let frame = FrameHandle(slots.headFrame(index))
        guard let sealed = sealer.sealFrame(self, slot: UInt32(index), frame: frame) else {
            close(UInt32(index), .now)
            return false
        }
        slots.headSealed[index] = true
        if sealed != frame {
            slots.replaceHead(index, with: sealed.index)
            slots.queuedBytes[index] = slots.queuedBytes[index] - UInt32(frames.bytes(frame).count)
                + UInt32(frames.bytes(sealed).count)
            frames.release(frame)
        }
        return true
    }

    private func sent(_ completion: Completion, _ userData: UserData) {
        let index = Int(userData.slot)
        guard slots.generation[index] == userData.generation, slots.sendInFlight[index] else { return }
        slots.sendInFlight[index] = false
        if completion.result < 0 {
            RingCounters.add(counters.sendErrors, 1)
            if slots.phase[index] != .closeSubmitted { close(userData.slot, .now) }
            if slots.phase[index] == .closing { submitClose(index) }
            return
        }
        RingCounters.add(counters.bytesSent, Int(completion.result))
        let frame = FrameHandle(slots.headFrame(index))
        let length = frames.bytes(frame).count
        slots.sentBytes[index] += UInt32(completion.result)
        if Int(slots.sentBytes[index]) < length, slots.phase[index] != .closing {
            sendHead(index)  // a short write: resume where the socket stopped
            return
        }
        RingCounters.add(counters.sends, 1)
        _ = slots.pop(index)
        slots.queuedBytes[index] -= UInt32(length)
        frames.release(frame)
        switch slots.phase[index] {
        case .open:
            if slots.queueCount[index] > 0 { sendHead(index) }
            if slots.drainNoticeWanted[index] && Int(slots.queueCount[index]) <= drainLowWater {
                slots.drainNoticeWanted[index] = false
                handler?.connectionDrained(self, slot: userData.slot)
            }
        case .draining:
            if slots.queueCount[index] > 0 { sendHead(index) } else { closeDrained(userData.slot) }
        case .closing:
            submitClose(index)
        case .free, .closeSubmitted:
            break
        }
    }

    // MARK: - Closing

    /// Closes a connection; `connectionClosed` follows once the kernel has let go of the slot.
    public func close(_ slot: UInt32, _ mode: CloseMode) {
        let index = Int(slot)
        switch (slots.phase[index], mode) {
        case (.open, .afterFlush):
            if slots.queueCount[index] == 0 && sealer == nil {
                close(slot, .now)
            } else {
                slots.phase[index] = .draining
                // A peer that stopped reading must not keep the slot forever.
                drainDeadlines.append((slot, slots.generation[index], .now + configuration.drainTimeout))
                if slots.queueCount[index] == 0 { closeDrained(slot) }
            }
        case (.open, .now), (.draining, .now):
            slots.phase[index] = .closing
            dropQueuedFrames(index, keepingHead: slots.sendInFlight[index])
            if slots.sendInFlight[index] {
                // A peer that never reads would hold the send forever; its frame is only free
                // to reuse after the send completes, so cancel it and close on its completion.
                self.ring(of: slot).ring.cancel(
                    UserData(.send, slot: slot, generation: slots.generation[index]), UserData(.cancel, slot: slot))
            } else {
                submitClose(index)
            }
        case (.draining, .afterFlush), (.closing, _), (.closeSubmitted, _), (.free, _):
            break
        }
    }

    /// A draining connection whose queue is sent: the sealer's closing bytes go out first, if any.
    private func closeDrained(_ slot: UInt32) {
        let index = Int(slot)
        if let sealer, let last = sealer.closingFrame(self, slot: slot) {
            let queued = slots.enqueue(index, frame: last, frames: frames, byteLimit: .max, final: true)
            frames.release(last)
            if queued {
                slots.headSealed[index] = true
                sendHead(index)
                return
            }
        }
        close(slot, .now)
    }

    private func dropQueuedFrames(_ index: Int, keepingHead: Bool) {
        let keep = keepingHead ? 1 : 0
        while Int(slots.queueCount[index]) > keep {
            // Drop from the tail so an in-flight head stays at the head.
            let frame = FrameHandle(slots.removeLast(index))
            slots.queuedBytes[index] -= UInt32(frames.bytes(frame).count)
            frames.release(frame)
        }
        if slots.queueCount[index] == 0 { slots.headSealed[index] = false }
    }

    private func submitClose(_ index: Int) {
        dropQueuedFrames(index, keepingHead: false)
        slots.sentBytes[index] = 0
        slots.phase[index] = .closeSubmitted
        let slot = UInt32(index)
        let generation = slots.generation[index]
        let (ring, file) = self.ring(of: slot)
        ring.cancelAndClose(
            slot: file, target: UserData(.receive, slot: slot, generation: generation),
            cancel: UserData(.cancel, slot: slot), close: UserData(.close, slot: slot, generation: generation))
    }

    private func closed(_ userData: UserData) {
        let index = Int(userData.slot)
        guard slots.phase[index] == .closeSubmitted, slots.generation[index] == userData.generation else { return }
        if slots.leftover[index] > 0 {
            leftovers.free(slots.leftover[index] - 1)
            slots.leftover[index] = 0
        }
        slots.phase[index] = .free
        openCount -= 1
        counters.open.store(openCount, ordering: .relaxed)
        member(of: userData.slot).open -= 1
        RingCounters.add(counters.closed, 1)
        if listener == nil { freeAdoptSlots.append(userData.slot) }
        handler?.connectionClosed(self, slot: userData.slot)
        manageAccepting()
    }

    private func closeOverdueDrains() {
        guard !drainDeadlines.isEmpty else { return }
        let now = ContinuousClock.now
        var kept = 0
        for entry in drainDeadlines {
            if entry.deadline > now {
                drainDeadlines[kept] = entry
                kept += 1
            } else if slots.generation[Int(entry.slot)] == entry.generation && slots.phase[Int(entry.slot)] == .draining {
                close(entry.slot, .now)
            }
        }
        drainDeadlines.removeLast(drainDeadlines.count - kept)
    }

    // MARK: - Wake-ups and the timer

    private func armWake() {
        rings[0].ring.read(fd: wakeDescriptor, into: wakeReadBuffer, count: 8, UserData(.wake))
    }

    /// Ring 0 reads ring `member`'s eventfd, so a completion there ends ring 0's wait.
    private func armReadiness(_ member: Int) {
        let ring = rings[member]
        rings[0].ring.read(
            fd: ring.readinessDescriptor, into: ring.readinessBuffer, count: 8,
            UserData(.ringReady, extra: UInt32(member)))
    }

    private func member(of slot: UInt32) -> LoopRing {
        rings.count == 1 ? rings[0] : rings[Int(slot) / configuration.slotsPerRing]
    }

    private func armTick() {
        let nanoseconds = configuration.tickInterval.components.seconds * 1_000_000_000
            + configuration.tickInterval.components.attoseconds / 1_000_000_000
        rings[0].ring.timeout(nanoseconds: UInt64(nanoseconds), UserData(.tick))
    }

    private static func powerOfTwo(atLeast value: Int) -> Int {
        var result = 1
        while result < value { result <<= 1 }
        return result
    }
}

/// One ring of a loop and what the loop keeps about it.
private final class LoopRing {
    let ring: Ring
    /// The loop's slot of this ring's file index 0.
    let base: UInt32
    let fileSlots: Int
    var open = 0
    var multishotArmed = false
    var singleAcceptsOutstanding = 0
    /// Its accepts were asked to end; cleared once none is left.
    var acceptCancelRequested = false
    var isAccepting: Bool { multishotArmed || singleAcceptsOutstanding > 0 }

    /// Asks every accept of this ring to end, once until they have (a cancel reaches all of a kind).
    func cancelAccepts() {
        guard isAccepting, !acceptCancelRequested else { return }
        if multishotArmed { ring.cancel(UserData(.accept, extra: 1), UserData(.cancelAccept)) }
        if singleAcceptsOutstanding > 0 { ring.cancel(UserData(.accept, extra: 0), UserData(.cancelAccept)) }
        acceptCancelRequested = true
    }
    /// Rings after the first: the eventfd their completions signal, and ring 0's read of it.
    var readinessDescriptor: Int32 = -1
    let readinessBuffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    /// Ring 0 saw the eventfd: run this ring's completions.
    var ready = false

    init(ring: Ring, base: UInt32, fileSlots: Int) {
        self.ring = ring
        self.base = base
        self.fileSlots = fileSlots
    }

    deinit {
        readinessBuffer.deallocate()
        if readinessDescriptor >= 0 { Glibc.close(readinessDescriptor) }
    }

    var free: Int { fileSlots - open }
}
