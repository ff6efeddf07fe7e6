// Ping and the close handshake against the real gateway.
import Testing

@Suite("Control frames")
struct ControlFrameTests {
    @Test("a ping is answered with a pong carrying the same payload")
    func pingGetsPong() throws {
        let gateway = try GatewayProcess()
        let client = try WebSocketTestClient(port: gateway.port)
        let payload = Array("are you there? 🏟".utf8)
        try client.send(opcode: .ping, payload: payload)
        #expect(try client.receiveFrame() == .pong(payload))
        try gateway.stop()
    }

    @Test("a client close 1000 is answered with close 1000, then the connection ends")
    func closeHandshake() throws {
        let gateway = try GatewayProcess()
        let client = try WebSocketTestClient(port: gateway.port)
        try client.sendClose(code: .normalClosure)
        #expect(try client.receiveClose() == 1000)
        try client.waitUntilClosed()
        try gateway.stop()
    }
}
