// HS256 JSON Web Tokens (RFC 7519): signature, time claims, the user and the entitlements.
// Runs once per connection (or per auth message), never per message.
import Crypto
import Foundation
import StadiumProtocol

public struct TokenVerifier: Sendable {
    /// The claim holding the entitlements: `{"sub":[patterns],"pub":[patterns]}`.
    public static let entitlementsClaim = "stadium"
    /// RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
    public static let minimumSecretBytes = 32

    /// Kept as bytes: SymmetricKey is not Sendable, and a key per verification costs nothing here.
    private let secret: [UInt8]

    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// Verifies `token` at `now` (seconds since 1970).
    public func verify(_ token: String, now: Int64) -> Result<VerifiedToken, TokenRejection> {
        Result { () throws(TokenRejection) in try verified(token, now: now) }
    }

    private func verified(_ token: String, now: Int64) throws(TokenRejection) -> VerifiedToken {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected three dot-separated parts") }
        guard let headerBytes = Base64URL.decode(parts[0]), let header = Self.object(headerBytes) else {
            throw .malformed("header is not base64url JSON")
        }
        let algorithm = header["alg"] as? String ?? "(none)"
        guard algorithm == "HS256" else { throw .unsupportedAlgorithm(algorithm) }
        guard let signature = Base64URL.decode(parts[2]) else { throw .malformed("signature is not base64url") }
        let signed = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        // isValidAuthenticationCode compares in constant time.
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signed, using: SymmetricKey(data: secret)) else {
            throw .badSignature
        }
        guard let payloadBytes = Base64URL.decode(parts[1]), let claims = Self.object(payloadBytes) else {
            throw .malformed("payload is not base64url JSON")
        }
        return try Self.token(from: claims, now: now)
    }

    private static func token(from claims: [String: Any], now: Int64) throws(TokenRejection) -> VerifiedToken {
        guard let expiresValue = claims["exp"] else { throw .missingClaim("exp") }
        guard let expires = seconds(expiresValue) else { throw .invalidClaim(name: "exp", reason: "not a number") }
        guard now < expires else { throw .expired(at: expires) }
        if let notBeforeValue = claims["nbf"] {
            guard let notBefore = seconds(notBeforeValue) else { throw .invalidClaim(name: "nbf", reason: "not a number") }
            guard now >= notBefore else { throw .notYetValid(from: notBefore) }
        }
        guard let subjectValue = claims["sub"] else { throw .missingClaim("sub") }
        guard let user = subjectValue as? String, !user.isEmpty, user.utf8.count <= 128,
              user.utf8.allSatisfy(SubjectSyntax.isKeyByte) else {
            throw .invalidClaim(name: "sub", reason: "must be 1 to 128 subject key characters (letters, digits, . _ - ~ : @)")
        }
        let grants = claims[entitlementsClaim] as? [String: Any] ?? [:]
        let entitlements = Entitlements(
            subscribe: try patterns(grants["sub"], name: "\(entitlementsClaim).sub", user: user),
            publish: try patterns(grants["pub"], name: "\(entitlementsClaim).pub", user: user))
        return VerifiedToken(user: user, expires: expires, entitlements: entitlements)
    }

    /// A missing list grants nothing.
    private static func patterns(_ value: Any?, name: String, user: String) throws(TokenRejection) -> [SubjectPattern] {
        guard let value else { return [] }
        guard let list = value as? [String] else { throw .invalidClaim(name: name, reason: "not an array of strings") }
        var patterns: [SubjectPattern] = []
        for text in list {
            do {
                patterns.append(try SubjectPattern(text, user: user))
            } catch {
                throw .invalidClaim(name: name, reason: error.description)
            }
        }
        return patterns
    }

    private static func object(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// NumericDate: JSON numbers, possibly with a fraction (RFC 7519 section 2).
    private static func seconds(_ value: Any) -> Int64? {
        if value is Bool { return nil }
        guard let number = value as? NSNumber else { return nil }
        let seconds = number.doubleValue
        guard seconds.isFinite, abs(seconds) < 1e15 else { return nil }
        return Int64(seconds.rounded(.down))
    }
}
