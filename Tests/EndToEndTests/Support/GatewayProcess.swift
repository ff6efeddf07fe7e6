// The real stadium-gateway binary as a child process: started on an ephemeral loopback port,
// stopped with SIGTERM, killed if a test leaves it running.
import StadiumTestSupport

enum GatewayProcessError: Error, CustomStringConvertible {
    case noListeningLine(line: String)

    var description: String {
        switch self {
        case .noListeningLine(let line):
            return "stadium-gateway printed \"\(line)\" instead of its listening line"
        }
    }
}

final class GatewayProcess {
    let port: UInt16
    private let child: ChildProcess

    /// Starts the gateway on 127.0.0.1:0 with `arguments` added, and waits for its listening line.
    /// STADIUM_GATEWAY, when set, is the binary to run.
    init(_ arguments: [String] = [], startTimeout: Duration = .seconds(30)) throws {
        child = try ChildProcess(
            "stadium-gateway", ["--listen", "127.0.0.1:0", "--io-threads", "1"] + arguments, pathVariable: "STADIUM_GATEWAY")
        let line = try child.line(startingWith: "stadium-gateway: listening on", timeout: startTimeout)
        guard let port = Self.port(inListeningLine: line) else { throw GatewayProcessError.noListeningLine(line: line) }
        self.port = port
    }

    /// Sends SIGTERM without waiting.
    func sendTerminate() {
        child.sendTerminate()
    }

    /// Waits for the process to end and returns its exit status (killed after `timeout`).
    func waitForExit(timeout: Duration = .seconds(15)) throws -> Int32 {
        try child.waitForExit(timeout: timeout)
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() throws -> Int32 {
        try child.stop(timeout: .seconds(15))
    }

    var isRunning: Bool { child.isRunning }

    /// `stadium-gateway: listening on ws://127.0.0.1:PORT/` -> PORT.
    static func port(inListeningLine line: String) -> UInt16? {
        guard let range = line.range(of: "listening on ws://") else { return nil }
        let address = line[range.upperBound...].prefix { $0 != "/" }
        guard let colon = address.lastIndex(of: ":") else { return nil }
        return UInt16(address[address.index(after: colon)...])
    }
}
