// The trust state of one connection (identity, publish budget, liveness, token expiry) and the
// ring-wide policy it follows. Pure: each event returns what the session must do; no I/O here.

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

    var requiresToken: Bool {
        if case .jwt = auth { return true }
        return false
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
    /// Who the connection acts as; nil while a `jwt` connection has not authenticated.
    private(set) var identity: VerifiedToken?
    private var budget = TokenBucket(rate: 0, burst: 0, now: 0)
    private var lastHeard: Int64 = 0
    private var pingOutstanding = false
    private var expiryWarned = false

    /// Everyone's identity under `--auth none`: records are attributed to `anonymous`.
    static let anonymous = VerifiedToken(user: "anonymous", expires: .max, entitlements: .everything)

    /// A free slot's: nobody.
    init() {}

    /// A connection that has just been accepted at `now`.
    init(policy: TrustPolicy, now: Int64) {
        identity = policy.requiresToken ? nil : Self.anonymous
        budget = TokenBucket(rate: policy.publishRate ?? 0, burst: policy.publishBurst, now: now)
        lastHeard = now
    }

    mutating func heard(now: Int64) {
        lastHeard = now
        pingOutstanding = false
    }

    /// Verifies a token (handshake or auth message). A connection that already has an identity
    /// may only renew it for the same user.
    mutating func authenticate(token: String, unixNow: Int64, policy: TrustPolicy) -> AuthOutcome {
        guard case .jwt(let verifier) = policy.auth else { return .accepted }
        switch verifier.verify(token, now: unixNow) {
        case .failure(let rejection):
            return .rejected(rejection)
        case .success(let verified):
            if let current = identity, current.user != verified.user {
                return .rejected(.otherUser(expected: current.user, got: verified.user))
            }
            identity = verified
            expiryWarned = false
            return .accepted
        }
    }

    /// Takes one pub from the connection's budget.
    mutating func mayPublishNow(now: Int64, policy: TrustPolicy) -> Bool {
        guard policy.publishRate != nil else { return true }
        return budget.take(now: now)
    }

    /// Nanoseconds from `now` until `check` may have something to do (a token warning or expiry,
    /// a ping or the close of a silent connection); nil when nothing is ever due.
    func nanosecondsUntilCheck(now: Int64, unixNow: Int64, policy: TrustPolicy) -> Int64? {
        var until: Int64?
        if let identity, identity.expires != .max {
            let at = expiryWarned ? identity.expires : identity.expires - policy.expiryWarningSeconds
            // Expiry is wall-clock time and the wait is monotonic: looking again every 10 s bounds
            // how late a clock step (NTP, a resumed VM) can make a warning or close.
            until = min(max(0, at - unixNow), 10) * 1_000_000_000
        }
        if let idle = policy.idleNanoseconds {
            let silence = max(0, lastHeard + idle - now)
            until = min(until ?? silence, silence)
        }
        return until
    }

    /// The periodic look at an open WebSocket connection.
    mutating func check(now: Int64, unixNow: Int64, policy: TrustPolicy) -> TrustCheck {
        if let identity, identity.expires != .max {
            if unixNow >= identity.expires { return .closeExpired }
            if !expiryWarned && unixNow >= identity.expires - policy.expiryWarningSeconds {
                expiryWarned = true
                return .warnExpiry(at: identity.expires)
            }
        }
        guard let idle = policy.idleNanoseconds, now - lastHeard >= idle else { return .nothing }
        if pingOutstanding { return .closeIdle }
        pingOutstanding = true
        lastHeard = now
        return .ping
    }
}
