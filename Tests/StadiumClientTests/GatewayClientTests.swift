// StadiumClient against the real gateway without Kafka (pubs go straight to local subscribers,
// seqs count from 0 per subject): pubs and their errors, subscriptions, resuming, gaps, failover.
import Foundation
@testable import StadiumClient
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("Client against the gateway")
struct GatewayClientTests {
    private func texts(_ messages: [StadiumMessage]) -> [String] { messages.map(\.text) }

    @Test("publish returns on ok; subscribers get the message, a late one as retained", .timeLimit(.minutes(2)))
    func publishAndSubscribe() async throws {
        try await Stack.run { stack in
            let gateway = try await stack.gateway()
            let writer = try stack.client("writer", urls: [gateway.url])
            try await writer.live()
            try await writer.client.publish("/room/1", json: Array(#"{"text":"first","n":0}"#.utf8))

            let reader = try stack.client("reader", urls: [gateway.url])
            let first = await reader.subscribe("/room/1")
            // The retained message comes after the sub's ok: from then on the reader gets live messages.
            let retained = try await first.messages(1, "the retained message")
            #expect(retained == [StadiumMessage(subject: "/room/1", seq: 0, data: Array(#"{"text":"first","n":0}"#.utf8), retained: true)])
            struct Note: Codable, Equatable { let text: String; let n: Int }
            try await writer.client.publish("/room/1", Note(text: "hello", n: 1))
            let live = try await first.messages(2, "the live message")[1]
            #expect((live.seq, live.retained, live.subject) == (1, false, "/room/1"))
            #expect(try live.decode(Note.self) == Note(text: "hello", n: 1))

            // A second subscription of a subject the client holds gets the client's copy of the latest message.
            let second = await reader.subscribe("/room/1")
            let copy = try await second.messages(1, "the latest message")
            #expect((copy[0].seq, copy[0].retained, copy[0].text) == (1, true, live.text))
            try await writer.client.publish("/room/1", json: Array("2".utf8))
            try await second.messages(2, "the next message")
            try await first.messages(3, "the next message")
            #expect(first.messages.map(\.seq) == [0, 1, 2])
            #expect(second.messages.map(\.seq) == [1, 2])
            #expect(reader.errors.events.isEmpty)
        }
    }

    @Test("publish errors carry the gateway's code and the subject", .timeLimit(.minutes(2)))
    func publishErrors() async throws {
        try await Stack.run { stack in
            let limited = try await stack.gateway(["--pub-rate", "0.01", "--pub-burst", "1"])
            let publisher = try stack.client("publisher", urls: [limited.url])
            try await publisher.live()
            let badSubject = await #expect(throws: StadiumError.self) {
                try await publisher.client.publish("/room/a b", json: Array("1".utf8))
            }
            #expect(badSubject?.code == .badSubject)
            #expect(badSubject?.subject == "/room/a b")
            #expect(badSubject?.message.contains("invalid subject") == true)
            let badData = await #expect(throws: StadiumError.self) {
                try await publisher.client.publish("/room/1", json: Array("{\"unclosed\":".utf8))
            }
            #expect(badData?.code == .badRequest)
            try await publisher.client.publish("/room/1", json: Array("1".utf8))
            let limitedPub = await #expect(throws: StadiumError.self) {
                try await publisher.client.publish("/room/1", json: Array("2".utf8))
            }
            #expect(limitedPub?.code == .rateLimited)
            // Errors of pubs go to their callers, not to onError.
            #expect(publisher.errors.events.isEmpty)
        }
    }

    @Test("publish while not live throws not_connected, after close client_closed", .timeLimit(.minutes(1)))
    func publishWhileNotLive() async throws {
        try await Stack.run { stack in
            // A port nothing listens on: the gateway that was there is gone.
            let gone = try await Gateway.start()
            let url = gone.url
            try await gone.stop()
            let offline = try stack.client("offline", urls: [url])
            let notConnected = await #expect(throws: StadiumError.self) {
                try await offline.client.publish("/room/1", json: Array("1".utf8))
            }
            #expect(notConnected?.code == .notConnected)
            let refused = try await offline.statuses.until("a refused connect") { $0.contains { $0.state == .reconnecting } }
            #expect(refused.first { $0.state == .reconnecting }?.closeCode == nil)
            let notLive = await #expect(throws: StadiumError.self) { try await offline.client.whenLive(timeout: .milliseconds(200)) }
            #expect(notLive?.code == .notConnected)
            let waiting = Task { try await offline.client.whenLive() }
            await offline.client.close()
            let closedWhileWaiting = await #expect(throws: StadiumError.self) { try await waiting.value }
            #expect(closedWhileWaiting?.code == .clientClosed)
            let closed = await #expect(throws: StadiumError.self) {
                try await offline.client.publish("/room/1", json: Array("1".utf8))
            }
            #expect(closed?.code == .clientClosed)
            #expect(offline.statuses.events.last?.state == .closed)
        }
    }

    @Test("a pub in flight when the connection drops throws connection_lost", .timeLimit(.minutes(2)))
    func pubInFlightWhenConnectionDrops() async throws {
        try await Stack.run { stack in
            let gateway = try await stack.gateway()
            let proxy = try await stack.proxy(to: gateway)
            let publisher = try stack.client("publisher", urls: [proxy.url])
            try await publisher.live()
            // Held back by the proxy, the pub never reaches the gateway: it is surely in flight when the connection ends.
            proxy.hold()
            let client = publisher.client
            let outcome = EventLog<Result<Void, StadiumError>>("the pub's outcome")
            Task {
                do {
                    try await client.publish("/room/1", json: Array("1".utf8))
                    outcome.append(.success(()))
                } catch {
                    outcome.append(.failure(error as! StadiumError))
                }
            }
            try await eventually("the pub to be sent") { await client.pendingRequestCount == 1 || !outcome.events.isEmpty }
            proxy.cut()
            let lost = try await outcome.until("the pub's outcome") { !$0.isEmpty }[0]
            guard case .failure(let error) = lost else {
                Issue.record("the pub was answered: \(lost)")
                return
            }
            #expect(error.code == .connectionLost)
            #expect(error.message.contains("may or may not"))
            #expect(error.subject == "/room/1")
            try await publisher.statuses.until("reconnecting after the drop") { $0.last?.state == .reconnecting }
        }
    }

    @Test("a refused subscription throws its code from the sequence and leaves the others", .timeLimit(.minutes(2)))
    func refusedSubscription() async throws {
        try await Stack.run { stack in
            let gateway = try await stack.gateway()
            let subscriber = try stack.client("subscriber", urls: [gateway.url])
            let refused = await subscriber.subscribe("/room//1")
            let fine = await subscriber.subscribe("/room/2")
            let ends = try await refused.ends.until("the refusal") { !$0.isEmpty }
            #expect(ends.first??.code == .badSubject)
            #expect(ends.first??.subject == "/room//1")
            #expect(refused.events.events.isEmpty)
            #expect(await subscriber.client.subscribedSubjects == ["/room/2"])
            try await subscriber.client.publish("/room/2", json: Array("\"still here\"".utf8))
            #expect(try await texts(fine.messages(1, "the message on /room/2")) == ["\"still here\""])
        }
    }

    @Test("a subscription whose consumer stops is unsubscribed at the gateway", .timeLimit(.minutes(2)))
    func consumerStopUnsubscribes() async throws {
        try await Stack.run { stack in
            let gateway = try await stack.gateway()
            let subscriber = try stack.client("subscriber", urls: [gateway.url])
            try await subscriber.live()
            let stopping = await subscriber.client.subscribe("/room/1")
            let staying = await subscriber.subscribe("/room/2")
            try await subscriber.client.publish("/room/1", json: Array("\"before\"".utf8))
            // The consumer reads one message and leaves the loop.
            var first: StadiumMessage?
            for try await event in stopping {
                if case .message(let message) = event { first = message }
                break
            }
            #expect(first?.text == "\"before\"")
            try await eventually("the client to drop /room/1") {
                await subscriber.client.subscribedSubjects == ["/room/2"]
            }
            // The gateway holds the one subscription left (its gauge counts all connections').
            try await subscriber.client.publish("/room/2", json: Array("\"marker\"".utf8))
            try await staying.messages(1, "the marker")
            let metrics = try await gatewayMetrics(gateway)
            #expect(metrics.contains("\nstadium_subscriptions 1"), "\(metrics)")
        }
    }

    @Test("a subscription ends when its loop does, when its consumer is cancelled, or unread when dropped", .timeLimit(.minutes(2)))
    func subscriptionLifetimes() async throws {
        try await Stack.run { stack in
            let gateway = try await stack.gateway()
            let reader = try stack.client("reader", urls: [gateway.url])
            let client = reader.client
            let received = EventLog<String>("received in place")
            // The loop keeps only the iterator: the sequence itself is gone once the loop has begun.
            let loop = Task {
                for try await case .message(let message) in await client.subscribe("/room/1") {
                    received.append(message.text)
                    if message.text == "\"last\"" { break }
                }
            }
            _ = await client.subscribe("/room/2")
            let cancelled = await reader.subscribe("/room/3")
            try await reader.live()
            try await client.publish("/room/1", json: Array("\"first\"".utf8))
            try await received.until("the first message") { $0.count == 1 }
            try await client.publish("/room/1", json: Array("\"last\"".utf8))
            try await received.until("the last message") { $0.count == 2 }
            try await loop.value
            try await eventually("the client to drop the subjects whose consumers left") {
                await client.subscribedSubjects == ["/room/3"]
            }
            // A consumer whose task is cancelled while it waits ends its subscription too.
            cancelled.cancel()
            let end = try await cancelled.ends.until("the cancelled subscription to end") { !$0.isEmpty }
            #expect(end == [nil])
            // The finished loop's subject, the one nobody read and the cancelled one are all unsubscribed.
            try await eventually("the client to drop every subject") { await client.subscribedSubjects.isEmpty }
            #expect(received.events == ["\"first\"", "\"last\""])
        }
    }

    private func gatewayMetrics(_ gateway: Gateway) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(gateway.port)/metrics")!)
        return String(decoding: data, as: UTF8.self)
    }

    @Test("an idle client answers the gateway's pings and stays connected", .timeLimit(.minutes(2)))
    func answersPings() async throws {
        try await Stack.run { stack in
            // Pinged after 1 s of silence, a client that does not answer is closed 1 s later.
            let gateway = try await stack.gateway(["--idle-timeout", "1"])
            let idle = try stack.client("idle", urls: [gateway.url])
            try await idle.live()
            try await eventually("three pings answered", timeout: .seconds(30)) { await idle.client.pingsAnswered >= 3 }
            // Unanswered, the first ping would have closed the connection (1001) before the third came.
            #expect(idle.statuses.events.map(\.state) == [.connecting, .live])
            let metrics = try await gatewayMetrics(gateway)
            #expect(metrics.contains("stadium_errors_total{kind=\"idle_timeout\"} 0"), "\(metrics)")
        }
    }

    /// A reader behind a proxy has message 0 of /room/1, is cut off while messages 1...`away` are
    /// published, and is let back: returns its subscription and both clients.
    private func readerAway(
        while away: Int, gatewayArguments: [String] = [], in stack: Stack
    ) async throws -> (room: Collected, reader: Observed, writer: Observed) {
        let gateway = try await stack.gateway(gatewayArguments)
        let proxy = try await stack.proxy(to: gateway)
        let writer = try stack.client("writer", urls: [gateway.url])
        try await writer.live()
        try await writer.client.publish("/room/1", json: Array("0".utf8))
        let reader = try stack.client("reader", urls: [proxy.url])
        let room = await reader.subscribe("/room/1")
        try await room.messages(1, "message 0")
        proxy.cut()
        try await reader.statuses.until("the reader to notice the drop") { $0.last?.state == .reconnecting }
        for n in 1...away { try await writer.client.publish("/room/1", json: Array("\(n)".utf8)) }
        proxy.restore()
        return (room, reader, writer)
    }

    @Test("a reconnect resumes with since: what was published while away arrives once, in order", .timeLimit(.minutes(2)))
    func reconnectResumes() async throws {
        try await Stack.run { stack in
            let (room, reader, writer) = try await readerAway(while: 3, in: stack)
            try await room.messages(4, "messages 1 to 3")
            #expect(await reader.client.resumedFrom == ["/room/1": 0])
            try await writer.client.publish("/room/1", json: Array("4".utf8))
            let all = try await room.messages(5, "message 4")
            #expect(all.map { [$0.seq, Int64($0.text)!] } == [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]])
            #expect(all.map(\.retained) == [true, false, false, false, false])
            #expect(room.gaps.isEmpty)
        }
    }

    @Test("after a restart of a gateway without Kafka, seqs start over: new messages under old seqs arrive", .timeLimit(.minutes(2)))
    func seqsStartingOverAreDelivered() async throws {
        try await Stack.run { stack in
            let gateway = try await stack.gateway()
            let reader = try stack.client("reader", urls: [gateway.url])
            let room = await reader.subscribe("/room/1")
            try await reader.live()
            try await reader.client.publish("/room/1", json: Array("\"before the restart\"".utf8))
            try await room.messages(1, "the message before the restart")
            try await gateway.stop()
            let restarted = try await stack.restart(gateway)
            try await reader.statuses.until("live on the restarted gateway") { $0.filter { $0.state == .live }.count == 2 }
            // Published before the resubscription is in place, seq 0 would not be after since 0.
            try await eventually("the resubscription's ok") { await reader.client.pendingRequestCount == 0 }
            #expect(await reader.client.resumedFrom == ["/room/1": 0])
            let writer = try stack.client("writer", urls: [restarted.url])
            try await writer.live()
            try await writer.client.publish("/room/1", json: Array("\"after the restart\"".utf8))
            let messages = try await room.messages(2, "the first message of the restarted gateway")
            #expect(messages.map(\.seq) == [0, 0])
            #expect(messages.map(\.text) == ["\"before the restart\"", "\"after the restart\""])
        }
    }

    @Test("messages that fell out of the gateway's history are reported as a gap", .timeLimit(.minutes(2)))
    func gapIsReported() async throws {
        try await Stack.run { stack in
            let (room, _, _) = try await readerAway(while: 5, gatewayArguments: ["--history-messages", "2"], in: stack)
            try await room.messages(3, "the last two messages")
            // History keeps 2 messages: 4 and 5 come back, 1 to 3 are gone and said to be, before them.
            #expect(room.events.events == [
                .message(StadiumMessage(subject: "/room/1", seq: 0, data: Array("0".utf8), retained: true)),
                .gap(StadiumGap(subject: "/room/1", from: 1, to: 3)),
                .message(StadiumMessage(subject: "/room/1", seq: 4, data: Array("4".utf8), retained: false)),
                .message(StadiumMessage(subject: "/room/1", seq: 5, data: Array("5".utf8), retained: false)),
            ])
        }
    }

    @Test("a gateway that accepts but never upgrades is given up on at the connect timeout", .timeLimit(.minutes(2)))
    func connectTimeout() async throws {
        try await Stack.run { stack in
            let gateway = try await stack.gateway()
            // The proxy takes the connection and drops the upgrade request: no answer ever comes.
            let silent = try await stack.proxy(to: gateway)
            silent.hold()
            let patient = try stack.client("patient", urls: [silent.url, gateway.url], connectTimeout: .milliseconds(500))
            try await patient.live()
            #expect(await patient.client.url == gateway.url)
            let gaveUp = try #require(patient.statuses.events.first { $0.state == .reconnecting })
            #expect(gaveUp.url == silent.url)
            #expect(gaveUp.closeReason?.contains("cannot connect") == true, "\(gaveUp)")
        }
    }

    @Test("when its gateway goes away or the first URL is dead, the client goes on to the next URL", .timeLimit(.minutes(2)))
    func failover() async throws {
        try await Stack.run { stack in
            let first = try await stack.gateway()
            let second = try await stack.gateway()
            let roaming = try stack.client("roaming", urls: [first.url, second.url])
            let room = await roaming.subscribe("/room/1")
            try await roaming.live()
            #expect(await roaming.client.url == first.url)
            try await first.stop()
            let statuses = try await roaming.statuses.until("live on the second URL") {
                $0.contains { $0.state == .live && $0.url == second.url }
            }
            // The gateway said it was going away (1001) as it shut down.
            #expect(statuses.first { $0.state == .reconnecting }?.closeCode == 1001)
            try await roaming.client.publish("/room/1", json: Array("\"via the second gateway\"".utf8))
            #expect(try await texts(room.messages(1, "the message through the second gateway")) == ["\"via the second gateway\""])

            let dead = try await Gateway.start()
            let deadURL = dead.url
            try await dead.stop()
            let starter = try stack.client("starter", urls: [deadURL, second.url])
            try await starter.live()
            #expect(await starter.client.url == second.url)
            #expect(starter.statuses.events.prefix(4).map(\.state) == [.connecting, .reconnecting, .connecting, .live])
        }
    }
}
