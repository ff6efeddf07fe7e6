// The identity a connection acts as once its token verified.
public struct VerifiedToken: Equatable, Sendable {
    /// The token's `sub`: the user every produced record is attributed to.
    public let user: String
    /// `exp`, in seconds since 1970.
    public let expires: Int64
    public let entitlements: Entitlements

    public init(user: String, expires: Int64, entitlements: Entitlements) {
        self.user = user
        self.expires = expires
        self.entitlements = entitlements
    }
}
