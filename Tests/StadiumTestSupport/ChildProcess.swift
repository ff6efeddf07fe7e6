// A built Stadium binary as a child process, for the end-to-end test targets: found beside the
// test bundle (or in STADIUM_BIN), stopped with SIGTERM, killed if a test leaves it running.
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

public enum ChildProcessError: Error, CustomStringConvertible {
    case binaryNotFound(name: String, searched: [String])
    case noLine(name: String, prefix: String, output: String)
    case didNotExit(name: String, after: Duration)

    public var description: String {
        switch self {
        case .binaryNotFound(let name, let searched):
            return "\(name) not found in \(searched.joined(separator: ", ")); build it first (swift build --build-tests)"
        case .noLine(let name, let prefix, let output):
            return "\(name) printed no line starting \"\(prefix)\"; stdout was: \(output)"
        case .didNotExit(let name, let after):
            return "\(name) still running \(after) after SIGTERM; killed it"
        }
    }
}

public final class ChildProcess {
    public let name: String
    private let process = Process()
    private let stdout = Pipe()
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the binary `name` from the build products directory with `arguments`; the
    /// environment variable `pathVariable`, when set, names the binary's path instead.
    public init(_ name: String, _ arguments: [String], pathVariable: String? = nil) throws {
        self.name = name
        if let pathVariable, let path = ProcessInfo.processInfo.environment[pathVariable] {
            process.executableURL = URL(fileURLWithPath: path)
        } else {
            process.executableURL = try Self.binary(name)
        }
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
        }
    }

    /// The first stdout line starting with `prefix`, read within `timeout`.
    public func line(startingWith prefix: String, timeout: Duration = .seconds(30)) throws -> String {
        let descriptor = stdout.fileHandleForReading.fileDescriptor
        let deadline = ContinuousClock.now + timeout
        var text = ""
        while ContinuousClock.now < deadline {
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }), text.contains("\n") {
                return String(line)
            }
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&request, 1, 200) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 512)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            text += String(decoding: chunk[..<count], as: UTF8.self)
        }
        throw ChildProcessError.noLine(name: name, prefix: prefix, output: text)
    }

    /// Sends SIGTERM without waiting.
    public func sendTerminate() {
        kill(process.processIdentifier, SIGTERM)
    }

    /// SIGKILL, as a crash would end it; returns once it is gone.
    public func killNow() {
        kill(process.processIdentifier, SIGKILL)
        _ = exited.wait(timeout: .now() + 10)
    }

    /// Waits for the process to end and returns its exit status; SIGKILL and an error after `timeout`.
    public func waitForExit(timeout: Duration = .seconds(10)) throws -> Int32 {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard exited.wait(timeout: .now() + seconds) == .success else {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
            throw ChildProcessError.didNotExit(name: name, after: timeout)
        }
        return process.terminationStatus
    }

    /// SIGTERM, then the exit status; SIGKILL and an error if it outlives `timeout`.
    @discardableResult
    public func stop(timeout: Duration = .seconds(10)) throws -> Int32 {
        sendTerminate()
        return try waitForExit(timeout: timeout)
    }

    public var isRunning: Bool { process.isRunning }

    /// STADIUM_BIN (a directory, e.g. the release products), else the one holding this test bundle.
    private static func binary(_ name: String) throws -> URL {
        var directories: [URL] = []
        if let directory = ProcessInfo.processInfo.environment["STADIUM_BIN"] {
            directories.append(URL(fileURLWithPath: directory))
        }
        if let executable = Bundle.main.executableURL {
            directories.append(executable.deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        let candidates = directories.map { $0.appendingPathComponent(name) }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) {
            return found
        }
        throw ChildProcessError.binaryNotFound(name: name, searched: candidates.map(\.path))
    }
}
