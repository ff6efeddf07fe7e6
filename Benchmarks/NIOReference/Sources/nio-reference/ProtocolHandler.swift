// Protocol v1 over WebSocket text frames: sub (ok, then messages), pub (ok, then one msg frame
// to every subscriber of the subject), pings answered, close answered.
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket

final class ProtocolHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let hub: Hub
    private let sequence: NIOLockedValueBox<Int>

    init(hub: Hub, sequence: NIOLockedValueBox<Int>) {
        self.hub = hub
        self.sequence = sequence
    }

    func channelInactive(context: ChannelHandlerContext) {
        hub.subscribers(of: context.eventLoop).removeEverywhere(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            var payload = frame.unmaskedData
            guard let bytes = payload.readBytes(length: payload.readableBytes) else { return }
            handle(Data(bytes), context: context)
        case .ping:
            send(.pong, frame.unmaskedData, context: context)
        case .connectionClose:
            send(.connectionClose, frame.unmaskedData, context: context)
            context.close(promise: nil)
        default:
            break
        }
    }

    private func handle(_ json: Data, context: ChannelHandlerContext) {
        guard let request = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
              let op = request["op"] as? String
        else {
            reply(["op": "err", "code": "bad_request", "message": "not a JSON object with an op"], context: context)
            return
        }
        let id = request["id"] as? Int ?? 0
        switch op {
        case "sub":
            let subjects = request["subjects"] as? [String] ?? []
            let subscribers = hub.subscribers(of: context.eventLoop)
            for subject in subjects { subscribers.add(context.channel, to: subject) }
            reply(["op": "ok", "id": id], context: context)
        case "pub":
            guard let subject = request["subject"] as? String, let data = request["data"] else {
                reply(["op": "err", "id": id, "code": "bad_request", "message": "pub needs subject and data"], context: context)
                return
            }
            reply(["op": "ok", "id": id], context: context)
            let seq = sequence.withLockedValue { value -> Int in
                value += 1
                return value
            }
            let message: [String: Any] = ["op": "msg", "subject": subject, "seq": seq, "data": data]
            guard let encoded = try? JSONSerialization.data(withJSONObject: message, options: [.fragmentsAllowed]) else { return }
            // Encoded once; every subscriber's write shares this buffer.
            var buffer = context.channel.allocator.buffer(capacity: encoded.count)
            buffer.writeBytes(encoded)
            hub.publish(WebSocketFrame(fin: true, opcode: .text, data: buffer), to: subject)
        default:
            reply(["op": "err", "id": id, "code": "bad_request", "message": "unknown op"], context: context)
        }
    }

    private func reply(_ object: [String: Any], context: ChannelHandlerContext) {
        guard let encoded = try? JSONSerialization.data(withJSONObject: object) else { return }
        var buffer = context.channel.allocator.buffer(capacity: encoded.count)
        buffer.writeBytes(encoded)
        send(.text, buffer, context: context)
    }

    private func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, data: data)), promise: nil)
    }
}
