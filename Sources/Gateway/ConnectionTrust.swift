// Per-connection trust state of one ring (identity, publish budget, liveness, token expiry),
// as arrays indexed by slot. Pure: each event returns what the ring must do; no I/O here.

struct TrustPolicy: Sendable {
    var auth: AuthMode
    var publishRate: Double?
    var publishBurst: Double
    /// Nanoseconds of silence before a ping, and again before the close; nil: never.
    var idleNanoseconds: Int64?
    var expiryWarningSeconds: Int64

    init(_ configuration: GatewayConfiguration) {
        auth = configuration.auth
        publishRate = configuration.publishRate
        publishBurst = configuration.publishBurst
        idleNanoseconds = configuration.idleTimeout.map(Self.nanoseconds)
        expiryWarningSeconds = configuration.tokenExpiryWarning.components.seconds
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// What a periodic look at one connection asks the ring to do.
enum TrustCheck: Equatable {
    case nothing
    case ping
    /// Warn that the token expires at this time (seconds since 1970).
    case warnExpiry(at: Int64)
    case closeExpired
    case closeIdle
}

/// The answer to a token presented by a connection.
enum AuthOutcome: Equatable {
    case accepted
    case rejected(TokenRejection)
}

struct ConnectionTrust {
    let policy: TrustPolicy
    /// Who each connection acts as; nil while a `jwt` connection has not authenticated.
    private(set) var identities: [VerifiedToken?]
    private var budgets: [TokenBucket]
    private var lastHeard: [Int64]
    private var pingOutstanding: [Bool]
    private var expiryWarned: [Bool]

    /// Everyone's identity under `--auth none`: records are attributed to `anonymous`.
    static let anonymous = VerifiedToken(user: "anonymous", expires: .max, entitlements: .everything)

    init(slots: Int, policy: TrustPolicy) {
        self.policy = policy
        identities = Array(repeating: nil, count: slots)
        budgets = Array(
            repeating: TokenBucket(rate: policy.publishRate ?? 0, burst: policy.publishBurst, now: 0), count: slots)
        lastHeard = Array(repeating: 0, count: slots)
        pingOutstanding = Array(repeating: false, count: slots)
        expiryWarned = Array(repeating: false, count: slots)
    }

    var requiresToken: Bool {
        if case .jwt = policy.auth { return true }
        return false
    }

    mutating func opened(_ slot: Int, now: Int64) {
        identities[slot] = requiresToken ? nil : Self.anonymous
        budgets[slot] = TokenBucket(rate: policy.publishRate ?? 0, burst: policy.publishBurst, now: now)
        lastHeard[slot] = now
        pingOutstanding[slot] = false
        expiryWarned[slot] = false
    }

    mutating func heard(_ slot: Int, now: Int64) {
        lastHeard[slot] = now
        pingOutstanding[slot] = false
    }

    /// Verifies a token (handshake or auth message). A connection that already has an identity
    /// may only renew it for the same user.
    mutating func authenticate(_ slot: Int, token: String, unixNow: Int64) -> AuthOutcome {
        guard case .jwt(let verifier) = policy.auth else { return .accepted }
        switch verifier.verify(token, now: unixNow) {
        case .failure(let rejection):
            return .rejected(rejection)
        case .success(let verified):
            if let current = identities[slot], current.user != verified.user {
                return .rejected(.otherUser(expected: current.user, got: verified.user))
            }
            identities[slot] = verified
            expiryWarned[slot] = false
            return .accepted
        }
    }

    /// Takes one pub from the connection's budget.
    mutating func mayPublishNow(_ slot: Int, now: Int64) -> Bool {
        guard policy.publishRate != nil else { return true }
        return budgets[slot].take(now: now)
    }

    /// The periodic look at an open WebSocket connection.
    mutating func check(_ slot: Int, now: Int64, unixNow: Int64) -> TrustCheck {
        if let identity = identities[slot], identity.expires != .max {
            if unixNow >= identity.expires { return .closeExpired }
            if !expiryWarned[slot] && unixNow >= identity.expires - policy.expiryWarningSeconds {
                expiryWarned[slot] = true
                return .warnExpiry(at: identity.expires)
            }
        }
        guard let idle = policy.idleNanoseconds, now - lastHeard[slot] >= idle else { return .nothing }
        if pingOutstanding[slot] { return .closeIdle }
        pingOutstanding[slot] = true
        lastHeard[slot] = now
        return .ping
    }
}
