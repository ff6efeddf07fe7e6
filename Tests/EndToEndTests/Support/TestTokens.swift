// HS256 tokens for the gateway under test, signed here with the secret written to its
// --jwt-secret-file, so each test states exactly the claims it needs.
import Crypto
import Foundation

struct TestTokens {
    let secret = Array("end-to-end-test-secret-of-at-least-32-bytes".utf8)
    /// A file holding `secret`, for --jwt-secret-file.
    let secretFile: String

    init() throws {
        secretFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("stadium-jwt-\(UUID().uuidString)").path
        try Data(secret).write(to: URL(fileURLWithPath: secretFile))
    }

    /// Gateway arguments that turn on JWT authentication with this secret.
    var gatewayArguments: [String] { ["--auth", "jwt", "--jwt-secret-file", secretFile] }

    /// A quiz player's token: own results and leaderboard, answers only as itself.
    func player(_ user: String, expiresIn seconds: Int = 3600) -> String {
        token([
            "sub": user, "exp": Int(Date().timeIntervalSince1970) + seconds,
            "stadium": [
                "sub": ["/question", "/result/{user}", "/top/{user}"],
                "pub": ["/answer/{user}", "/gettop"],
            ],
        ])
    }

    func token(_ claims: [String: Any], signedWith key: [UInt8]? = nil) -> String {
        let header = Self.base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Self.base64URL(Array(try! JSONSerialization.data(withJSONObject: claims)))
        let signature = HMAC<SHA256>.authenticationCode(
            for: Array("\(header).\(payload)".utf8), using: SymmetricKey(data: key ?? secret))
        return "\(header).\(payload).\(Self.base64URL(Array(signature)))"
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
