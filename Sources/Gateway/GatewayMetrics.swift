// The gateway's Prometheus metrics: protocol counters updated where things happen, ring
// counters folded in when /metrics is read.
import Prometheus
import Synchronization
import UringIO

/// Kinds of bad input and trouble, the `kind` label of stadium_errors_total.
public enum ErrorKind: String, CaseIterable, Sendable {
    case badRequest = "bad_request"
    case badSubject = "bad_subject"
    case forbidden
    case unauthorized
    case tokenExpired = "token_expired"
    case rateLimited = "rate_limited"
    case idleTimeout = "idle_timeout"
    case refusedShuttingDown = "refused_shutting_down"
    case historyGap = "history_gap"
    case tooManySubscriptions = "too_many_subscriptions"
    case tooManyFromAddress = "too_many_from_address"
    case protocolError = "protocol_error"
    case messageTooBig = "message_too_big"
    case invalidUTF8 = "invalid_utf8"
    case unsupportedData = "unsupported_data"
    case headersTooLarge = "headers_too_large"
    case malformedHTTP = "malformed_http"
    case badUpgrade = "bad_upgrade"
    case handshakeTimeout = "handshake_timeout"
    case slowConsumer = "slow_consumer"
    /// A lagging connection's next message left the history before it read it.
    case fellOutOfHistory = "fell_out_of_history"
    case kafkaUnavailable = "kafka_unavailable"
    case kafkaTimeout = "kafka_timeout"
    case internalError = "internal"
    /// A reply (ok, err, pong, close, HTTP response) could not be built, so the connection was closed.
    case replyDropped = "reply_dropped"
    /// A message for subscribers (live, or read back from Kafka) could not be built (frame pool
    /// spent, too large): its subscribers miss it (a gap for a replay). Logged the first time.
    case messageNotEncoded = "message_not_encoded"
    /// A message's compressed form could not be built (frame pool spent): it went uncompressed.
    case compressionNotEncoded = "compression_not_encoded"
    /// On a TLS listener: bytes that are not TLS (plain HTTP, garbage).
    case tlsNotTLS = "tls_not_tls"
    /// A client offering only TLS 1.1 or older.
    case tlsVersion = "tls_version"
    /// A handshake cut short: the peer closed in the middle of its ClientHello or flight.
    case tlsTruncated = "tls_truncated"
    /// Any other handshake failure (no common cipher, no http/1.1 in ALPN, a peer's alert).
    case tlsHandshake = "tls_handshake"
    /// A record that did not authenticate or parse after the handshake, or one that could not be sealed.
    case tlsRecord = "tls_record"
    /// A compressed message that would inflate past the message size limit (a decompression bomb).
    case inflatedTooBig = "inflated_too_big"
    /// A compressed message that is not valid deflate data.
    case inflateFailed = "inflate_failed"
}

