import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// What one WebSocket connection to a gateway reports: each text message, then its end.
enum ConnectionEvent: Sendable, Equatable {
    case text([UInt8])
    /// The gateway pinged, and was answered.
    case pinged
    /// The connection is over: the close code and reason the gateway sent (1006 and why, when
    /// it sent none).
    case closed(code: UInt16, reason: String)
}

/// One WebSocket connection to a gateway over SwiftNIO, offering the stadium.v1 subprotocol:
/// text messages in as `events`, text messages out with `send`. Pings are answered here.
final class GatewayConnection: Sendable {
    static let subprotocol = "stadium.v1"
    /// Far above the gateway's 64 KiB for requests: a record the gateway delivers may be larger.
    static let maximumMessageBytes = 16 << 20

    let events: AsyncStream<ConnectionEvent>
    private let channel: any Channel

    private init(channel: any Channel, events: AsyncStream<ConnectionEvent>) {
        self.channel = channel
        self.events = events
    }

    /// Connects to `url` and upgrades to WebSocket; throws if that is not done by `deadline`.
    static func open(
        _ url: GatewayURL, deadline: ContinuousClock.Instant,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> GatewayConnection {
        let (events, continuation) = AsyncStream.makeStream(of: ConnectionEvent.self)
        let remaining = ContinuousClock.now.duration(to: deadline)
        let nanoseconds = remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
        let timeout = TimeAmount.nanoseconds(max(1, nanoseconds))
        let upgraded = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrade = try configureUpgrade(of: channel, to: url, events: continuation)
                    // The upgrade has the rest of the connect time: a gateway that accepts and
                    // then says nothing is given up on (closing fails the upgrade).
                    let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
                    upgrade.whenComplete { _ in timer.cancel() }
                    return upgrade
                }
            }
        switch try await upgraded.get() {
        case .upgraded(let channel):
            return GatewayConnection(channel: channel, events: events)
        case .refused:
            throw GatewayConnectionError.upgradeRefused
        }
    }

    /// Sends one text message; a failure shows as the connection's end in `events`.
    func send(_ text: [UInt8]) {
        var buffer = channel.allocator.buffer(capacity: text.count)
        buffer.writeBytes(text)
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: buffer)
        channel.writeAndFlush(frame, promise: nil)
    }

    /// Sends a close frame with `code` and closes the connection.
    func close(code: UInt16 = 1000, reason: String = "") {
        var buffer = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        buffer.writeInteger(code)
        buffer.writeString(reason)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: buffer)
        let channel = self.channel
        channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
    }

    private enum UpgradeResult: Sendable {
        case upgraded(any Channel)
        case refused
    }

    private static func configureUpgrade(
        of channel: any Channel, to url: GatewayURL, events: AsyncStream<ConnectionEvent>.Continuation
    ) throws -> EventLoopFuture<UpgradeResult> {
        let upgrader = NIOTypedWebSocketClientUpgrader<UpgradeResult>(maxFrameSize: maximumMessageBytes) { channel, _ in
            channel.eventLoop.makeCompletedFuture {
                // Messages may come in fragments (RFC 6455); the client handles whole messages.
                let aggregator = NIOWebSocketFrameAggregator(
                    minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16,
                    maxAccumulatedFrameSize: maximumMessageBytes)
                try channel.pipeline.syncOperations.addHandler(aggregator)
                try channel.pipeline.syncOperations.addHandler(FrameHandler(events: events))
                return .upgraded(channel)
            }
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: headers)
        let configuration = NIOTypedHTTPClientUpgradeConfiguration<UpgradeResult>(
            upgradeRequestHead: head, upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.close(promise: nil)
                return channel.eventLoop.makeSucceededFuture(.refused)
            })
        return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
            configuration: .init(upgradeConfiguration: configuration))
    }
}

enum GatewayConnectionError: Error, CustomStringConvertible {
    case upgradeRefused

    var description: String {
        switch self {
        case .upgradeRefused: return "the gateway refused the WebSocket upgrade"
        }
    }
}
