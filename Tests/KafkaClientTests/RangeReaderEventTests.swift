import KafkaClient
import StadiumTestSupport
import Testing

/// A range reader reads rarely; librdkafka queues its statistics events meanwhile and keeps each
/// until the queue is served (issue 15: the gateway grew by every one of them).
@Suite struct RangeReaderEventTests {
    @Test func eventsWaitUntilServedAndServingEmptiesTheQueue() throws {
        let cluster = try DevelopmentCluster(partitions: 1, topics: ["result"])
        var config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        config["statistics.interval.ms"] = "20"
        let reader = try KafkaRangeReader(config: config)

        try waitUntil("statistics queued while nobody serves them") { reader.queuedEvents >= 3 }
        // Nothing served them yet: no statistics reached the callback that tracks connectivity.
        #expect(!reader.connectivity.isUp)
        reader.serveEvents()
        // A new event may have come since the queue was emptied, not several.
        #expect(reader.queuedEvents <= 1)
    }
}
