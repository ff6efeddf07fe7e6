/// Why a client request was refused; becomes an `err` reply echoing the request's id.
public enum ProtocolError: Error, Equatable, Sendable {
    /// Not a valid v1 request. `id` is set when it could be read before the problem.
    case badRequest(id: Int64?, message: String)
    /// A subject breaks the subject syntax (see `SubjectSyntax`).
    case badSubject(id: Int64?, subject: String, message: String)

    public var id: Int64? {
        switch self {
        case .badRequest(let id, _), .badSubject(let id, _, _): return id
        }
    }

    public var code: ErrorCode {
        switch self {
        case .badRequest: return .badRequest
        case .badSubject: return .badSubject
        }
    }

    /// The human-readable text sent as the reply's `message`.
    public var message: String {
        switch self {
        case .badRequest(_, let message): return message
        case .badSubject(_, let subject, let message): return "invalid subject \"\(subject)\": \(message)"
        }
    }
}
