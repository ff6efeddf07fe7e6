// Who subscribed to what, kept per event loop so that only that loop's thread touches its part.
import NIOCore
import NIOWebSocket

final class LoopSubscribers {
    private var channelsBySubject: [String: [ObjectIdentifier: Channel]] = [:]

    func add(_ channel: Channel, to subject: String) {
        channelsBySubject[subject, default: [:]][ObjectIdentifier(channel)] = channel
    }

    func removeEverywhere(_ channel: Channel) {
        for subject in channelsBySubject.keys {
            channelsBySubject[subject]?[ObjectIdentifier(channel)] = nil
        }
    }

    /// Writes the same frame (its ByteBuffer is shared, not copied) to every subscriber of `subject`.
    func send(_ frame: WebSocketFrame, to subject: String) {
        guard let channels = channelsBySubject[subject] else { return }
        for channel in channels.values {
            channel.writeAndFlush(frame, promise: nil)
        }
    }
}

/// Every loop's subscribers; a pub hands the encoded frame to each loop to send on its own thread.
final class Hub: @unchecked Sendable {
    private let loops: [(loop: EventLoop, subscribers: LoopSubscribers)]

    init(group: EventLoopGroup) {
        loops = group.makeIterator().map { ($0, LoopSubscribers()) }
    }

    /// The subscribers of the loop running the caller.
    func subscribers(of loop: EventLoop) -> LoopSubscribers {
        loops.first { $0.loop === loop }!.subscribers
    }

    func publish(_ frame: WebSocketFrame, to subject: String) {
        for (loop, subscribers) in loops {
            loop.execute { subscribers.send(frame, to: subject) }
        }
    }
}
