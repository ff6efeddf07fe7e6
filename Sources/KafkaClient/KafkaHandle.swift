import CRdKafka
import Logging

/// The one owner of an `rd_kafka_t`: created with its callbacks wired to `events`, destroyed in `deinit`.
final class KafkaHandle {
    enum Role {
        case producer, consumer
    }

    /// The `rd_kafka_t *`; valid for the life of this object, never handed out of the module.
    let pointer: OpaquePointer
    let events: HandleEvents
    /// False once a consumer's close gave up: destroying must not start the blocking close again.
    var closesConsumerOnDestroy = true

    init(role: Role, config: KafkaConfig, events: HandleEvents) throws(KafkaError) {
        let configuration = try makeConfigurationHandle(config)
        // The handle outlives librdkafka's use of the opaque: rd_kafka_destroy runs in deinit first.
        rd_kafka_conf_set_opaque(configuration, Unmanaged.passUnretained(events).toOpaque())
        rd_kafka_conf_set_error_cb(configuration, forwardError)
        rd_kafka_conf_set_log_cb(configuration, forwardLog)
        rd_kafka_conf_set_stats_cb(configuration, forwardStatistics)
        if role == .producer {
            rd_kafka_conf_set_dr_msg_cb(configuration, forwardDeliveryReport)
        }
        if role == .consumer, events.rebalanceHandler != nil {
            rd_kafka_conf_set_rebalance_cb(configuration, forwardRebalance)
        }
        var errorText = [CChar](repeating: 0, count: 512)
        let type = role == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let pointer = rd_kafka_new(type, configuration, &errorText, errorText.count) else {
            // On failure the configuration is still ours to free.
            rd_kafka_conf_destroy(configuration)
            let reason = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError.stadium(.configuration, reason, operation: "rd_kafka_new")
        }
        // From here librdkafka owns `configuration`.
        self.pointer = pointer
        self.events = events
    }

    deinit {
        rd_kafka_destroy_flags(pointer, closesConsumerOnDestroy ? 0 : Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
    }
}

private func events(of handle: OpaquePointer?) -> HandleEvents? {
    guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
    return Unmanaged<HandleEvents>.fromOpaque(opaque).takeUnretainedValue()
}

private func forwardError(
    handle: OpaquePointer?, code: Int32, reason: UnsafePointer<CChar>?, opaque: UnsafeMutableRawPointer?
) {
    guard let opaque else { return }
    let events = Unmanaged<HandleEvents>.fromOpaque(opaque).takeUnretainedValue()
    let isFatal = code == RD_KAFKA_RESP_ERR__FATAL.rawValue
    events.clientError(
        KafkaError(
            kind: .librdkafka, code: KafkaError.Code(rawValue: code),
            message: reason.map { String(cString: $0) } ?? "", isFatal: isFatal,
            operation: "error_cb", file: #fileID, line: #line))
}

private func forwardLog(handle: OpaquePointer?, level: Int32, facility: UnsafePointer<CChar>?, text: UnsafePointer<CChar>?) {
    guard let events = events(of: handle) else { return }
    events.log(
        level: level, facility: facility.map { String(cString: $0) } ?? "",
        text: text.map { String(cString: $0) } ?? "")
}

private func forwardStatistics(
    handle: OpaquePointer?, json: UnsafeMutablePointer<CChar>?, length: Int, opaque: UnsafeMutableRawPointer?
) -> Int32 {
    guard let opaque, let json else { return 0 }
    let events = Unmanaged<HandleEvents>.fromOpaque(opaque).takeUnretainedValue()
    events.statistics(UnsafeRawBufferPointer(start: json, count: length))
    // 0: librdkafka keeps ownership of the JSON and frees it.
    return 0
}

private func forwardDeliveryReport(
    handle: OpaquePointer?, message: UnsafePointer<rd_kafka_message_t>?, opaque: UnsafeMutableRawPointer?
) {
    guard let opaque, let message else { return }
    let events = Unmanaged<HandleEvents>.fromOpaque(opaque).takeUnretainedValue()
    let record = message.pointee
    // The token travels as the message's opaque pointer bits.
    let token = UInt64(UInt(bitPattern: record._private))
    if record.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        events.delivered(token: token, .success(DeliveredRecord(partition: record.partition, offset: record.offset)))
    } else {
        let error = KafkaError.librdkafka(
            record.err, kind: .delivery, operation: "delivery report")
        events.delivered(token: token, .failure(error))
    }
}

/// Hands the owner the partitions gained or lost, then applies the change: an owner's work for
/// a revoked partition ends before another member may be assigned it (eager rebalancing).
private func forwardRebalance(
    handle: OpaquePointer?, error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    opaque: UnsafeMutableRawPointer?
) {
    guard let handle else { return }
    let list = partitions.map { list in
        UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt)).map {
            TopicPartition(topic: String(cString: $0.topic), partition: $0.partition)
        }
    } ?? []
    let handler = opaque.map { Unmanaged<HandleEvents>.fromOpaque($0).takeUnretainedValue() }?.rebalanceHandler
    if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
        // State first: no record of a partition reaches the handler before its owner restored it.
        handler?(.assigned(list))
        rd_kafka_assign(handle, partitions)
    } else {
        handler?(.revoked(list))
        rd_kafka_assign(handle, nil)
    }
}
