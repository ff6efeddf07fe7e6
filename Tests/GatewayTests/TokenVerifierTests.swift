import Testing
@testable import Gateway

/// Tokens signed with Python's hmac/hashlib (HS256) over the secret below, not with the code under test.
@Suite struct TokenVerifierTests {
    static let secret = Array("stadium-unit-test-secret-32-bytes!!".utf8)
    let verifier = TokenVerifier(secret: secret)
    /// 2023-11-14, before every `exp` below except the expired one.
    let now: Int64 = 1_700_000_000

    static let alice = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMCwic3RhZGl1bSI6eyJzdWIiOlsiL3F1ZXN0aW9uIiwiL3Jlc3VsdC97dXNlcn0iLCIvdG9wL3t1c2VyfSJdLCJwdWIiOlsiL2Fuc3dlci97dXNlcn0iLCIvZ2V0dG9wIl19fQ.d-N317bkTVHo--bIpEGIyc74GYJupGXeoNycpd4P_y0"
    static let expired = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTYwMDAwMDAwMH0.XCoWsnvLAPdEA5xKmhBNZBS8juzN_Dl0sNg8gRwv1FY"
    static let notYetValid = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMCwibmJmIjoxODAwMDAwMDAwfQ.d7P1VsI0EHJ4LsUyR7WQD8tTy42t2hK5cwtR_76zxE0"
    static let withoutExpiry = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.TQZUxaK0j8OcM4QAdfoBaHqM2JJV43Jkm3VoFimh_q4"
    static let slashInSubject = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbC9pY2UiLCJleHAiOjIwMDAwMDAwMDB9.vbRBiWnNWhtezM947Nu4mlGGoY7hBjBSpIoWYsm5seQ"
    static let algorithmNone = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMH0.nOZImSGu0cJV1M-iN7hqEZr3WX9ojTRtdXZeV6TVBHo"
    static let otherSecret = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMH0.5Kyi2PmP9fhh_uPmI8lYdMQ3ohv7ObwcsOyUKGhuN1Y"
    static let fractionalExpiry = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJleHAiOjIwMDAwMDAwMDAuNSwic3RhZGl1bSI6eyJzdWIiOlsiL3Jvb20vKioiXSwicHViIjpbXX19.ugbjwNEnxQOcrXLern5dOqWEKAQe3TBWYFyrkud-EJk"

    private func rejection(_ token: String) -> TokenRejection? {
        if case .failure(let rejection) = verifier.verify(token, now: now) { return rejection }
        return nil
    }

    @Test func validTokenGivesUserExpiryAndEntitlements() throws {
        let token = try verifier.verify(Self.alice, now: now).get()
        #expect(token.user == "alice")
        #expect(token.expires == 2_000_000_000)
        #expect(token.entitlements.maySubscribe(to: "/question"))
        #expect(token.entitlements.maySubscribe(to: "/result/alice"))
        #expect(!token.entitlements.maySubscribe(to: "/result/bob"))
        #expect(token.entitlements.mayPublish(to: "/answer/alice"))
        #expect(token.entitlements.mayPublish(to: "/gettop"))
        #expect(!token.entitlements.mayPublish(to: "/answer/bob"))
        #expect(!token.entitlements.mayPublish(to: "/question"))
    }

    @Test func forgedSignaturesAreRefused() {
        #expect(rejection(Self.otherSecret) == .badSignature)
        var flipped = Array(Self.alice.utf8)
        flipped[40] = flipped[40] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(rejection(String(decoding: flipped, as: UTF8.self)) == .badSignature, "a changed payload")
    }

    @Test func algorithmNoneIsRefusedEvenWithASignature() {
        #expect(rejection(Self.algorithmNone) == .unsupportedAlgorithm("none"))
    }

    @Test func timeClaimsAreChecked() {
        #expect(rejection(Self.expired) == .expired(at: 1_600_000_000))
        #expect(rejection(Self.notYetValid) == .notYetValid(from: 1_800_000_000))
        #expect(rejection(Self.withoutExpiry) == .missingClaim("exp"))
        #expect(verifier.verify(Self.alice, now: 2_000_000_000).failure == .expired(at: 2_000_000_000), "exp is exclusive")
    }

    @Test func fractionalExpiryAndDeepPatterns() throws {
        let token = try verifier.verify(Self.fractionalExpiry, now: now).get()
        #expect(token.expires == 2_000_000_000)
        #expect(token.entitlements.maySubscribe(to: "/room/1/seat:2"))
        #expect(!token.entitlements.mayPublish(to: "/room/1"), "an empty pub list grants nothing")
    }

    @Test func userMustBeOneSubjectKeySegment() {
        guard case .invalidClaim(let name, _) = rejection(Self.slashInSubject) else {
            Issue.record("a sub with / must be refused: it would widen {user} patterns")
            return
        }
        #expect(name == "sub")
    }

    @Test func malformedTokensSayWhy() {
        #expect(rejection("") == .malformed("expected three dot-separated parts"))
        #expect(rejection("a.b") == .malformed("expected three dot-separated parts"))
        #expect(rejection("!!.e30.x") == .malformed("header is not base64url JSON"))
        let parts = Self.alice.split(separator: ".")
        #expect(rejection("\(parts[0]).\(parts[1]).a+b") == .malformed("signature is not base64url"))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
