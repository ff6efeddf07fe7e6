import KafkaClient
import Logging
import Synchronization

/// Follows delivery reports: where `result` records landed (the positions a snapshot
/// covers) and how many records failed.
final class DeliveryTracker: Sendable {
    static let resultToken: UInt64 = 1
    static let otherToken: UInt64 = 0

    private let nextResultOffsets: Mutex<[Int32: Int64]>
    private let failures = Atomic<Int>(0)
    private let logger: Logger

    /// `restoredPositions`: what the restored state already covers, so the first snapshot
    /// after a restart does not send the next restart back to older results.
    init(restoredPositions: [Int32: Int64], logger: Logger) {
        nextResultOffsets = Mutex(restoredPositions)
        self.logger = logger
    }

    var failedDeliveries: Int { failures.load(ordering: .relaxed) }

    /// Per partition of `result`: the offset after the last delivered result.
    var resultPositions: [Int32: Int64] { nextResultOffsets.withLock { $0 } }

    func delivered(token: UInt64, result: Result<DeliveredRecord, KafkaError>) {
        switch result {
        case .success(let record):
            guard token == Self.resultToken else { return }
            nextResultOffsets.withLock { offsets in
                offsets[record.partition] = max(offsets[record.partition] ?? 0, record.offset + 1)
            }
        case .failure(let error):
            // Only the first few are logged: a broker outage fails every queued record.
            if failures.add(1, ordering: .relaxed).newValue <= 10 {
                logger.error("record not delivered: \(error)")
            }
        }
    }
}
