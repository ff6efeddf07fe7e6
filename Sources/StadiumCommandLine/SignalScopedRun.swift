import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// How the executables stop on SIGTERM and SIGINT: swift-service-lifecycle's `ServiceGroup`, as
/// `stadium-gateway` runs. A blocking run (the processors' loop, a load run, the development
/// broker) goes on a thread of its own; a signal calls its `stop`, and its return ends the group.
public enum SignalScopedRun {
    public static func run<Output: Sendable>(
        threadName: String, logger: Logger, stop: @escaping @Sendable () -> Void,
        _ body: @escaping @Sendable () throws -> Output
    ) async throws -> Output {
        let service = BlockingService(threadName: threadName, body: body, stop: stop)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        guard let output = service.output.withLock({ $0 }) else { throw CancellationError() }
        return output
    }
}

/// The service of one blocking run; keeps what the body returned for `SignalScopedRun.run`.
private final class BlockingService<Output: Sendable>: Service, Sendable {
    let threadName: String
    let body: @Sendable () throws -> Output
    let stop: @Sendable () -> Void
    let output = Mutex<Output?>(nil)

    init(threadName: String, body: @escaping @Sendable () throws -> Output, stop: @escaping @Sendable () -> Void) {
        self.threadName = threadName
        self.body = body
        self.stop = stop
    }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread { [self] in
                        do {
                            let result = try body()
                            output.withLock { $0 = result }
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.name = threadName
                    thread.start()
                }
            } onCancel: { [stop] in
                stop()
            }
        } onGracefulShutdown: { [stop] in
            stop()
        }
    }
}

extension AsyncParsableCommand {
    /// Parses `arguments` (nil: the command line) and runs the command: top-level code in a
    /// main.swift would pick ParsableCommand's synchronous `main` instead.
    public static func mainAsync(_ arguments: [String]? = nil) async {
        await main(arguments)
    }
}
