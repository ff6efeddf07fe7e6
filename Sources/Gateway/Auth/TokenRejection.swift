// Why a token was refused; the description is what the client reads (HTTP 401 body or close reason).
public enum TokenRejection: Error, Equatable, Sendable, CustomStringConvertible {
    case missing
    case malformed(String)
    case unsupportedAlgorithm(String)
    case badSignature
    case expired(at: Int64)
    case notYetValid(from: Int64)
    case missingClaim(String)
    case invalidClaim(name: String, reason: String)
    case otherUser(expected: String, got: String)

    public var description: String {
        switch self {
        case .missing: return "no token: send Authorization: Bearer, ?token= or an auth message"
        case .malformed(let reason): return "malformed token: \(reason)"
        case .unsupportedAlgorithm(let alg): return "token algorithm \(alg) not accepted; only HS256"
        case .badSignature: return "token signature does not verify"
        case .expired(let at): return "token expired at \(at)"
        case .notYetValid(let from): return "token not valid before \(from)"
        case .missingClaim(let name): return "token has no \(name) claim"
        case .invalidClaim(let name, let reason): return "token claim \(name): \(reason)"
        case .otherUser(let expected, let got): return "token is for \(got), this connection is \(expected)"
        }
    }
}
