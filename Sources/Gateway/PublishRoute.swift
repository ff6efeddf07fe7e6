// Where a client's `pub` goes: to Kafka (the bridge), or straight to local subscribers.
import StadiumProtocol
import UringIO

protocol PublishRoute: AnyObject, Sendable {
    /// Publishes `data` (one JSON value, verbatim) on `subject`; answers `ok` or `err` through
    /// the hub once the message is safe (for Kafka: acknowledged).
    func publish(subject: String, data: RawSpan, user: String?, replyTo: ReplyAddress)
}

/// Without Kafka: a pub goes to the subject's subscribers at once, encoded once for all.
final class LocalRoute: PublishRoute, @unchecked Sendable {
    private let hub: FanoutHub
    private let writer: FrameWriter
    private let metrics: GatewayMetrics

    init(hub: FanoutHub, metrics: GatewayMetrics) {
        self.hub = hub
        self.writer = FrameWriter(frames: hub.frames)
        self.metrics = metrics
    }

    func publish(subject: String, data: RawSpan, user: String?, replyTo: ReplyAddress) {
        let seq = hub.subjects.nextLocalSeq()
        let messageData = MessageData(recordValue: data)
        var name = subject
        let published = name.withUTF8 { utf8 -> Bool in
            let subjectBuffer = UnsafeRawBufferPointer(utf8)
            let bytes = subjectBuffer.bytes
            do {
                let live = try writer.message(subject: bytes, seq: seq, data: messageData, retained: false)
                let retained = try writer.message(subject: bytes, seq: seq, data: messageData, retained: true)
                hub.publish(subject, seq: seq, live: live, retained: retained)
                return true
            } catch {
                hub.messageNotEncoded(subject: subject, seq: seq, error)
                return false
            }
        }
        guard published else {
            // The publisher is told (the reply is small enough to build even when the message is not).
            hub.reply(replyTo, .error(id: replyTo.requestID, code: .internal, message: "message too large to deliver"))
            return
        }
        metrics.messagesPublished.increment()
        hub.reply(replyTo, .ok(id: replyTo.requestID))
    }
}
