// Authentication, token expiry and liveness of a ring's connections: the I/O side of
// ConnectionTrust.
import Foundation
import StadiumProtocol
import UringIO
import WebSocket

extension GatewayRing {
    /// A token from `Authorization: Bearer` or else the `token` query parameter.
    static func presentedToken(_ head: HTTPRequestHead) -> String? {
        if let authorization = head.header("Authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return head.queryValue("token")
    }

    static func unauthorizedResponse(_ rejection: TokenRejection) -> [UInt8] {
        HTTPResponse.encode(
            status: 401,
            headers: [
                ("WWW-Authenticate", "Bearer error=\"invalid_token\""),
                ("Content-Type", "text/plain; charset=utf-8"),
            ],
            body: Array("\(rejection)\n".utf8))
    }

    static func unixNow() -> Int64 {
        Int64(Date().timeIntervalSince1970)
    }

    /// A close reason fits in a control frame: at most 123 bytes of UTF-8 (ASCII here).
    static func closeReason(_ text: String) -> String {
        String(decoding: text.utf8.prefix(123), as: UTF8.self)
    }
}
