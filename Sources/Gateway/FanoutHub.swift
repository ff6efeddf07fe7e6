// Hands encoded frames to every ring: each ring looks up its own subscribers, so no lock is
// held while frames go out and no ring touches another ring's connections.
import Logging
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
    // Raw handles: an inbox is a container at the ring's edge; the posting side hands its
    // reference over (`OwnedFrame.handOver`) and the ring adopts it back.
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
    /// Counts frames that could not be built for subscribers (nil in tests that do not count).
    private let metrics: GatewayMetrics?
    private let logger: Logger
    /// A spent pool fails every message: the first failure is logged, the rest only counted.
    private let loggedNotEncoded = Atomic<Bool>(false)

    var isAccepting: Bool { accepting.load(ordering: .relaxed) }

    func stopAccepting() {
        accepting.store(false, ordering: .relaxed)
    }

    init(
        subjects: SubjectRegistry, frames: FramePool, compression: Bool = false, metrics: GatewayMetrics? = nil,
        logger: Logger = Logger(label: "stadium.gateway")
    ) {
        self.subjects = subjects
        self.frames = frames
        self.metrics = metrics
        self.logger = logger
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
    /// becomes the subject's latest message. Takes both frames over.
    func publish(
        _ name: String, seq: Int64, partition: Int32? = nil, keyless: Bool = false,
        live: consuming OwnedFrame, retained: consuming OwnedFrame
    ) {
        if compresses {
            // Messages only (not replies or control frames), before they are shared.
            frames.markCompressible(live.handle)
            frames.markCompressible(retained.handle)
        }
        // The registry keeps the retained frame; handed over here, since the lock's closure cannot consume it.
        let kept = retained.handOver()
        let rings = publishing.withLock { _ in
            let (subject, version, rings) = subjects.recordMessage(
                name, seq: seq, partition: partition, keyless: keyless, live: live,
                retained: OwnedFrame(adopting: kept, from: frames))
            for (index, inbox) in inboxes.enumerated() where rings.includes(ring: index) {
                inbox.post(.deliver(subject, live.retained().handOver(), version: version))
            }
            return rings
        }
        // Wake-ups after the lock: another publisher need not wait for eventfd writes.
        for (index, loop) in loops.enumerated() where rings.includes(ring: index) { loop.wake() }
    }

    /// A message for subscribers that could not be built: counted each time, logged the first.
    func messageNotEncoded(subject: String, seq: Int64, _ error: any Error) {
        metrics?.count(.messageNotEncoded)
        guard !loggedNotEncoded.exchange(true, ordering: .relaxed) else { return }
        logger.error(
            "a message could not be encoded for its subscribers (later ones only counted in stadium_errors_total{kind=\"message_not_encoded\"})",
            metadata: ["subject": "\(subject)", "seq": "\(seq)", "error": "\(error)"])
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
            compressions.wrappingAdd(1, ordering: .relaxed)
            do {
                guard let made = try writer.compressedForm(of: frame, deflater: deflater) else {
                    frames.settleCompressed(nil, for: frame)
                    return nil
                }
                let compressed = made.handle
                frames.settleCompressed(made, for: frame)
                return compressed
            } catch {
                // The plain frame serves this socket and every other: nothing is lost but the saving.
                metrics?.count(.compressionNotEncoded)
                frames.settleCompressed(nil, for: frame)
                return nil
            }
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
            message = .reply(slot: address.slot, connection: address.connection, try writer.encode(reply).handOver())
        } catch {
            message = .replyLost(slot: address.slot, connection: address.connection)
        }
        inboxes[address.ring].post(message)
        loops[address.ring].wake()
    }
}
