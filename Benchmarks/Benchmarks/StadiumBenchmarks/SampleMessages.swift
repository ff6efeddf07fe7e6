// The messages every benchmark uses: a 150-byte protocol v1 `pub` and a 150-byte JSON record,
// built once so no benchmark measures their construction.
import StadiumProtocol
import WebSocket

enum SampleMessages {
    static let messageBytes = 150
    static let subject = "/answer/alice"

    /// `{"op":"pub","id":1,"subject":"/answer/alice","data":{"choice":"xxx…"}}`, exactly 150 bytes.
    static let pubRequest: [UInt8] = {
        let empty = ClientRequestEncoder.pub(id: 1, subject: subject, data: answer(padding: 0))
        let request = ClientRequestEncoder.pub(
            id: 1, subject: subject, data: answer(padding: messageBytes - empty.count))
        precondition(request.count == messageBytes, "pub request is \(request.count) bytes")
        return request
    }()

    /// A quiz-like Kafka record value, one JSON object of exactly 150 bytes.
    static let record: [UInt8] = {
        let prefix = #"{"round":42,"question":"Which planet has the most moons?","choices":["Jupiter","Saturn","Uranus","Neptune"],"note":""#
        let suffix = #""}"#
        let padding = messageBytes - prefix.utf8.count - suffix.utf8.count
        precondition(padding >= 0, "record prefix too long")
        return Array((prefix + String(repeating: "x", count: padding) + suffix).utf8)
    }()

    /// A client's upgrade request to protocol v1.
    static let upgradeRequest = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: stadium.v1\r\n\r\n"

    /// The pub request as a client sends it: one masked text frame.
    static let maskedPubFrame: [UInt8] = FrameEncoder.frame(
        opcode: .text, payload: pubRequest, maskKey: 0x3A_5C_91_E7)

    private static func answer(padding: Int) -> [UInt8] {
        Array(#"{"choice":""#.utf8) + Array(repeating: UInt8(ascii: "b"), count: padding) + Array(#""}"#.utf8)
    }
}
