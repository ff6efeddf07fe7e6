import CRdKafka

/// Asks the cluster for every topic and its partition count. Blocks up to `timeout`.
/// All topics are requested, never one by name, so the request cannot auto-create a topic.
func fetchPartitionCounts(handle: KafkaHandle, timeout: Duration) throws(KafkaError) -> [String: Int32] {
    var metadata: UnsafePointer<rd_kafka_metadata>?
    let result = rd_kafka_metadata(handle.pointer, 1, nil, &metadata, Int32(timeout.milliseconds))
    guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
        throw .librdkafka(result, operation: "rd_kafka_metadata")
    }
    // librdkafka allocated the metadata; it is freed here once copied out.
    defer { rd_kafka_metadata_destroy(metadata) }
    handle.events.connectivity.markUp()
    var counts: [String: Int32] = [:]
    for topic in UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
    where topic.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        counts[String(cString: topic.topic)] = topic.partition_cnt
    }
    return counts
}

/// The oldest and next offsets the broker holds for `partition`. Blocks up to `timeout`.
func queryWatermarks(
    _ partition: TopicPartition, handle: KafkaHandle, timeout: Duration
) throws(KafkaError) -> (low: Int64, high: Int64) {
    var low: Int64 = 0
    var high: Int64 = 0
    let result = rd_kafka_query_watermark_offsets(
        handle.pointer, partition.topic, partition.partition, &low, &high, Int32(timeout.milliseconds))
    guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
        throw .librdkafka(result, operation: "rd_kafka_query_watermark_offsets")
    }
    return (low, high)
}

/// The partition counts of `topics`, or `.missingTopics` naming every one the cluster lacks.
func requirePartitionCounts(
    of topics: [String], handle: KafkaHandle, timeout: Duration
) throws(KafkaError) -> [String: Int32] {
    let counts = try fetchPartitionCounts(handle: handle, timeout: timeout)
    let missing = topics.filter { counts[$0] == nil }
    guard missing.isEmpty else {
        let available = counts.keys.sorted().joined(separator: ", ")
        throw .stadium(
            .missingTopics(missing),
            "topics not found in the cluster: \(missing.joined(separator: ", ")) (available: \(available))",
            operation: "metadata")
    }
    return counts.filter { topics.contains($0.key) }
}
