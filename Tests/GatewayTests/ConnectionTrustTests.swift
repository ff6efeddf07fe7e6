import Testing
import UringIO
@testable import Gateway

@Suite struct ConnectionTrustTests {
    static let second: Int64 = 1_000_000_000

    private func policy(auth: AuthMode = .none, idle: Duration? = .seconds(10)) -> TrustPolicy {
        var configuration = GatewayConfiguration(listen: try! SocketAddress(parsing: "127.0.0.1:0"))
        configuration.auth = auth
        configuration.idleTimeout = idle
        configuration.tokenExpiryWarning = .seconds(30)
        return TrustPolicy(configuration)
    }

    @Test func withoutAuthEveryoneIsAnonymousAndMayDoAnything() {
        let policy = policy()
        let trust = ConnectionTrust(policy: policy, now: 0)
        #expect(trust.identity?.user == "anonymous")
        #expect(trust.identity?.entitlements.mayPublish(to: "/answer/bob") == true)
    }

    @Test func jwtConnectionsStartWithoutIdentityAndKeepTheirUser() {
        let verifier = TokenVerifier(secret: TokenVerifierTests.secret)
        let policy = policy(auth: .jwt(verifier))
        var trust = ConnectionTrust(policy: policy, now: 0)
        #expect(trust.identity == nil)
        let outcome1 = trust.authenticate(token: TokenVerifierTests.expired, unixNow: 1_700_000_000, policy: policy)
        #expect(outcome1 == .rejected(.expired(at: 1_600_000_000)))
        #expect(trust.identity == nil)
        let outcome2 = trust.authenticate(token: TokenVerifierTests.alice, unixNow: 1_700_000_000, policy: policy)
        #expect(outcome2 == .accepted)
        #expect(trust.identity?.user == "alice")
        let outcome3 = trust.authenticate(token: TokenVerifierTests.fractionalExpiry, unixNow: 1_700_000_000, policy: policy)
        #expect(outcome3
            == .rejected(.otherUser(expected: "alice", got: "bob")))
    }

    @Test func silentConnectionIsPingedThenClosed() {
        let policy = policy()
        var trust = ConnectionTrust(policy: policy, now: 0)
        let outcome4 = trust.check(now: 9 * Self.second, unixNow: 0, policy: policy)
        #expect(outcome4 == .nothing)
        let outcome5 = trust.check(now: 10 * Self.second, unixNow: 0, policy: policy)
        #expect(outcome5 == .ping)
        let outcome6 = trust.check(now: 15 * Self.second, unixNow: 0, policy: policy)
        #expect(outcome6 == .nothing)
        let outcome7 = trust.check(now: 20 * Self.second, unixNow: 0, policy: policy)
        #expect(outcome7 == .closeIdle)
    }

    @Test func anAnswerToThePingKeepsTheConnection() {
        let policy = policy()
        var trust = ConnectionTrust(policy: policy, now: 0)
        let outcome8 = trust.check(now: 10 * Self.second, unixNow: 0, policy: policy)
        #expect(outcome8 == .ping)
        trust.heard(now: 11 * Self.second)
        let outcome9 = trust.check(now: 20 * Self.second, unixNow: 0, policy: policy)
        #expect(outcome9 == .nothing)
        let outcome10 = trust.check(now: 21 * Self.second, unixNow: 0, policy: policy)
        #expect(outcome10 == .ping)
    }

    @Test func expiringTokenIsWarnedOnceThenClosed() {
        let verifier = TokenVerifier(secret: TokenVerifierTests.secret)
        let policy = policy(auth: .jwt(verifier), idle: nil)
        var trust = ConnectionTrust(policy: policy, now: 0)
        _ = trust.authenticate(token: TokenVerifierTests.alice, unixNow: 1_700_000_000, policy: policy)
        let outcome11 = trust.check(now: 0, unixNow: 1_999_999_969, policy: policy)
        #expect(outcome11 == .nothing)
        let outcome12 = trust.check(now: 0, unixNow: 1_999_999_970, policy: policy)
        #expect(outcome12 == .warnExpiry(at: 2_000_000_000))
        let outcome13 = trust.check(now: 0, unixNow: 1_999_999_990, policy: policy)
        #expect(outcome13 == .nothing)
        let outcome14 = trust.check(now: 0, unixNow: 2_000_000_000, policy: policy)
        #expect(outcome14 == .closeExpired)
    }

    @Test func theNextCheckIsDueAtTheWarningThenAtTheExpiryThenAtTheSilence() {
        let verifier = TokenVerifier(secret: TokenVerifierTests.secret)
        let policy = policy(auth: .jwt(verifier), idle: .seconds(600))
        var trust = ConnectionTrust(policy: policy, now: 0)
        _ = trust.authenticate(token: TokenVerifierTests.alice, unixNow: 1_999_999_900, policy: policy)
        // The warning is due 30 s before the token's expiry at 2,000,000,000; further off, a look
        // every 10 s (the wall clock may jump).
        #expect(trust.nanosecondsUntilCheck(now: 0, unixNow: 1_999_999_900, policy: policy) == 10 * Self.second)
        #expect(trust.nanosecondsUntilCheck(now: 0, unixNow: 1_999_999_966, policy: policy) == 4 * Self.second)
        #expect(trust.check(now: 70 * Self.second, unixNow: 1_999_999_970, policy: policy) == .warnExpiry(at: 2_000_000_000))
        #expect(trust.nanosecondsUntilCheck(now: 70 * Self.second, unixNow: 1_999_999_993, policy: policy) == 7 * Self.second)
        // Past its expiry a check is due at once.
        #expect(trust.nanosecondsUntilCheck(now: 0, unixNow: 2_000_000_100, policy: policy) == 0)

        let silence = self.policy(idle: .seconds(10))
        var quiet = ConnectionTrust(policy: silence, now: 0)
        quiet.heard(now: 4 * Self.second)
        #expect(quiet.nanosecondsUntilCheck(now: 5 * Self.second, unixNow: 0, policy: silence) == 9 * Self.second)
        #expect(ConnectionTrust(policy: self.policy(idle: nil), now: 0).nanosecondsUntilCheck(now: 0, unixNow: 0, policy: self.policy(idle: nil)) == nil)
    }
}
