/// `WebSocketEvent.requiredAnswer`: what RFC 6455 makes an endpoint send back for each event,
/// the pong's payload borrowed from the ping's bytes rather than copied.
import Testing
import WebSocket

@Suite struct ControlFrameAnswerTests {
    /// An answer with its payload copied out, so that `#expect` can compare it.
    private enum Owed: Equatable {
        case pong([UInt8])
        case close(UInt16)
        case nothing
    }

    private func owed(_ event: WebSocketEvent) -> Owed {
        switch event.requiredAnswer {
        case .pong(let payload): return .pong(payload.withUnsafeBytes { Array($0) })
        case .close(let code): return .close(code.rawValue)
        case nil: return .nothing
        }
    }

    @Test func pingIsAnsweredWithAPongOfItsOwnBytes() {
        let ping: [UInt8] = [1, 2, 3]
        let bytes = ping.span.bytes
        var pongOffsets: Range<Int>?
        if case .pong(let payload) = WebSocketEvent.ping(bytes).requiredAnswer {
            pongOffsets = bytes.byteOffsets(of: payload)
        }
        let answer = owed(.ping(bytes))
        #expect(answer == .pong([1, 2, 3]))
        #expect(pongOffsets == 0..<3)
    }

    @Test func closeIsEchoedWithThePeersCodeOr1000() {
        let echoed = owed(.close(code: .goingAway, reason: "bye"))
        let withoutCode = owed(.close(code: nil, reason: ""))
        #expect(echoed == .close(1001))
        #expect(withoutCode == .close(1000))
    }

    @Test func messagesAndPongsAreOwedNothing() {
        let payload: [UInt8] = Array("{}".utf8)
        let bytes = payload.span.bytes
        let answers = [owed(.text(bytes)), owed(.binary(bytes)), owed(.pong(bytes))]
        #expect(answers == [.nothing, .nothing, .nothing])
    }
}
