// The real stadium-gateway binary as a child process: started on an ephemeral loopback port,
// stopped with SIGTERM, killed if a test leaves it running.
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum GatewayProcessError: Error, CustomStringConvertible {
    case binaryNotFound(searched: [String])
    case noListeningLine(output: String)
    case didNotExit(after: Duration)

    var description: String {
        switch self {
        case .binaryNotFound(let searched):
            return "stadium-gateway not found in \(searched.joined(separator: ", ")); "
                + "build it first (swift build --product stadium-gateway) or set STADIUM_GATEWAY to its path"
        case .noListeningLine(let output):
            return "stadium-gateway did not print its listening line; stdout was: \(output)"
        case .didNotExit(let after):
            return "stadium-gateway still running \(after) after SIGTERM; killed it"
        }
    }
}

final class GatewayProcess {
    let port: UInt16
    private let process: Process
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the gateway on 127.0.0.1:0 with `arguments` added, and waits for its listening line.
    init(_ arguments: [String] = [], startTimeout: Duration = .seconds(30)) throws {
        process = Process()
        process.executableURL = try Self.binary()
        process.arguments = ["--listen", "127.0.0.1:0", "--max-connections", "256", "--rings", "1"] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        do {
            let line = try Self.readLine(stdout.fileHandleForReading.fileDescriptor, timeout: startTimeout)
            guard let port = Self.port(inListeningLine: line) else {
                throw GatewayProcessError.noListeningLine(output: line)
            }
            self.port = port
        } catch {
            process.interrupt()
            kill(process.processIdentifier, SIGKILL)
            throw error
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
        }
    }

    /// Sends SIGTERM without waiting.
    func sendTerminate() {
        kill(process.processIdentifier, SIGTERM)
    }

    /// Waits for the process to end and returns its exit status (killed after `timeout`).
    func waitForExit(timeout: Duration = .seconds(15)) throws -> Int32 {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard exited.wait(timeout: .now() + seconds) == .success else {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
            throw GatewayProcessError.didNotExit(after: timeout)
        }
        return process.terminationStatus
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() throws -> Int32 {
        sendTerminate()
        return try waitForExit()
    }

    var isRunning: Bool { process.isRunning }

    // MARK: Start-up helpers

    /// STADIUM_GATEWAY, else the build products directory that holds this test bundle.
    private static func binary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["STADIUM_GATEWAY"] {
            return URL(fileURLWithPath: path)
        }
        var directories: [URL] = []
        if let executable = Bundle.main.executableURL {
            directories.append(executable.deletingLastPathComponent())
        }
        // The .xctest bundle itself, in case the runner is a helper living elsewhere.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        let candidates = directories.map { $0.appendingPathComponent("stadium-gateway") }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) {
            return found
        }
        throw GatewayProcessError.binaryNotFound(searched: candidates.map(\.path))
    }

    /// `stadium-gateway: listening on ws://127.0.0.1:PORT/` -> PORT.
    static func port(inListeningLine line: String) -> UInt16? {
        guard let range = line.range(of: "listening on ws://") else { return nil }
        let address = line[range.upperBound...].prefix { $0 != "/" }
        guard let colon = address.lastIndex(of: ":") else { return nil }
        return UInt16(address[address.index(after: colon)...])
    }

    private static func readLine(_ descriptor: Int32, timeout: Duration) throws -> String {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        while !bytes.contains(UInt8(ascii: "\n")) {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(remaining.components.seconds * 1000 + 1, 1000))
            guard poll(&request, 1, milliseconds) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 256)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first, text.contains("\n") else {
            throw GatewayProcessError.noListeningLine(output: text)
        }
        return String(line)
    }
}
