import Foundation
import KafkaClient
import Logging
import StadiumTestSupport
import Testing
import UringIO
@testable import Gateway

/// librdkafka queues a statistics event every interval on the recovery reader's handle and keeps
/// it until the queue is served. The recovery thread used to serve it only during a read, so a
/// gateway whose clients never resumed past its memory grew by every event, for good (issue 15:
/// the churn soak's steady rise, about 8 KiB a second).
@Suite struct KafkaRecoveryIdleTests {
    @Test func anIdleRecoveryThreadServesItsReadersEvents() throws {
        let cluster = try DevelopmentCluster(partitions: 1, topics: ["result"])
        let pool = FramePool(capacity: 8)
        let hub = FanoutHub(subjects: SubjectRegistry(frames: pool), frames: pool)
        let recovery = try KafkaRecovery(
            config: KafkaConfig(bootstrapServers: cluster.bootstrapServers),
            planner: RecoveryPlanner(partitionCounts: ["result": 1], startOffsets: [:], partitioner: .crc32),
            nextToDeliver: { _ in nil }, hub: hub, metrics: GatewayMetrics(), maxRecords: 100,
            timeout: .seconds(5), logger: Logger(label: "test.recovery"))
        recovery.start()
        defer { recovery.stop() }

        // No request comes: only the idle serving can hand the statistics to their callback.
        try waitUntil("the reader's statistics served", timeout: .seconds(20)) { recovery.readerConnectivity.isUp }
        // Served about once a statistics interval (1 s): a few at most wait, not one per second of uptime.
        #expect(recovery.queuedReaderEvents <= 3)
    }
}
