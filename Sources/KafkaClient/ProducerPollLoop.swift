import CRdKafka
import Foundation
import Synchronization

/// The producer's own thread: serves librdkafka's main queue so delivery reports and statistics
/// callbacks run here, never on the thread that produced. Wakes flush waiters when the queue drains.
final class ProducerPollLoop: @unchecked Sendable {
    private let handle: KafkaHandle
    private let stopping = Atomic<Bool>(false)
    private let flushWaiters = Atomic<Int>(0)
    private let drained = NSCondition()
    private var thread: WorkerThread?

    init(handle: KafkaHandle) {
        self.handle = handle
    }

    func start() {
        thread = WorkerThread(name: "kafka-producer-poll") { [self] in
            while !stopping.load(ordering: .acquiring) {
                rd_kafka_poll(handle.pointer, 100)
                if flushWaiters.load(ordering: .sequentiallyConsistent) > 0 {
                    drained.lock()
                    drained.broadcast()
                    drained.unlock()
                }
            }
        }
    }

    /// Waits until every produced record has had its delivery report handled, or the deadline passes.
    func waitUntilDrained(timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(timeout.seconds)
        flushWaiters.add(1, ordering: .sequentiallyConsistent)
        defer { flushWaiters.subtract(1, ordering: .sequentiallyConsistent) }
        drained.lock()
        defer { drained.unlock() }
        while rd_kafka_outq_len(handle.pointer) > 0 {
            if !drained.wait(until: deadline) {
                return rd_kafka_outq_len(handle.pointer) == 0
            }
        }
        return true
    }

    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        thread?.join()
        thread = nil
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    var milliseconds: Int32 {
        Int32(clamping: Int64((seconds * 1000).rounded(.up)))
    }
}
