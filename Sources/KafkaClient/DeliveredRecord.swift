/// Where Kafka stored a produced record.
public struct DeliveredRecord: Sendable, Equatable {
    public let partition: Int32
    public let offset: Int64

    public init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
}

/// Receives the outcome of each produced record, once, identified by the caller's token.
public typealias DeliveryHandler = @Sendable (_ token: UInt64, _ result: Result<DeliveredRecord, KafkaError>) -> Void

/// A record header: librdkafka copies name and value when the record is produced.
public typealias KafkaHeader = (name: String, value: [UInt8])
