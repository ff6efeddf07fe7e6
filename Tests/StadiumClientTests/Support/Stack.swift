// What one test starts (gateways, brokers, proxies, clients), torn down when the test ends,
// whether it passed or not, and clients wired to EventLogs.
import StadiumClient
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

final class Stack: Sendable {
    private let teardowns = Mutex<[@Sendable () async -> Void]>([])

    /// Runs `body` with a fresh stack and tears the stack down afterwards.
    static func run(_ body: (Stack) async throws -> Void) async throws {
        let stack = Stack()
        do {
            try await body(stack)
        } catch {
            await stack.tearDown()
            throw error
        }
        await stack.tearDown()
    }

    func gateway(_ arguments: [String] = []) async throws -> Gateway {
        let gateway = try await Gateway.start(arguments)
        onTearDown { try? await gateway.stop() }
        return gateway
    }

    /// The same gateway started again on its port (after stop()).
    func restart(_ gateway: Gateway) async throws -> Gateway {
        let restarted = try await gateway.restart()
        onTearDown { try? await restarted.stop() }
        return restarted
    }

    func kafka(partitions: Int = 1) async throws -> Kafka {
        let kafka = try await Kafka.start(partitions: partitions)
        onTearDown {
            kafka.signal(SIGCONT)
            try? await kafka.stop()
        }
        return kafka
    }

    /// Runs the package's program `name` (the quiz processors, the example bot) until the test ends.
    func program(_ name: String, _ arguments: [String]) throws -> Program {
        let program = try Program(name, arguments)
        onTearDown { try? await program.stop() }
        return program
    }

    func proxy(to gateway: Gateway) async throws -> Proxy {
        let proxy = try await Proxy.start(to: gateway.port)
        onTearDown { await proxy.close() }
        return proxy
    }

    /// A client whose statuses and unsolicited errors are logged; reconnects quickly.
    func client(
        _ name: String, urls: [String], token: String? = nil, tokenProvider: StadiumClient.TokenProvider? = nil,
        backoff: Backoff = Backoff(initial: .milliseconds(40), maximum: .milliseconds(400)),
        connectTimeout: Duration = .seconds(10)
    ) throws -> Observed {
        let statuses = EventLog<StadiumClient.Status>("\(name) statuses")
        let errors = EventLog<StadiumError>("\(name) errors")
        let client = try StadiumClient(
            urls: urls, token: token, tokenProvider: tokenProvider, backoff: backoff, connectTimeout: connectTimeout,
            onStatus: { statuses.append($0) }, onError: { errors.append($0) })
        onTearDown { await client.close() }
        return Observed(client: client, statuses: statuses, errors: errors)
    }

    func onTearDown(_ teardown: @escaping @Sendable () async -> Void) {
        teardowns.withLock { $0.append(teardown) }
    }

    private func tearDown() async {
        let steps = teardowns.withLock { steps in
            defer { steps.removeAll() }
            return steps
        }
        for step in steps.reversed() { await step() }
    }
}

/// A client and what it reported.
struct Observed: Sendable {
    let client: StadiumClient
    let statuses: EventLog<StadiumClient.Status>
    let errors: EventLog<StadiumError>

    /// Subscribes to `subject` and logs its events until the subscription ends; the log ends
    /// with a nil entry and the error, if it threw.
    func subscribe(_ subject: String) async -> Collected {
        let subscription = await client.subscribe(subject)
        let collected = Collected(subject: subject)
        let task = Task {
            do {
                for try await event in subscription { collected.events.append(event) }
                collected.ends.append(nil)
            } catch {
                collected.ends.append(error as? StadiumError)
            }
        }
        collected.task.withLock { $0 = task }
        return collected
    }

    func live() async throws {
        try await client.whenLive(timeout: .seconds(30))
    }
}

/// What one subscription delivered.
final class Collected: Sendable {
    let events: EventLog<SubscriptionEvent>
    /// One entry when the subscription ended: nil when it finished, the error when it threw.
    let ends: EventLog<StadiumError?>
    let task = Mutex<Task<Void, Never>?>(nil)

    init(subject: String) {
        events = EventLog("\(subject) events")
        ends = EventLog("\(subject) ends")
    }

    var messages: [StadiumMessage] {
        events.events.compactMap { if case .message(let message) = $0 { message } else { nil } }
    }

    var gaps: [StadiumGap] {
        events.events.compactMap { if case .gap(let gap) = $0 { gap } else { nil } }
    }

    /// Waits until `count` messages have arrived and returns them.
    @discardableResult
    func messages(_ count: Int, _ description: String, timeout: Duration = .seconds(30)) async throws -> [StadiumMessage] {
        try await events.until(description, timeout: timeout) { events in
            events.filter { if case .message = $0 { true } else { false } }.count >= count
        }
        return messages
    }

    /// Stops consuming: the subscription's consumer is cancelled.
    func cancel() {
        task.withLock { $0 }?.cancel()
    }
}
