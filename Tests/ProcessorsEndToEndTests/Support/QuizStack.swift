import Foundation
import KafkaClient
import StadiumTestSupport
import Synchronization

/// stadium-kafka and stadium-processors as child processes, and a test client that talks to
/// them through Kafka alone: a producer for `answer` and `gettop`, a consumer of every output topic.
final class QuizStack {
    let bootstrapServers: String
    let processorArguments: [String]
    private let directory: URL
    private let broker: ChildProcess
    private(set) var processors: ChildProcess?
    private let producer: KafkaProducer
    private let consumer: KafkaConsumer
    private let inbox = Inbox()

    /// Starts the broker, waits for its bootstrap file, starts the processors with `processorArguments`.
    init(processorArguments: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("quiz-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let bootstrapFile = directory.appendingPathComponent("bootstrap").path
        broker = try ChildProcess("stadium-kafka", ["--bootstrap-file", bootstrapFile])
        _ = try broker.line(startingWith: "stadium-kafka: bootstrap")
        try waitUntil("the bootstrap file") { FileManager.default.fileExists(atPath: bootstrapFile) }
        bootstrapServers = try String(contentsOfFile: bootstrapFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        self.processorArguments = ["--bootstrap-file", bootstrapFile] + processorArguments

        let config = KafkaConfig(bootstrapServers: bootstrapServers)
        producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        consumer = try KafkaConsumer(config: config, topics: ["question", "result", "top"], start: .beginning)
        consumer.start { [inbox] batch in inbox.add(batch.records.map(OutputRecord.init)) }
        try startProcessors()
    }

    deinit {
        consumer.stop()
        try? producer.close(timeout: .seconds(5))
        _ = try? processors?.stop()
        _ = try? broker.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func startProcessors() throws {
        processors = try ChildProcess("stadium-processors", processorArguments)
    }

    /// SIGTERM to the processors; returns their exit status.
    func stopProcessors() throws -> Int32 {
        defer { processors = nil }
        return try processors?.stop() ?? 0
    }

    /// SIGKILL to the processors, as a crash would end them.
    func killProcessors() {
        processors?.killNow()
        processors = nil
    }

    var records: [OutputRecord] { inbox.records }

    /// Waits for the first record on `topic` that satisfies `matches`.
    func first(
        on topic: String, timeout: Duration = .seconds(60), where matches: (OutputRecord) -> Bool
    ) throws -> OutputRecord {
        var found: OutputRecord?
        try waitUntil("a record on \(topic)", timeout: timeout) {
            found = records.first { $0.topic == topic && matches($0) }
            return found != nil
        }
        return found!
    }

    /// The next question published after the ones in `seen`.
    func nextQuestion(after seen: Set<String> = []) throws -> Question {
        let record = try first(on: "question") { !seen.contains($0.string("id") ?? "") }
        return Question(id: record.string("id")!, deadlineMs: record.integer("deadline_ms")!, points: record.integer("points")!)
    }

    func answer(_ user: String, question: String, answer: Int) throws {
        let value = try JSONSerialization.data(withJSONObject: ["question_id": question, "answer": answer])
        try producer.produce(topic: "answer", key: Array(user.utf8), value: Array(value), token: 0)
        try producer.flush(timeout: .seconds(30))
    }

    func getTop(_ user: String) throws {
        let value = try JSONSerialization.data(withJSONObject: ["user_id": user])
        try producer.produce(topic: "gettop", key: Array(user.utf8), value: Array(value), token: 0)
        try producer.flush(timeout: .seconds(30))
    }

    /// Results for `user`, in the order the processors produced them (one partition per user).
    func results(for user: String) -> [OutputRecord] {
        records.filter { $0.topic == "result" && $0.key == user }
    }
}

/// What the test consumer received; a class, so the consume thread's closure can hold it.
final class Inbox: Sendable {
    private let received = Mutex<[OutputRecord]>([])

    func add(_ records: [OutputRecord]) { received.withLock { $0 += records } }
    var records: [OutputRecord] { received.withLock { $0 } }
}

struct Question {
    let id: String
    let deadlineMs: Int64
    let points: Int64
}

/// A record of an output topic with its JSON value decoded.
struct OutputRecord: Sendable {
    let topic: String
    let key: String?
    let value: String

    init(_ record: ConsumedRecord) {
        topic = record.topic
        key = record.keyBytes.map { String(decoding: $0, as: UTF8.self) }
        value = String(decoding: record.valueBytes, as: UTF8.self)
    }

    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(value.utf8))) as? [String: Any] ?? [:]
    }

    func string(_ field: String) -> String? { object[field] as? String }
    func integer(_ field: String) -> Int64? { (object[field] as? NSNumber)?.int64Value }
    func bool(_ field: String) -> Bool? { (object[field] as? NSNumber)?.boolValue }
}

func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
