// nio-reference --listen HOST:PORT: the SwiftNIO reference gateway (see Package.swift).
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

let arguments = CommandLine.arguments
guard arguments.count == 3, arguments[1] == "--listen", let colon = arguments[2].lastIndex(of: ":"),
      let port = Int(arguments[2][arguments[2].index(after: colon)...])
else {
    FileHandle.standardError.write(Data("usage: nio-reference --listen HOST:PORT\n".utf8))
    exit(2)
}
let host = String(arguments[2][..<colon])

let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
let hub = Hub(group: group)
let sequence = NIOLockedValueBox(0)

let upgrader = NIOWebSocketServerUpgrader(
    maxFrameSize: 1 << 16,
    shouldUpgrade: { channel, head in
        var headers = HTTPHeaders()
        let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }
        if offered.contains(where: { $0.trimmingCharacters(in: .whitespaces) == "stadium.v1" }) {
            headers.add(name: "Sec-WebSocket-Protocol", value: "stadium.v1")
        }
        return channel.eventLoop.makeSucceededFuture(headers)
    },
    upgradePipelineHandler: { channel, _ in
        // Runs on the channel's own loop: the handlers are added synchronously there.
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers([
                NIOWebSocketFrameAggregator(
                    minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: 1 << 16),
                ProtocolHandler(hub: hub, sequence: sequence),
            ])
        }
    })

let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 4096)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
    }

let server = try bootstrap.bind(host: host, port: port).wait()
print("nio-reference: listening on ws://\(arguments[2])/ with \(System.coreCount) event loops")
fflush(stdout)
try server.closeFuture.wait()
