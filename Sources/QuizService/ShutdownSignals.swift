import Foundation

/// SIGINT and SIGTERM call `stop` (on a dispatch queue) instead of ending the process.
enum ShutdownSignals {
    /// Keep the returned sources until the run ends; cancel them then.
    static func install(stop: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: stop)
            source.resume()
            return source
        }
    }
}
