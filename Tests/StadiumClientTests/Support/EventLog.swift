// What a client reported (statuses, messages, errors), in order, for tests to wait on: every
// wait has a deadline and wakes on the next event, never after a fixed time.
import Synchronization

struct TimedOut: Error, CustomStringConvertible {
    let description: String
}

final class EventLog<Event: Sendable>: Sendable {
    private struct Waiter {
        let predicate: @Sendable ([Event]) -> Bool
        let continuation: CheckedContinuation<[Event], any Error>
    }

    private struct State {
        var events: [Event] = []
        var waiters: [Int: Waiter] = [:]
        var nextKey = 0
    }

    let name: String
    private let state = Mutex(State())

    init(_ name: String) {
        self.name = name
    }

    func append(_ event: Event) {
        let ready = state.withLock { state -> [(CheckedContinuation<[Event], any Error>, [Event])] in
            state.events.append(event)
            let events = state.events
            let keys = state.waiters.filter { $0.value.predicate(events) }.map(\.key)
            return keys.map { (state.waiters.removeValue(forKey: $0)!.continuation, events) }
        }
        for (continuation, events) in ready { continuation.resume(returning: events) }
    }

    var events: [Event] { state.withLock { $0.events } }

    /// The events once `predicate` holds for them; throws if it does not within `timeout`.
    @discardableResult
    func until(
        _ description: String, timeout: Duration = .seconds(20), _ predicate: @escaping @Sendable ([Event]) -> Bool
    ) async throws -> [Event] {
        let key = state.withLock { state in
            state.nextKey += 1
            return state.nextKey
        }
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil, let self else { return }
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: key) }
            waiter?.continuation.resume(throwing: TimedOut(
                description: "\(self.name): timed out after \(timeout) waiting for \(description); saw \(self.events)"))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> [Event]? in
                if predicate(state.events) { return state.events }
                state.waiters[key] = Waiter(predicate: predicate, continuation: continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// Waits until `condition` holds, checking it every few milliseconds, for what reports no event
/// (the client's own bookkeeping); throws after `timeout`.
func eventually(
    _ description: String, timeout: Duration = .seconds(10), _ condition: @Sendable () async -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(description: "timed out after \(timeout) waiting for \(description)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}
