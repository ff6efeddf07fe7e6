// Hands encoded frames to every ring: each ring looks up its own subscribers, so no lock is
// held while frames go out and no ring touches another ring's connections.
import Synchronization
import UringIO
import WebSocket

/// Which connection, on which ring, waits for the answer to which request.
public struct ReplyAddress: Sendable {
    let ring: Int
    let slot: UInt32
    /// Tells a reused slot apart from the connection that asked.
    let connection: UInt32
    let requestID: Int64?
}

enum InboxMessage {
    case deliver(SubjectID, FrameHandle, version: UInt64)
    case reply(slot: UInt32, connection: UInt32, FrameHandle)
    /// A reply to this connection could not be built: it is closed rather than left waiting.
    case replyLost(slot: UInt32, connection: UInt32)
    case recovered(KafkaRecovery.Delivery)
}

/// A ring's queue of work from other threads.
final class RingInbox: @unchecked Sendable {
    private let pending = Mutex<[InboxMessage]>([])

    func post(_ message: InboxMessage) {
        pending.withLock { $0.append(message) }
    }

    /// Swaps the pending messages into `batch` (which should be empty), keeping both capacities.
    func drain(into batch: inout [InboxMessage]) {
        pending.withLock { swap(&$0, &batch) }
    }
}

final class FanoutHub: @unchecked Sendable {
    let subjects: SubjectRegistry
    let frames: FramePool
    private let writer: FrameWriter
    private(set) var loops: [RingLoop] = []
    private(set) var inboxes: [RingInbox] = []
    /// Reads from Kafka what resuming clients missed before this gateway's memory; nil without Kafka.
    var recovery: KafkaRecovery?
    /// Cleared at shutdown: rings then refuse new connections.
    private let accepting = Atomic<Bool>(true)
    /// Publishes from several threads (local routing publishes from every ring) reach each inbox
    /// in the order their versions were given, or a ring would see version 6 before 5.
    private let publishing = Mutex(())
    /// With --compression on: compresses a message the first time a socket that agreed to
    /// permessage-deflate is sent it, for every such socket of every ring (the lock makes it once).
    private let deflater: Mutex<MessageDeflater?>
    /// A deflater was made: published messages are marked compressible.
    private let compresses: Bool
    /// Compressed forms settled (for tests): at most one per message.
    private let compressions = Atomic<Int>(0)

    var isAccepting: Bool { accepting.load(ordering: .relaxed) }

    func stopAccepting() {
        accepting.store(false, ordering: .relaxed)
    }

    init(subjects: SubjectRegistry, frames: FramePool, compression: Bool = false) {
        self.subjects = subjects
        self.frames = frames
        writer = FrameWriter(frames: frames)
        let made = compression ? MessageDeflater() : nil
        compresses = made != nil
        deflater = Mutex(made)
    }

    func attach(_ loop: RingLoop, inbox: RingInbox) {
        loops.append(loop)
        inboxes.append(inbox)
    }

    /// Publishes one message of subject `name`: `live` goes to current subscribers, `retained`
    /// becomes the subject's latest message. Takes over the caller's reference to both frames.
    func publish(
        _ name: String, seq: Int64, partition: Int32? = nil, keyless: Bool = false, live: FrameHandle, retained: FrameHandle
    ) {
        if compresses {
            // Messages only (not replies or control frames), before they are shared.
            frames.markCompressible(live)
            frames.markCompressible(retained)
        }
        let rings = publishing.withLock { _ in
            let (subject, version, rings) = subjects.recordMessage(
                name, seq: seq, partition: partition, keyless: keyless, live: live, retained: retained)
            for (index, inbox) in inboxes.enumerated() where rings.includes(ring: index) {
                frames.retain(live)
                inbox.post(.deliver(subject, live, version: version))
            }
            return rings
        }
        // Wake-ups after the lock: another publisher need not wait for eventfd writes.
        for (index, loop) in loops.enumerated() where rings.includes(ring: index) { loop.wake() }
        frames.release(live)
    }

    /// The permessage-deflate form of `frame` (held by the caller) for a socket that agreed to
    /// it, made now if no socket needed it before; nil when the plain frame serves (compression
    /// off, short, does not shrink). A message nobody who deflates is sent is never compressed.
    func compressedForm(of frame: FrameHandle) -> FrameHandle? {
        switch frames.compressedForm(frame) {
        case .frame(let compressed): return compressed
        case .none: return nil
        case .unsettled: break
        }
        return deflater.withLock { deflater in
            guard let deflater else { return nil }
            // Another ring may have settled it while this one waited for the lock.
            switch frames.compressedForm(frame) {
            case .frame(let compressed): return compressed
            case .none: return nil
            case .unsettled: break
            }
            let made = writer.compressedForm(of: frame, deflater: deflater)
            frames.settleCompressed(made, for: frame)
            compressions.wrappingAdd(1, ordering: .relaxed)
            return made
        }
    }

    /// How many frames have had their compressed form settled (made or found not worth it).
    var compressionsSettled: Int { compressions.load(ordering: .relaxed) }

    /// Hands records read back from Kafka to the ring of the connection that asked; takes over
    /// the delivery's frame references.
    func recovered(ring: Int, _ delivery: KafkaRecovery.Delivery) {
        inboxes[ring].post(.recovered(delivery))
        loops[ring].wake()
    }

    /// Sends a reply to the connection that asked (from any thread); if it cannot be built, the
    /// ring counts that and closes the connection.
    func reply(_ address: ReplyAddress, _ reply: Reply) {
        let message: InboxMessage
        do {
            message = .reply(slot: address.slot, connection: address.connection, try writer.encode(reply))
        } catch {
            message = .replyLost(slot: address.slot, connection: address.connection)
        }
        inboxes[address.ring].post(message)
        loops[address.ring].wake()
    }
}
