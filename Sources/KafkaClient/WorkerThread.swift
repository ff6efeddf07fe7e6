import Foundation

/// A named thread that runs one body to completion and can be joined.
final class WorkerThread: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, body: @escaping @Sendable () -> Void) {
        let finished = self.finished
        let thread = Thread {
            body()
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Waits for the body to return; call at most once.
    func join() {
        finished.wait()
    }
}
