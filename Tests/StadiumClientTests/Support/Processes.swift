// The real stadium-gateway and stadium-kafka as child processes for the client's tests: started
// on loopback ports the system picks, waited for off the concurrency pool (their start-up lines
// are read with blocking calls), stopped with SIGTERM.
import Dispatch
import Foundation
import StadiumTestSupport

/// Runs a blocking call on a Dispatch thread, so waiting for a child does not hold up the
/// client's tasks on the few threads of the concurrency pool.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

struct ProcessStartError: Error, CustomStringConvertible {
    let description: String
}

/// stadium-gateway on 127.0.0.1; `url` is its WebSocket URL.
final class Gateway: @unchecked Sendable {
    let port: UInt16
    let arguments: [String]
    private let child: ChildProcess

    var url: String { "ws://127.0.0.1:\(port)/" }

    private init(child: ChildProcess, port: UInt16, arguments: [String]) {
        self.child = child
        self.port = port
        self.arguments = arguments
    }

    /// Starts a gateway with `arguments` added, on `port` (0: the system picks one).
    static func start(_ arguments: [String] = [], port: UInt16 = 0) async throws -> Gateway {
        try await offThePool {
            let child = try ChildProcess(
                "stadium-gateway", ["--listen", "127.0.0.1:\(port)", "--io-threads", "1"] + arguments,
                pathVariable: "STADIUM_GATEWAY")
            let line = try child.line(startingWith: "stadium-gateway: listening on", timeout: .seconds(60))
            guard let range = line.range(of: "listening on ws://127.0.0.1:"),
                  let port = UInt16(line[range.upperBound...].prefix { $0 != "/" })
            else { throw ProcessStartError(description: "no port in \"\(line)\"") }
            return Gateway(child: child, port: port, arguments: arguments)
        }
    }

    /// The same gateway command again on the same port (after `stop()`).
    func restart() async throws -> Gateway {
        try await Gateway.start(arguments, port: port)
    }

    /// SIGTERM, and waits for the exit; nothing if it has exited already.
    func stop() async throws {
        guard child.isRunning else { return }
        // The child is only ever stopped from here, one caller at a time.
        _ = try await offThePool { try self.child.stop(timeout: .seconds(15)) }
    }
}

/// The development broker, by default with one partition per topic, so a keyed subject's seqs grow.
final class Kafka: @unchecked Sendable {
    let bootstrap: String
    private let child: ChildProcess

    private init(child: ChildProcess, bootstrap: String) {
        self.child = child
        self.bootstrap = bootstrap
    }

    static func start(partitions: Int = 1) async throws -> Kafka {
        try await offThePool {
            let child = try ChildProcess("stadium-kafka", ["--partitions", "\(partitions)"])
            let line = try child.line(startingWith: "stadium-kafka: bootstrap", timeout: .seconds(60))
            guard let bootstrap = line.split(separator: " ").dropFirst(2).first else {
                throw ProcessStartError(description: "no address in \"\(line)\"")
            }
            return Kafka(child: child, bootstrap: String(bootstrap))
        }
    }

    /// Produces `lines` (one record each, without a key) to `partition` of `topic` with kcat, as
    /// another producer would; returns once Kafka has acknowledged them.
    func produce(_ lines: [String], topic: String, partition: Int32) async throws {
        let bootstrap = bootstrap
        try await offThePool {
            let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/kcat" }
            guard let found = path.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw ProcessStartError(description: "kcat is not on PATH (make deps-test installs it)")
            }
            let kcat = Process()
            kcat.executableURL = URL(fileURLWithPath: found)
            kcat.arguments = ["-P", "-b", bootstrap, "-t", topic, "-p", "\(partition)"]
            let input = Pipe()
            kcat.standardInput = input
            try kcat.run()
            input.fileHandleForWriting.write(Data(lines.map { $0 + "\n" }.joined().utf8))
            try input.fileHandleForWriting.close()
            kcat.waitUntilExit()
            guard kcat.terminationStatus == 0 else {
                throw ProcessStartError(description: "kcat exited with \(kcat.terminationStatus) producing to \(topic) partition \(partition)")
            }
        }
    }

    /// Sends a signal (SIGSTOP pauses the broker, SIGCONT resumes it).
    func signal(_ number: Int32) {
        child.signal(number)
    }

    func stop() async throws {
        guard child.isRunning else { return }
        // The child is only ever stopped from here, one caller at a time.
        _ = try await offThePool { try self.child.stop(timeout: .seconds(15)) }
    }
}

/// A built program of this package that prints nothing the test waits for (the quiz processors,
/// the example bot): started, and stopped with SIGTERM.
final class Program: @unchecked Sendable {
    private let child: ChildProcess

    init(_ name: String, _ arguments: [String]) throws {
        child = try ChildProcess(name, arguments)
    }

    var isRunning: Bool { child.isRunning }

    func stop() async throws {
        guard child.isRunning else { return }
        // The child is only ever stopped from here, one caller at a time.
        _ = try await offThePool { try self.child.stop(timeout: .seconds(15)) }
    }
}
