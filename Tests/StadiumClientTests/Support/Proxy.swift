// A TCP proxy in front of a gateway: cut() drops every connection through it and refuses new
// ones until restore(), so a test decides when a client is away while the gateway keeps running;
// hold() keeps what clients send from reaching the gateway, so a request surely goes unanswered.
import NIOCore
import NIOPosix
import Synchronization

final class Proxy: Sendable {
    let port: Int
    private let server: any Channel
    private let shared: Shared

    var url: String { "ws://127.0.0.1:\(port)/" }

    /// The connections through the proxy, and whether it refuses new ones.
    private final class Shared: Sendable {
        let state = Mutex<(refusing: Bool, holding: Bool, channels: [ObjectIdentifier: any Channel])>((false, false, [:]))

        var holding: Bool { state.withLock { $0.holding } }

        func track(_ channel: any Channel) -> Bool {
            let accepted = state.withLock { state -> Bool in
                guard !state.refusing else { return false }
                state.channels[ObjectIdentifier(channel)] = channel
                return true
            }
            if accepted {
                channel.closeFuture.whenComplete { [self] _ in
                    _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
                }
            }
            return accepted
        }

        func cut() {
            let channels = state.withLock { state in
                state.refusing = true
                return Array(state.channels.values)
            }
            for channel in channels { channel.close(promise: nil) }
        }
    }

    /// Copies bytes to the other side (unless `drops` says not now); closing one side closes the other.
    private final class Forward: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let peer: any Channel
        let drops: @Sendable () -> Bool

        init(to peer: any Channel, dropping drops: @escaping @Sendable () -> Bool = { false }) {
            self.peer = peer
            self.drops = drops
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !drops() else { return }
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    private init(server: any Channel, shared: Shared) {
        self.server = server
        self.shared = shared
        port = server.localAddress?.port ?? 0
    }

    static func start(to targetPort: UInt16) async throws -> Proxy {
        let shared = Shared()
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Reads wait until the upstream connection is there, so nothing is lost before it.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { client in
                guard shared.track(client) else { return client.close() }
                return ClientBootstrap(group: client.eventLoop)
                    .connect(host: "127.0.0.1", port: Int(targetPort))
                    .flatMap { upstream in
                        guard shared.track(upstream) else {
                            upstream.close(promise: nil)
                            return client.close()
                        }
                        do {
                            // Both ends are on one event loop, so the handlers go in directly.
                            try upstream.pipeline.syncOperations.addHandler(Forward(to: client))
                            try client.pipeline.syncOperations.addHandler(Forward(to: upstream) { shared.holding })
                        } catch {
                            return client.eventLoop.makeFailedFuture(error)
                        }
                        return client.setOption(.autoRead, value: true)
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return Proxy(server: server, shared: shared)
    }

    func cut() {
        shared.cut()
    }

    func restore() {
        shared.state.withLock { $0.refusing = false }
    }

    /// From now on, what clients send is dropped instead of reaching the gateway.
    func hold() {
        shared.state.withLock { $0.holding = true }
    }

    func close() async {
        shared.cut()
        try? await server.close()
    }
}
