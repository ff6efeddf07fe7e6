import Foundation

/// A bounded wait that ran out: says what never came.
public struct TimedOut: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` until it holds or `timeout` passes; the wait is bounded, never a synchronisation sleep.
public func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        if ContinuousClock.now >= deadline { throw TimedOut(what: what) }
        Thread.sleep(forTimeInterval: 0.01)
    }
}
