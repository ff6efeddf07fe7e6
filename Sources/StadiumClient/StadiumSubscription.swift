/// What a subscription delivers: messages of its subject, each once, and gaps.
public enum SubscriptionEvent: Sendable, Equatable {
    case message(StadiumMessage)
    /// Messages may have been lost while the client was away (see `StadiumGap`).
    case gap(StadiumGap)
}

/// The events of one subscription, for one consumer. It ends when the client is closed, throws
/// a `StadiumError` when the gateway refuses the subject (`forbidden`, `bad_subject`,
/// `too_many_subscriptions`), and unsubscribes when its consumer leaves the loop, is cancelled,
/// or drops it unread.
public struct StadiumSubscription: AsyncSequence, Sendable {
    public typealias Element = SubscriptionEvent
    public let subject: String
    private let events: AsyncThrowingStream<SubscriptionEvent, any Error>
    private let end: @Sendable () -> Void
    // A subscription never read ends with the last copy of the sequence (iterators hold it too).
    private let unread: Consumer

    /// Calls `end` when it goes away (ending twice is harmless: the client ends a consumer once).
    final class Consumer: Sendable {
        private let end: @Sendable () -> Void

        init(end: @escaping @Sendable () -> Void) {
            self.end = end
        }

        deinit { end() }
    }

    init(subject: String, events: AsyncThrowingStream<SubscriptionEvent, any Error>, end: @escaping @Sendable () -> Void) {
        self.subject = subject
        self.events = events
        self.end = end
        unread = Consumer(end: end)
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(events: events.makeAsyncIterator(), consumer: Consumer(end: end), sequence: unread)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var events: AsyncThrowingStream<SubscriptionEvent, any Error>.AsyncIterator
        // Leaving a for-await loop drops the iterator, and with it the consumer.
        let consumer: Consumer
        // A `for await` drops the sequence once it has the iterator: that must not end the subscription.
        let sequence: Consumer

        public mutating func next() async throws -> SubscriptionEvent? {
            try await events.next()
        }
    }
}
