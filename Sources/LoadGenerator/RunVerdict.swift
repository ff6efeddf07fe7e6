/// Whether a run delivered what it should: the basis of `stadium-load`'s exit status, so a
/// script that ignores the report still cannot pass a run that lost or failed connections.

/// What a run may get away with (`--tolerate-...`); zero by default.
public struct Tolerances: Codable, Equatable, Sendable {
    /// Failed connects and handshakes, connections the gateway dropped, connections never made.
    public var connectionFailures: Int
    public var lost: Int
    public var duplicates: Int

    public init(connectionFailures: Int = 0, lost: Int = 0, duplicates: Int = 0) {
        self.connectionFailures = connectionFailures
        self.lost = lost
        self.duplicates = duplicates
    }
}

public struct RunVerdict: Codable, Equatable, Sendable {
    public var passed: Bool
    /// Connect failures plus disconnects (a failed handshake is closed, so it is one of those).
    public var connectionFailures: Int
    /// Connections that never completed a handshake during the run.
    public var neverConnected: Int
    /// Fan-out probes missing, or players' questions, acks and results missing.
    public var lost: Int
    public var duplicates: Int
    public var tolerated: Tolerances
    /// One sentence per check that failed.
    public var failures: [String]

    public init(
        counters: [String: Int], neverConnected: Int, loss: LossSummary?, players: PlayerSummary?, tolerances: Tolerances
    ) {
        connectionFailures = counters[LoadCounter.connectFailures.rawValue, default: 0]
            + counters[LoadCounter.disconnects.rawValue, default: 0]
        self.neverConnected = neverConnected
        lost = (loss?.missing ?? 0) + (players?.lost ?? 0)
        duplicates = (loss?.duplicates ?? 0) + (players?.duplicates ?? 0)
        tolerated = tolerances
        failures = []
        if connectionFailures > tolerances.connectionFailures {
            failures.append("\(connectionFailures) connection failure(s) (connects, handshakes, disconnects), "
                + "\(tolerances.connectionFailures) tolerated")
        }
        if neverConnected > tolerances.connectionFailures {
            failures.append("\(neverConnected) connection(s) never opened, \(tolerances.connectionFailures) tolerated")
        }
        if lost > tolerances.lost {
            failures.append("\(lost) lost, \(tolerances.lost) tolerated")
        }
        if duplicates > tolerances.duplicates {
            failures.append("\(duplicates) duplicate(s), \(tolerances.duplicates) tolerated")
        }
        passed = failures.isEmpty
    }
}