public final class GatewayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let framesReceived: Counter
    let messagesPublished: Counter
    let messagesReplayed: Counter
    let subscriptionsFellBehind: Counter
    let recoveryReads: Counter
    let messagesRecovered: Counter
    let subscriptions: Gauge
    let httpRequests: Counter
    private let errors: [ErrorKind: Counter]

    // Folded in from the rings at scrape time.
    private let connections: Gauge
    private let accepted: Counter
    private let framesSent: Counter
    private let bytesSent: Counter
    private let bytesReceived: Counter
    private let sendErrors: Counter
    private let subjects: Gauge
    private let framesCreated: Gauge
    private let framesInUse: Gauge
    private let folded = Mutex([String: Int]())

    public init() {
        framesReceived = registry.makeCounter(descriptor: .init(metricName: "stadium_frames_received_total", unitName: "", helpText: "WebSocket messages received from clients"))
        messagesPublished = registry.makeCounter(descriptor: .init(metricName: "stadium_messages_published_total", unitName: "", helpText: "Client pubs accepted"))
        messagesReplayed = registry.makeCounter(descriptor: .init(metricName: "stadium_messages_replayed_total", unitName: "", helpText: "Messages sent from subject histories: to subscribers that came back with since, and to lagging ones catching up"))
        recoveryReads = registry.makeCounter(descriptor: .init(metricName: "stadium_recovery_reads_total", unitName: "", helpText: "Reads of one partition range from Kafka for clients resuming with since past this gateway's memory"))
        messagesRecovered = registry.makeCounter(descriptor: .init(metricName: "stadium_messages_recovered_total", unitName: "", helpText: "Messages read back from Kafka for clients resuming with since"))
        subscriptionsFellBehind = registry.makeCounter(descriptor: .init(metricName: "stadium_subscriptions_fell_behind_total", unitName: "", helpText: "Times a subscription could not take a message live and went on reading from its subject's history"))
        subscriptions = registry.makeGauge(descriptor: .init(metricName: "stadium_subscriptions", unitName: "", helpText: "Subscriptions held"))
        httpRequests = registry.makeCounter(descriptor: .init(metricName: "stadium_http_requests_total", unitName: "", helpText: "Plain HTTP requests served"))
        var errors: [ErrorKind: Counter] = [:]
        for kind in ErrorKind.allCases {
            errors[kind] = registry.makeCounter(
                descriptor: .init(metricName: "stadium_errors_total", unitName: "", helpText: "Bad input and failures, by kind"),
                labels: [("kind", kind.rawValue)])
        }
        self.errors = errors
        connections = registry.makeGauge(descriptor: .init(metricName: "stadium_connections", unitName: "", helpText: "Open connections"))
        accepted = registry.makeCounter(descriptor: .init(metricName: "stadium_connections_accepted_total", unitName: "", helpText: "Connections accepted"))
        framesSent = registry.makeCounter(descriptor: .init(metricName: "stadium_frames_sent_total", unitName: "", helpText: "Frames written to sockets"))
        bytesSent = registry.makeCounter(descriptor: .init(metricName: "stadium_bytes_sent_total", unitName: "", helpText: "Bytes written to sockets"))
        bytesReceived = registry.makeCounter(descriptor: .init(metricName: "stadium_bytes_received_total", unitName: "", helpText: "Bytes read from sockets"))
        sendErrors = registry.makeCounter(descriptor: .init(metricName: "stadium_send_errors_total", unitName: "", helpText: "Socket writes that failed"))
        subjects = registry.makeGauge(descriptor: .init(metricName: "stadium_subjects", unitName: "", helpText: "Subjects known"))
        framesCreated = registry.makeGauge(descriptor: .init(metricName: "stadium_frame_pool_frames", unitName: "", helpText: "Frames the frame pool has made (each keeps its buffer)"))
        framesInUse = registry.makeGauge(descriptor: .init(metricName: "stadium_frame_pool_frames_in_use", unitName: "", helpText: "Frames held (queued, retained, in histories or inboxes), not on a free list"))
    }

    func count(_ kind: ErrorKind) {
        errors[kind]?.increment()
    }

    /// Brings ring counters into the registry and renders the Prometheus text format.
    func render(loops: [RingLoop], subjectCount: Int, frames: FramePool) -> [UInt8] {
        folded.withLock { last in
            func fold(_ name: String, _ counter: Counter, _ total: Int) {
                let delta = total - (last[name] ?? 0)
                if delta > 0 { counter.increment(by: Int64(delta)) }
                last[name] = total
            }
            func sum(_ read: (RingCounters) -> Int) -> Int { loops.reduce(0) { $0 + read($1.counters) } }
            connections.set(Double(sum { $0.open.load(ordering: .relaxed) }))
            fold("accepted", accepted, sum { $0.accepted.load(ordering: .relaxed) })
            fold("sends", framesSent, sum { $0.sends.load(ordering: .relaxed) })
            fold("bytesSent", bytesSent, sum { $0.bytesSent.load(ordering: .relaxed) })
            fold("bytesReceived", bytesReceived, sum { $0.bytesReceived.load(ordering: .relaxed) })
            fold("sendErrors", sendErrors, sum { $0.sendErrors.load(ordering: .relaxed) })
            subjects.set(Double(subjectCount))
            framesCreated.set(Double(frames.framesCreated))
            framesInUse.set(Double(frames.framesInUse))
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
