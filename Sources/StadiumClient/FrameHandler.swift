import NIOCore
import NIOWebSocket

/// The end of an upgraded connection's pipeline: passes text messages on, answers pings, and
/// reports the close code the gateway sent when the connection ends.
final class FrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let events: AsyncStream<ConnectionEvent>.Continuation
    private var closeCode: UInt16 = 1006
    private var closeReason = "connection lost"
    private var sentClose = false

    init(events: AsyncStream<ConnectionEvent>.Continuation) {
        self.events = events
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // The connection may have ended while the pipeline was being upgraded.
        if !context.channel.isActive { finish() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            var payload = frame.unmaskedData
            events.yield(.text(payload.readBytes(length: payload.readableBytes) ?? []))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            events.yield(.pinged)
        case .connectionClose:
            var payload = frame.unmaskedData
            if let code = payload.readInteger(as: UInt16.self) {
                closeCode = code
                closeReason = payload.readString(length: payload.readableBytes) ?? ""
            } else {
                closeCode = 1005
                closeReason = ""
            }
            // Echo the close (RFC 6455 5.5.1), then the gateway ends the TCP connection.
            if !sentClose {
                sentClose = true
                var echo = context.channel.allocator.buffer(capacity: 2)
                echo.writeInteger(closeCode == 1005 ? 1000 : closeCode)
                let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
            }
        default:
            // Binary frames are not part of protocol v1; pongs answer nothing the client sent.
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeReason = "\(error)"
        context.close(promise: nil)
    }

    private func finish() {
        events.yield(.closed(code: closeCode, reason: closeReason))
        events.finish()
    }
}
