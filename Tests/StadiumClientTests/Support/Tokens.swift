// HS256 tokens for a gateway run with --auth jwt, signed with a secret written to a temporary
// --jwt-secret-file.
import Crypto
import Foundation

struct Tokens: Sendable {
    let secret: [UInt8]
    let secretFile: String

    init() throws {
        secret = Array(UUID().uuidString.utf8) + Array("-client-test-secret".utf8)
        secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("stadium-client-jwt-\(UUID().uuidString)").path
        try Data(secret).write(to: URL(fileURLWithPath: secretFile))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: secretFile)
    }

    /// Gateway arguments for JWT authentication with this secret.
    var gatewayArguments: [String] { ["--auth", "jwt", "--jwt-secret-file", secretFile] }

    /// A token for `user` expiring in `lifetime` seconds, entitled to /room/** and its own results.
    func token(_ user: String, lifetime: Int, signedWith key: [UInt8]? = nil) -> String {
        let claims = #"{"sub":"\#(user)","exp":\#(Int(Date().timeIntervalSince1970) + lifetime),"#
            + #""stadium":{"sub":["/room/**","/result/{user}"],"pub":["/room/**"]}}"#
        let header = Self.base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Self.base64URL(Array(claims.utf8))
        let signature = HMAC<SHA256>.authenticationCode(
            for: Array("\(header).\(payload)".utf8), using: SymmetricKey(data: key ?? secret))
        return "\(header).\(payload).\(Self.base64URL(Array(signature)))"
    }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
