// How connections prove who they are.
public enum AuthMode: Sendable {
    /// Nobody is checked: anyone may act as any user; records carry user `anonymous`.
    case none
    /// HS256 tokens signed with this verifier's secret.
    case jwt(TokenVerifier)
}
