// StadiumClient across a restart of a Kafka-backed gateway: nothing published meanwhile is lost,
// and the records the restarted gateway replays from Kafka are not delivered a second time; a
// subject without a key on several partitions resumes with its cursor on a cold gateway.
// Named for the Makefile's serial Kafka test line: it starts its own broker.
@testable import StadiumClient
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Client with Kafka", .serialized)
struct StadiumClientKafkaTests {
    @Test("a gateway restart loses nothing and repeats nothing", .timeLimit(.minutes(3)))
    func restartLosesNothingRepeatsNothing() async throws {
        try await Stack.run { stack in
            let kafka = try await stack.kafka()
            let brokers = ["--brokers", kafka.bootstrap]
            let gateway = try await stack.gateway(brokers)
            // The writer's gateway stays up, so there is something to catch up on after the restart.
            let writerGateway = try await stack.gateway(brokers)
            let writer = try stack.client("writer", urls: [writerGateway.url])
            // Retrying every few tens of ms, the reader is back as soon as the gateway listens.
            let reader = try stack.client(
                "reader", urls: [gateway.url], backoff: Backoff(initial: .milliseconds(40), maximum: .milliseconds(60)))
            let subject = "/result/restart-test"
            let results = await reader.subscribe(subject)

            try await writer.live()
            try await writer.client.publish(subject, json: Array(#"{"n":0}"#.utf8))
            try await results.messages(1, "message 0 through Kafka", timeout: .seconds(60))

            try await gateway.stop()
            try await reader.statuses.until("the reader to notice the restart") { $0.last?.state == .reconnecting }
            for n in 1...3 { try await writer.client.publish(subject, json: Array(#"{"n":\#(n)}"#.utf8)) }

            // The broker paused as soon as the gateway listens holds back its replay of the last
            // records (mostly: it may be done already), so the reader tends to resubscribe first and
            // get the replayed records live, message 0 among them a second time.
            _ = try await stack.restart(gateway)
            kafka.signal(SIGSTOP)
            do {
                try await reader.statuses.until("live on the restarted gateway", timeout: .seconds(30)) {
                    $0.filter { $0.state == .live }.count >= 2
                }
                try await eventually("the resubscription's ok") { await reader.client.pendingRequestCount == 0 }
            } catch {
                kafka.signal(SIGCONT)
                throw error
            }
            kafka.signal(SIGCONT)
            try await results.messages(4, "messages 1 to 3", timeout: .seconds(60))
            try await writer.client.publish(subject, json: Array(#"{"n":4}"#.utf8))
            let all = try await results.messages(5, "message 4", timeout: .seconds(30))

            // Which way the restarted gateway caught the reader up depends on timing; both must end the same.
            let skipped = await reader.client.repeatsSkipped
            print(skipped > 0
                ? "the restarted gateway sent \(skipped) message(s) again (replayed from Kafka live): skipped"
                : "the restarted gateway had replayed Kafka before the reader resubscribed: it sent only what came after since")
            #expect(all.map(\.text) == (0...4).map { #"{"n":\#($0)}"# })
            let seqs = all.map(\.seq)
            #expect(seqs == seqs.sorted(), "seqs of one keyed subject should grow")
            #expect(await reader.client.resumedFrom[subject] == seqs[0])
            #expect(results.gaps.isEmpty, "all of it was still in Kafka: nothing may be reported missing")
        }
    }

    @Test(
        "a subject without a key on three partitions resumes with its cursor on a cold failover gateway: every record once, no gap",
        .timeLimit(.minutes(3)))
    func cursorResumesOnAColdFailoverGateway() async throws {
        try await Stack.run { stack in
            let partitions: [Int32] = [0, 1, 2]
            let kafka = try await stack.kafka(partitions: partitions.count)
            let first = try await stack.gateway(["--brokers", kafka.bootstrap])
            // The failover gateway holds only the last 10 records per partition: older missed ones it reads from Kafka.
            let second = try await stack.gateway(["--brokers", kafka.bootstrap, "--replay-last", "10"])
            // Stopped until the reader has missed records, so it comes back cold and has to use the cursor.
            try await second.stop()
            let reader = try stack.client("reader", urls: [first.url, second.url])
            let subject = "/question"
            let questions = await reader.subscribe(subject)
            try await eventually("the sub's ok positions", timeout: .seconds(30)) { await reader.client.cursor(subject) != nil }
            #expect(await reader.client.cursor(subject) == [0: -1, 1: -1, 2: -1], "an empty topic's positions")

            // A record says its partition and number, so the test knows what each partition must deliver.
            func records(_ numbers: Range<Int>, in partition: Int32) -> [String] { numbers.map { #"{"p":\#(partition),"n":\#($0)}"# } }
            for partition in partitions { try await kafka.produce(records(0..<5, in: partition), topic: "question", partition: partition) }
            try await questions.messages(15, "5 records of each partition", timeout: .seconds(60))
            #expect(await reader.client.cursor(subject) == [0: 4, 1: 4, 2: 4])

            try await first.stop()
            try await reader.statuses.until("the reader to lose its gateway") { $0.last?.state == .reconnecting }
            for partition in partitions { try await kafka.produce(records(5..<35, in: partition), topic: "question", partition: partition) }
            _ = try await stack.restart(second)
            try await questions.messages(105, "the 90 missed records", timeout: .seconds(60))
            for partition in partitions { try await kafka.produce(records(35..<36, in: partition), topic: "question", partition: partition) }
            let all = try await questions.messages(108, "a live record of each partition", timeout: .seconds(30))

            #expect(await reader.client.resumedCursors == [subject: [0: 4, 1: 4, 2: 4]])
            #expect(await reader.client.resumedFrom[subject] == nil, "a subject with a cursor resumes with it, not with a seq")
            #expect(questions.gaps.isEmpty, "all of it was still in Kafka: nothing may be reported missing")
            #expect(all.allSatisfy { !$0.retained })
            for partition in partitions {
                let delivered = all.filter { $0.partition == partition }
                #expect(delivered.map(\.text) == records(0..<36, in: partition), "partition \(partition): each record once, in order")
                #expect(delivered.map(\.seq) == (0..<36).map(Int64.init), "partition \(partition): seqs are its offsets")
            }
            #expect(await reader.client.cursor(subject) == [0: 35, 1: 35, 2: 35])
        }
    }

    @Test("the quiz bot of docs/CLIENTS.md answers questions and gets results", .timeLimit(.minutes(3)))
    func documentedBotPlays() async throws {
        try await Stack.run { stack in
            let kafka = try await stack.kafka()
            _ = try stack.program("stadium-processors", ["--brokers", kafka.bootstrap, "--round", "4", "--answer-window", "3"])
            let gateway = try await stack.gateway(["--brokers", kafka.bootstrap])
            let bot = try stack.program("stadium-quiz-bot-example", [gateway.url])
            // The bot's results are what the processors scored its answers with.
            let watcher = try stack.client("watcher", urls: [gateway.url])
            let results = await watcher.subscribe("/result/bot-ada")
            struct Result: Decodable { let question_id: String; let points: Int; let total: Int }
            let scored = try await results.events.until("a result for the bot's answer", timeout: .seconds(90)) { events in
                events.contains { if case .message(let message) = $0 { !message.retained } else { false } }
            }
            guard case .message(let first) = scored.first(where: { if case .message(let m) = $0 { !m.retained } else { false } }) else {
                Issue.record("no result")
                return
            }
            let result = try first.decode(Result.self)
            #expect(result.question_id.contains("-r"))
            #expect(result.total >= result.points)
            #expect(bot.isRunning, "the bot keeps playing")
        }
    }
}
