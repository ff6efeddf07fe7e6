// nio-reference --listen HOST:PORT [--threads N]: the SwiftNIO reference gateway (see Package.swift).
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

let usage = "usage: nio-reference --listen HOST:PORT [--threads N (event loops; default: one per core)]\n"
var options: [String: String] = [:]
var position = 1
while position + 1 < CommandLine.arguments.count, ["--listen", "--threads"].contains(CommandLine.arguments[position]) {
    options[CommandLine.arguments[position]] = CommandLine.arguments[position + 1]
    position += 2
}
// An unreadable --threads becomes 0, which the guard refuses.
let threads = options["--threads"].map { Int($0) ?? 0 } ?? System.coreCount
guard position == CommandLine.arguments.count, let listen = options["--listen"], let colon = listen.lastIndex(of: ":"),
      let port = Int(listen[listen.index(after: colon)...]), threads >= 1
else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(2)
}
let host = String(listen[..<colon])

let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
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
print("nio-reference: listening on ws://\(listen)/ with \(threads) event loop(s)")
fflush(stdout)
try server.closeFuture.wait()
