import CRdKafka

/// A record as librdkafka delivered it. The buffers point into librdkafka's message and are
/// valid only during the handler call that received the batch; copy with `keyBytes`/`valueBytes`.
public struct ConsumedRecord {
    // Owned by the consume loop, destroyed after the handler returns.
    private let message: UnsafePointer<rd_kafka_message_t>
    public let topic: String

    init(message: UnsafePointer<rd_kafka_message_t>, topic: String) {
        self.message = message
        self.topic = topic
    }

    public var partition: Int32 { message.pointee.partition }
    public var offset: Int64 { message.pointee.offset }

    /// nil when the record has no key (a null key, not an empty one).
    public var key: UnsafeRawBufferPointer? {
        guard let pointer = message.pointee.key else { return nil }
        return UnsafeRawBufferPointer(start: pointer, count: message.pointee.key_len)
    }

    public var value: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: message.pointee.payload, count: message.pointee.len)
    }

    public var keyBytes: [UInt8]? { key.map { Array($0) } }
    public var valueBytes: [UInt8] { Array(value) }

    /// The record's Kafka timestamp in milliseconds since 1970, nil if it has none.
    public var timestampMilliseconds: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
    }

    /// Copies the headers out; costs an allocation per header, so read it only when needed.
    public var headers: [KafkaHeader] {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var headers: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            headers.append((name: name.map { String(cString: $0) } ?? "", value: bytes))
            index += 1
        }
        return headers
    }
}

/// The records one consume call returned, in librdkafka's order (offsets increase per partition).
/// Valid only during the handler call.
public struct ConsumedBatch {
    public let records: [ConsumedRecord]
}
