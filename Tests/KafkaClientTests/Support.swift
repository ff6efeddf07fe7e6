import Foundation
import KafkaClient
import Synchronization

/// A consumed record copied out of the batch, so it outlives the handler call.
struct ReceivedRecord: Sendable, Equatable {
    let topic: String
    let partition: Int32
    let offset: Int64
    let key: [UInt8]?
    let value: [UInt8]
    let headers: [String]
    let headerValues: [[UInt8]]
    let timestampMilliseconds: Int64?

    init(_ record: ConsumedRecord) {
        topic = record.topic
        partition = record.partition
        offset = record.offset
        key = record.keyBytes
        value = record.valueBytes
        let headers = record.headers
        self.headers = headers.map(\.name)
        headerValues = headers.map(\.value)
        timestampMilliseconds = record.timestampMilliseconds
    }

    var valueText: String { String(decoding: value, as: UTF8.self) }
}

/// Everything a consumer delivered, readable from the test thread.
final class RecordCollector: Sendable {
    private let received = Mutex<[ReceivedRecord]>([])

    func handle(_ batch: ConsumedBatch) {
        let copies = batch.records.map(ReceivedRecord.init)
        received.withLock { $0.append(contentsOf: copies) }
    }

    var records: [ReceivedRecord] { received.withLock { $0 } }
    var count: Int { received.withLock { $0.count } }
}

/// Delivery reports by token, readable from the test thread.
final class DeliveryCollector: Sendable {
    private let reports = Mutex<[(token: UInt64, result: Result<DeliveredRecord, KafkaError>)]>([])

    var handler: DeliveryHandler {
        { token, result in self.reports.withLock { $0.append((token, result)) } }
    }

    var all: [(token: UInt64, result: Result<DeliveredRecord, KafkaError>)] { reports.withLock { $0 } }
    var count: Int { reports.withLock { $0.count } }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
