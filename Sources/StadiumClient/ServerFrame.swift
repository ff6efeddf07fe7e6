import StadiumProtocol

/// One message from the gateway with its parts copied out of the frame, so it outlives the
/// frame's buffer and can cross to other tasks.
enum ServerFrame: Equatable, Sendable {
    /// `positions`: where a sub's subjects without a key start, per partition (empty for other oks).
    case ok(id: Int64?, positions: [String: [Int32: Int64]] = [:])
    case err(id: Int64?, code: StadiumError.Code, message: String)
    case msg(StadiumMessage)
    case gap(StadiumGap)

    /// Parses one text frame with the protocol module's parser.
    static func parse(_ bytes: [UInt8]) -> Result<ServerFrame, MalformedServerMessage> {
        bytes.withUnsafeBytes { buffer in
            ServerMessageParser.parseWithCursor(buffer.bytes).flatMap { parsed in
                switch parsed.message {
                case .ok(let id):
                    return .success(.ok(id: id, positions: parsed.positions))
                case .err(let id, let code, let text):
                    return .success(.err(id: id, code: StadiumError.Code(code), message: text))
                case .msg(let subjectSpan, let seq, let data, let retained):
                    guard let subject = subjectSpan.string(in: buffer.bytes) else {
                        return .failure(MalformedServerMessage("msg subject is not a string"))
                    }
                    return .success(.msg(StadiumMessage(
                        subject: subject, seq: seq, partition: parsed.partition, data: Array(bytes[data]), retained: retained)))
                case .gap(let subject, let from, let to):
                    return .success(.gap(StadiumGap(subject: subject, partition: parsed.partition, from: from, to: to)))
                }
            }
        }
    }
}
