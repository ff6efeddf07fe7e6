import Foundation
import StadiumProtocol
import Synchronization

/// A Stadium client (protocol v1, docs/PROTOCOL.md): one WebSocket kept open across gateway
/// restarts and failover, subscriptions resumed with `since` (a cursor of offsets per partition
/// for a subject without a key), each message delivered once, pubs answered by `ok` or a
/// `StadiumError`, tokens renewed on `token_expiring`. Connects at once; call `close()` when done.
public actor StadiumClient {
    public enum State: String, Sendable {
        case connecting, live, reconnecting, closed
    }

    /// A change of state, for `onStatus`.
    public struct Status: Sendable, Equatable {
        public let state: State
        /// The gateway URL being connected to, or the one that was lost.
        public let url: String?
        /// When reconnecting: the wait before the next attempt.
        public let retryIn: Duration?
        /// When reconnecting: the close code the gateway sent (1006 when it sent none; nil when
        /// no connection was made).
        public let closeCode: UInt16?
        public let closeReason: String?
    }

    public typealias TokenProvider = @Sendable () async throws -> String

    // Settings.
    private var gateways: GatewayList
    private let staticToken: String?
    private let tokenProvider: TokenProvider?
    private let backoff: Backoff
    private let connectTimeout: Duration
    private let onStatus: (@Sendable (Status) -> Void)?
    private let onError: @Sendable (StadiumError) -> Void

    /// Where the client is: connecting, live, reconnecting or closed.
    public private(set) var state = State.connecting
    /// The URL of the current (or last) connection.
    public private(set) var url: String?
    /// The `since` the last connection resubscribed with: subject -> last seq delivered before it.
    public private(set) var resumedFrom: [String: Int64] = [:]
    /// The cursors the last connection resubscribed subjects without a key with: subject ->
    /// partition -> last offset seen there (those subjects are not in `resumedFrom`).
    public private(set) var resumedCursors: [String: [Int32: Int64]] = [:]
    /// Messages not delivered because they were delivered before (a restarted gateway's replay).
    public private(set) var repeatsSkipped = 0

    private var connection: GatewayConnection?
    // Counts connections, so a late reply or timer of an earlier one changes nothing.
    private var connectionNumber = 0
    private var notLiveReason: String?
    private var closed = false
    private var failedAttempts = 0
    private var pending = PendingRequests<Request>()
    private var ledger = DeliveryLedger()
    private var subscriptions: [String: Subscribers] = [:]
    private var nextSubscriberKey = 0
    private var liveWaiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    private var nextWaiterKey = 0
    private var random = SystemRandomNumberGenerator()
    // Set once by init, after the actor exists; close() cancels it to stop a backoff wait.
    private let runner = Mutex<Task<Void, Never>?>(nil)

    /// What a reply settles.
    private enum Request {
        case publish(subject: String, reply: CheckedContinuation<Void, any Error>)
        case subscribe(subject: String)
        case unsubscribe
        case authenticate(connectionNumber: Int, goesLive: Bool)
    }

    /// The consumers of one subject, and its latest message for a consumer that comes later.
    private struct Subscribers {
        var consumers: [Int: AsyncThrowingStream<SubscriptionEvent, any Error>.Continuation] = [:]
        var latest: StadiumMessage?
    }

    /// - Parameters:
    ///   - urls: gateway URLs (`ws://host:port/`) tried in turn: every failed or dropped
    ///     connection moves on to the next.
    ///   - token: sent in an `auth` message after connecting; cannot be renewed.
    ///   - tokenProvider: called at every connect and on `token_expiring`; takes precedence over `token`.
    ///   - backoff: reconnect delays.
    ///   - connectTimeout: time to connect and authenticate before trying the next URL.
    ///   - onStatus: hears every change of state.
    ///   - onError: hears what no publish or subscription hears (an unsolicited `err`, a failed
    ///     token renewal); without it, these are written to standard error.
    public init(
        urls: [String], token: String? = nil, tokenProvider: TokenProvider? = nil,
        backoff: Backoff = Backoff(), connectTimeout: Duration = .seconds(10),
        onStatus: (@Sendable (Status) -> Void)? = nil, onError: (@Sendable (StadiumError) -> Void)? = nil
    ) throws(StadiumError) {
        gateways = try GatewayList(urls)
        staticToken = token
        self.tokenProvider = tokenProvider
        self.backoff = backoff
        self.connectTimeout = connectTimeout
        self.onStatus = onStatus
        self.onError = onError ?? { error in
            FileHandle.standardError.write(Data("stadium: \(error)\n".utf8))
        }
        let task = Task { await self.run() }
        runner.withLock { $0 = task }
    }

    /// A client of one gateway URL.
    public init(
        url: String, token: String? = nil, tokenProvider: TokenProvider? = nil,
        backoff: Backoff = Backoff(), connectTimeout: Duration = .seconds(10),
        onStatus: (@Sendable (Status) -> Void)? = nil, onError: (@Sendable (StadiumError) -> Void)? = nil
    ) throws(StadiumError) {
        try self.init(
            urls: [url], token: token, tokenProvider: tokenProvider, backoff: backoff,
            connectTimeout: connectTimeout, onStatus: onStatus, onError: onError)
    }

    // MARK: Public API

    /// The messages of `subject`, each once, with gaps, until the consumer stops iterating.
    /// Several subscriptions of one subject share one gateway subscription; a later one starts
    /// with the latest message, marked retained.
    public func subscribe(_ subject: String) -> StadiumSubscription {
        let (events, consumer) = AsyncThrowingStream.makeStream(of: SubscriptionEvent.self, throwing: (any Error).self)
        nextSubscriberKey += 1
        let key = nextSubscriberKey
        let end: @Sendable () -> Void = { [weak self] in
            Task { await self?.removeConsumer(key, of: subject) }
        }
        // A consumer cancelled while it waits for the next event ends here.
        consumer.onTermination = { _ in end() }
        let subscription = StadiumSubscription(subject: subject, events: events, end: end)
        guard !closed else {
            consumer.finish()
            return subscription
        }
        if subscriptions[subject] != nil {
            // The gateway sent the retained message once, to the first consumer: a later one gets our copy.
            if let latest = subscriptions[subject]?.latest { consumer.yield(.message(latest.asRetained())) }
            subscriptions[subject]?.consumers[key] = consumer
        } else {
            subscriptions[subject] = Subscribers(consumers: [key: consumer])
            if state == .live { sendSub(subject) }
        }
        return subscription
    }

    /// Publishes `json` (the bytes of one JSON value) to `subject`; returns once Kafka has the
    /// record. Throws a `StadiumError`: the gateway's code, or `connection_lost` (the connection
    /// dropped before the reply: it may or may not have been written), `not_connected` or
    /// `client_closed` (nothing was sent).
    public func publish(_ subject: String, json: [UInt8]) async throws {
        if closed { throw StadiumError(.clientClosed, "the client is closed", subject: subject) }
        guard state == .live, let connection else {
            throw StadiumError(.notConnected, "not connected (\(state.rawValue)); nothing was sent", subject: subject)
        }
        try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Void, any Error>) in
            let id = pending.register(.publish(subject: subject, reply: reply))
            connection.send(ClientRequestEncoder.pub(id: id, subject: subject, data: json))
        }
    }

    /// Publishes `value` encoded as JSON; see `publish(_:json:)`.
    public nonisolated func publish(_ subject: String, _ value: some Encodable, encoder: JSONEncoder = JSONEncoder()) async throws {
        let json = try [UInt8](encoder.encode(value))
        try await publish(subject, json: json)
    }

    /// Returns when the client is live (at once if it is); throws `not_connected` after `timeout`
    /// or `client_closed` on close().
    public func whenLive(timeout: Duration? = nil) async throws {
        if state == .live { return }
        if closed { throw StadiumError(.clientClosed, "the client is closed") }
        nextWaiterKey += 1
        let key = nextWaiterKey
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            liveWaiters[key] = waiter
            if let timeout {
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    await self?.stopWaiting(key, after: timeout)
                }
            }
        }
    }

    /// Disconnects for good: pubs still waiting throw `connection_lost`, subscriptions end.
    public func close() {
        guard !closed else { return }
        closed = true
        runner.withLock { $0 }?.cancel()
        connection?.close(code: 1000, reason: "client closed")
        failPending()
        let consumers = subscriptions.values.flatMap { $0.consumers.values }
        subscriptions.removeAll()
        for consumer in consumers { consumer.finish() }
        let waiters = liveWaiters.values
        liveWaiters.removeAll()
        for waiter in waiters { waiter.resume(throwing: StadiumError(.clientClosed, "the client is closed")) }
        setState(.closed)
    }

    /// The subjects the client holds a subscription for.
    public var subscribedSubjects: Set<String> { Set(subscriptions.keys) }

    /// The cursor kept for a subject without a key (for tests).
    func cursor(_ subject: String) -> [Int32: Int64]? { ledger.cursor(subject) }
    /// Requests sent and not answered yet (for tests).
    var pendingRequestCount: Int { pending.count }
    /// Pings of the gateway answered (for tests).
    private(set) var pingsAnswered = 0

    // MARK: Connecting

    private func run() async {
        while !closed {
            let url = gateways.next()
            self.url = url.description
            setState(.connecting)
            let end = await connectAndServe(url)
            if closed { return }
            let delay = backoff.delay(attempt: failedAttempts, using: &random)
            failedAttempts += 1
            setState(.reconnecting, retryIn: delay, closeCode: end.code, closeReason: end.reason)
            do {
                try await Task.sleep(for: delay)
            } catch {
                return  // close() cancelled the wait.
            }
        }
    }

    /// One connection from connect to its end; returns how it ended.
    private func connectAndServe(_ url: GatewayURL) async -> (code: UInt16?, reason: String) {
        let deadline = ContinuousClock.now + connectTimeout
        let connection: GatewayConnection
        do {
            connection = try await GatewayConnection.open(url, deadline: deadline)
        } catch {
            return (nil, "cannot connect to \(url): \(error)")
        }
        if closed {
            connection.close(code: 1000, reason: "client closed")
            return (nil, "client closed")
        }
        connectionNumber += 1
        let number = connectionNumber
        self.connection = connection
        notLiveReason = nil
        // A gateway that accepts but never lets the client go live is given up on at the deadline.
        let watchdog = Task { [weak self] in
            guard (try? await Task.sleep(until: deadline, clock: .continuous)) != nil else { return }
            await self?.giveUpUnlessLive(number)
        }
        defer { watchdog.cancel() }
        if tokenProvider == nil && staticToken == nil {
            goLive()
        } else {
            Task { await self.authenticate(number, goesLive: true) }
        }
        var end: (code: UInt16?, reason: String) = (1006, "connection lost")
        for await event in connection.events {
            switch event {
            case .text(let bytes):
                received(bytes)
            case .pinged:
                pingsAnswered += 1
            case .closed(let code, let reason):
                end = (code, notLiveReason ?? reason)
            }
        }
        if self.connection === connection { self.connection = nil }
        failPending()
        return end
    }

    private func giveUpUnlessLive(_ number: Int) {
        guard number == connectionNumber, state != .live, let connection else { return }
        notLiveReason = "not live within \(connectTimeout)"
        connection.close(code: 1000, reason: "not live in time")
    }

    /// Sends `auth` with the current token on connection `number`; its `ok` makes the client live
    /// when `goesLive`.
    private func authenticate(_ number: Int, goesLive: Bool) async {
        let token: String
        do {
            token = try await currentToken()
        } catch {
            guard number == connectionNumber, let connection else { return }
            onError(StadiumError(.tokenUnavailable, "tokenProvider failed: \(error)"))
            if goesLive {
                notLiveReason = "no token"
                connection.close(code: 1000, reason: "no token")
            }
            return
        }
        guard number == connectionNumber, let connection else { return }
        let id = pending.register(.authenticate(connectionNumber: number, goesLive: goesLive))
        connection.send(ClientRequestEncoder.auth(id: id, token: token))
    }

    private func currentToken() async throws -> String {
        guard let tokenProvider else { return staticToken ?? "" }
        let token = try await tokenProvider()
        guard !token.isEmpty else { throw StadiumError(.tokenUnavailable, "tokenProvider returned an empty token") }
        return token
    }

    private func goLive() {
        failedAttempts = 0
        // Everything subscribed is asked for again, each from the last seq delivered (or its cursor).
        let subjects = subscriptions.keys.sorted()
        resumedFrom = ledger.since(subjects)
        resumedCursors = ledger.cursors(subjects)
        setState(.live)
        for subject in subjects { sendSub(subject) }
        let waiters = liveWaiters.values
        liveWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    /// One subject per sub: a refused subject then refuses only itself.
    private func sendSub(_ subject: String) {
        guard let connection else { return }
        let id = pending.register(.subscribe(subject: subject))
        connection.send(ClientRequestEncoder.sub(
            id: id, subjects: [subject], since: ledger.since([subject]), cursors: ledger.cursors([subject])))
    }

    /// The connection is gone: pubs waiting for a reply may or may not have been written.
    private func failPending() {
        for request in pending.removeAll() {
            if case .publish(let subject, let reply) = request {
                reply.resume(throwing: StadiumError(
                    .connectionLost, "the connection dropped before the reply; the pub may or may not have been written",
                    subject: subject))
            }
        }
    }

    // MARK: Incoming

    private func received(_ bytes: [UInt8]) {
        switch ServerFrame.parse(bytes) {
        case .failure(let error):
            onError(StadiumError(.badFrame, "ignoring a frame that is not a v1 message (\(error)): \(String(decoding: bytes.prefix(80), as: UTF8.self))"))
        case .success(.msg(let message)):
            deliver(message)
        case .success(.gap(let gap)):
            for consumer in subscriptions[gap.subject]?.consumers.values ?? [:].values {
                consumer.yield(.gap(gap))
            }
        case .success(.ok(let id, let positions)):
            // A sub's ok: where its subjects without a key start, per partition.
            for (subject, offsets) in positions where subscriptions[subject] != nil {
                ledger.adoptPositions(offsets, for: subject)
            }
            settle(id, error: nil)
        case .success(.err(let id, let code, let message)):
            let error = StadiumError(code, message)
            if settle(id, error: error) { return }
            if code == .tokenExpiring {
                renewToken()
            } else {
                onError(error)
            }
        }
    }

    private func deliver(_ message: StadiumMessage) {
        // A msg that was on its way when the subject was unsubscribed finds no subscription.
        guard let consumers = subscriptions[message.subject]?.consumers.values else { return }
        guard ledger.accept(
            subject: message.subject, seq: message.seq, partition: message.partition, retained: message.retained, data: message.data)
        else {
            repeatsSkipped += 1
            return
        }
        subscriptions[message.subject]?.latest = message
        for consumer in consumers { consumer.yield(.message(message)) }
    }

    @discardableResult
    private func settle(_ id: Int64?, error: StadiumError?) -> Bool {
        guard let request = pending.settle(id) else { return false }
        switch request {
        case .publish(let subject, let reply):
            if let error {
                reply.resume(throwing: StadiumError(error.code, error.message, subject: subject))
            } else {
                reply.resume()
            }
        case .subscribe(let subject):
            if let error { subscriptionRefused(subject, StadiumError(error.code, error.message, subject: subject)) }
        case .unsubscribe:
            break
        case .authenticate(let number, let goesLive):
            if let error {
                // A token that does not verify closes the connection (1008), and the close reconnects.
                onError(error)
            } else if goesLive, number == connectionNumber, state != .live {
                goLive()
            }
        }
        return true
    }

    private func subscriptionRefused(_ subject: String, _ error: StadiumError) {
        guard let refused = subscriptions.removeValue(forKey: subject) else { return }
        ledger.forget(subject)
        for consumer in refused.consumers.values { consumer.finish(throwing: error) }
    }

    private func renewToken() {
        guard tokenProvider != nil else {
            onError(StadiumError(.tokenExpiring, "the token expires soon and there is no tokenProvider to renew it"))
            return
        }
        let number = connectionNumber
        Task { await self.authenticate(number, goesLive: false) }
    }

    // MARK: Consumers

    private func removeConsumer(_ key: Int, of subject: String) {
        guard subscriptions[subject]?.consumers.removeValue(forKey: key) != nil else { return }
        guard subscriptions[subject]?.consumers.isEmpty == true else { return }
        subscriptions[subject] = nil
        ledger.forget(subject)
        guard state == .live, let connection else { return }
        let id = pending.register(.unsubscribe)
        connection.send(ClientRequestEncoder.unsub(id: id, subjects: [subject]))
    }

    private func stopWaiting(_ key: Int, after timeout: Duration) {
        liveWaiters.removeValue(forKey: key)?.resume(
            throwing: StadiumError(.notConnected, "not live within \(timeout) (\(state.rawValue))"))
    }

    private func setState(_ state: State, retryIn: Duration? = nil, closeCode: UInt16? = nil, closeReason: String? = nil) {
        self.state = state
        onStatus?(Status(state: state, url: url, retryIn: retryIn, closeCode: closeCode, closeReason: closeReason))
    }
}
