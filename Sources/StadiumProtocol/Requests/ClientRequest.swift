/// One request a client sends (protocol v1). Byte ranges point into the buffer that was parsed.
public enum ClientRequest: Equatable, Sendable {
    /// Subscribe; `since` maps a subject to the last seq the client saw, `cursors` a subject
    /// without a key to the last offset it saw per partition (a `since` value that is an object).
    case sub(id: Int64?, subjects: [String], since: [String: Int64], cursors: [String: [Int32: Int64]] = [:])
    case unsub(id: Int64?, subjects: [String])
    /// Publish; `data` is the exact byte range of the JSON value, to forward verbatim.
    case pub(id: Int64?, subject: String, data: Range<Int>)
    /// Present a token (reserved, not yet enforced).
    case auth(id: Int64?, token: String)

    /// The id to echo in the reply, when the client sent one.
    public var id: Int64? {
        switch self {
        case .sub(let id, _, _, _), .unsub(let id, _), .pub(let id, _, _), .auth(let id, _): return id
        }
    }
}
