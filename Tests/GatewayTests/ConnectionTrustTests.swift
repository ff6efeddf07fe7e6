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
        var trust = ConnectionTrust(slots: 2, policy: policy())
        trust.opened(1, now: 0)
        #expect(trust.identities[1]?.user == "anonymous")
        #expect(trust.identities[1]?.entitlements.mayPublish(to: "/answer/bob") == true)
    }

    @Test func jwtConnectionsStartWithoutIdentityAndKeepTheirUser() {
        let verifier = TokenVerifier(secret: TokenVerifierTests.secret)
        var trust = ConnectionTrust(slots: 2, policy: policy(auth: .jwt(verifier)))
        trust.opened(0, now: 0)
        #expect(trust.identities[0] == nil)
        let outcome1 = trust.authenticate(0, token: TokenVerifierTests.expired, unixNow: 1_700_000_000)
        #expect(outcome1 == .rejected(.expired(at: 1_600_000_000)))
        #expect(trust.identities[0] == nil)
        let outcome2 = trust.authenticate(0, token: TokenVerifierTests.alice, unixNow: 1_700_000_000)
        #expect(outcome2 == .accepted)
        #expect(trust.identities[0]?.user == "alice")
        let outcome3 = trust.authenticate(0, token: TokenVerifierTests.fractionalExpiry, unixNow: 1_700_000_000)
        #expect(outcome3
            == .rejected(.otherUser(expected: "alice", got: "bob")))
    }

    @Test func silentConnectionIsPingedThenClosed() {
        var trust = ConnectionTrust(slots: 1, policy: policy())
        trust.opened(0, now: 0)
        let outcome4 = trust.check(0, now: 9 * Self.second, unixNow: 0)
        #expect(outcome4 == .nothing)
        let outcome5 = trust.check(0, now: 10 * Self.second, unixNow: 0)
        #expect(outcome5 == .ping)
        let outcome6 = trust.check(0, now: 15 * Self.second, unixNow: 0)
        #expect(outcome6 == .nothing)
        let outcome7 = trust.check(0, now: 20 * Self.second, unixNow: 0)
        #expect(outcome7 == .closeIdle)
    }

    @Test func anAnswerToThePingKeepsTheConnection() {
        var trust = ConnectionTrust(slots: 1, policy: policy())
        trust.opened(0, now: 0)
        let outcome8 = trust.check(0, now: 10 * Self.second, unixNow: 0)
        #expect(outcome8 == .ping)
        trust.heard(0, now: 11 * Self.second)
        let outcome9 = trust.check(0, now: 20 * Self.second, unixNow: 0)
        #expect(outcome9 == .nothing)
        let outcome10 = trust.check(0, now: 21 * Self.second, unixNow: 0)
        #expect(outcome10 == .ping)
    }

    @Test func expiringTokenIsWarnedOnceThenClosed() {
        let verifier = TokenVerifier(secret: TokenVerifierTests.secret)
        var trust = ConnectionTrust(slots: 1, policy: policy(auth: .jwt(verifier), idle: nil))
        trust.opened(0, now: 0)
        _ = trust.authenticate(0, token: TokenVerifierTests.alice, unixNow: 1_700_000_000)
        let outcome11 = trust.check(0, now: 0, unixNow: 1_999_999_969)
        #expect(outcome11 == .nothing)
        let outcome12 = trust.check(0, now: 0, unixNow: 1_999_999_970)
        #expect(outcome12 == .warnExpiry(at: 2_000_000_000))
        let outcome13 = trust.check(0, now: 0, unixNow: 1_999_999_990)
        #expect(outcome13 == .nothing)
        let outcome14 = trust.check(0, now: 0, unixNow: 2_000_000_000)
        #expect(outcome14 == .closeExpired)
    }
}
