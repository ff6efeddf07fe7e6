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
    /// With --compression on: compresses each published message once (under `publishing`), for
    /// every socket that agreed to permessage-deflate.
    private let deflater: MessageDeflater?
    /// Connections that agreed to permessage-deflate, on all rings: while there are none, nothing
    /// is compressed (a message published then goes plain to anyone who later reads it).
    private let compressingConnections = Atomic<Int>(0)

    var isAccepting: Bool { accepting.load(ordering: .relaxed) }

    func stopAccepting() {
        accepting.store(false, ordering: .relaxed)
    }

    init(subjects: SubjectRegistry, frames: FramePool, compression: Bool = false) {
        self.subjects = subjects
        self.frames = frames
        writer = FrameWriter(frames: frames)
        deflater = compression ? MessageDeflater() : nil
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
        let rings = publishing.withLock { _ in
            if let deflater, compressingConnections.load(ordering: .relaxed) > 0 {
                // Before the frames are shared: the history, retained message and inboxes get both forms.
                attachCompressedForm(live, deflater)
                attachCompressedForm(retained, deflater)
            }
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

    /// A connection agreed to permessage-deflate (`true`), or one that had closed (`false`).
    func countCompressingConnection(_ opened: Bool) {
        compressingConnections.wrappingAdd(opened ? 1 : -1, ordering: .relaxed)
    }

    private func attachCompressedForm(_ frame: FrameHandle, _ deflater: MessageDeflater) {
        guard let compressed = writer.compressedForm(of: frame, deflater: deflater) else { return }
        frames.attachCompressed(compressed, to: frame)
    }

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
