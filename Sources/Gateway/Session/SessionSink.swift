// What a connection session asks of the ring that owns its connection, and the ring-wide rules
// every session of the ring follows.
import Foundation
import StadiumProtocol
import UringIO
import WebSocket

/// Performs a session's actions on the connection. Called while the session runs: an
/// implementation must not call back into the same session.
public protocol SessionSink {
    /// Monotonic nanoseconds, for the publish budget.
    var preciseNow: Int64 { get }
    /// Seconds since 1970, for token expiry.
    var unixNow: Int64 { get }
    /// False once the connection is closing, whoever closed it (the ring drops slow readers).
    var isOpen: Bool { get }
    /// False while the gateway shuts down: pubs are refused.
    var acceptsPublishes: Bool { get }
    /// Queues a frame the session built, taking it over; `final` for a close frame.
    mutating func send(_ frame: consuming OwnedFrame, final: Bool)
    mutating func close(_ mode: CloseMode)
    /// permessage-deflate was agreed in the upgrade just sent: from now on the connection may be
    /// sent the compressed form of a message (`FanoutHub.compressedForm`) instead of the plain one.
    mutating func compressionAgreed()
    mutating func count(_ event: SessionCount)
    /// The connection's next trust check may now be due sooner (a token was renewed): look again soon.
    mutating func trustCheckMoved()
    /// The response to a plain HTTP request (/healthz, /metrics, the web UI).
    mutating func respond(to head: HTTPRequestHead) -> [UInt8]
    /// `data` is borrowed from the receive buffer: the compiler keeps it from escaping the call.
    mutating func publish(id: Int64?, subject: String, data: RawSpan, user: String)
    /// Joins the subjects not yet held; nil (and nothing joined) when that would pass `limit`.
    /// Otherwise the positions the joined subjects without a key start after, per partition, for the ok.
    mutating func subscribe(names: [String], limit: Int) -> [String: [Int32: Int64]]?
    /// After the sub's ok: each subject just joined gets its retained message, or what it missed
    /// after `since` (a seq) or after its cursor (an offset per partition).
    mutating func startDelivery(since: [String: Int64], cursors: [String: [Int32: Int64]])
    mutating func unsubscribe(names: [String])
}

/// A frame the gateway owes one connection. `~Escapable` for the pong, whose payload is the
/// ping's, borrowed from the receive buffer: a reply is encoded where it is made.
enum Reply: ~Escapable {
    case ok(id: Int64?)
    /// The ok of a sub, with where its subjects without a key start (nothing added when empty).
    case subscribed(id: Int64?, positions: [String: [Int32: Int64]])
    case error(id: Int64?, code: ErrorCode, message: String)
    /// `partition`: a cursor's gap is in one partition of a subject without a key.
    case gap(subject: String, partition: Int32? = nil, from: Int64, to: Int64)
    case ping
    case pong(payload: RawSpan)
    /// An HTTP response.
    case raw([UInt8])
}

extension FrameWriter {
    func encode(_ reply: Reply) throws(WriteError) -> OwnedFrame {
        switch reply {
        case .ok(let id): return try ok(id: id)
        case .error(let id, let code, let message): return try error(id: id, code: code, message: message)
        case .subscribed(let id, let positions): return positions.isEmpty ? try ok(id: id) : try ok(id: id, positions: positions)
        case .gap(let subject, let partition, let from, let to): return try gap(subject: subject, partition: partition, from: from, to: to)
        case .ping: return try control(.ping, payload: UnsafeRawBufferPointer(start: nil, count: 0))
        case .pong(let payload):
            return try payload.withUnsafeBytes { (bytes) throws(WriteError) -> OwnedFrame in try control(.pong, payload: bytes) }
        case .raw(let bytes): return try raw(bytes)
        }
    }
}

/// What a session counts (the ring passes it on to the metrics).
public enum SessionCount: Equatable, Sendable {
    case frameReceived
    case httpRequest
    case error(ErrorKind)
}

extension SessionSink {
    /// The frame of `reply`; one that cannot be built is counted and the connection closed
    /// (1011), since the client would otherwise wait for it forever.
    mutating func encodeOrClose(_ reply: Reply, writer: FrameWriter) -> OwnedFrame? {
        do {
            return try writer.encode(reply)
        } catch {
            count(.error(.replyDropped))
            closeWebSocket(code: .internalError, reason: "a reply could not be encoded", writer: writer)
            return nil
        }
    }

    /// Sends a close frame and closes once it is written; one that cannot be built is counted
    /// and the connection closed at once.
    mutating func closeWebSocket(code: CloseCode, reason: String, writer: FrameWriter) {
        do {
            send(try writer.close(code: code, reason: reason), final: true)
            close(.afterFlush)
        } catch {
            count(.error(.replyDropped))
            close(.now)
        }
    }
}

/// The settings every session of a ring shares, kept once per ring rather than per connection.
public struct SessionRules {
    let writer: FrameWriter
    let trust: TrustPolicy
    let maxHeaderBytes: Int
    let maxMessageBytes: Int
    let maxSubscriptions: Int
    let rateLimitMessage: String
    /// permessage-deflate is agreed to when a client offers it.
    let compression: Bool
    /// The ring's one inflater: a compressed message is inflated whole within one `received`, so
    /// its sessions never need it at the same time (nil without compression).
    let inflater: MessageInflater?

    public init(_ configuration: GatewayConfiguration, frames: FramePool) {
        writer = FrameWriter(frames: frames)
        compression = configuration.compression
        inflater = configuration.compression ? MessageInflater(limit: configuration.maxMessageBytes) : nil
        trust = TrustPolicy(configuration)
        maxHeaderBytes = configuration.maxHeaderBytes
        maxMessageBytes = configuration.maxMessageBytes
        maxSubscriptions = configuration.maxSubscriptionsPerConnection
        rateLimitMessage =
            "at most \(configuration.publishRate ?? 0) pubs per second (bursts of \(Int(configuration.publishBurst)))"
    }
}

extension ConnectionSession {
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

    /// A close reason fits in a control frame: at most 123 bytes of UTF-8 (ASCII here).
    static func closeReason(_ text: String) -> String {
        String(decoding: text.utf8.prefix(123), as: UTF8.self)
    }
}
