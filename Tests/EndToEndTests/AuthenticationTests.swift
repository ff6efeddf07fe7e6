// --auth jwt through the real gateway: where tokens come from, what a bad one gets, and what
// a token entitles its user to.
import Foundation
import Testing
import WebSocket

@Suite("Authentication and entitlements")
struct AuthenticationTests {
    /// The raw HTTP answer to an upgrade request carrying `headers` on `path`.
    private func upgradeAnswer(_ gateway: GatewayProcess, path: String = "/", headers: [(String, String)] = []) throws -> HTTPTestResponse {
        let request = WebSocketTestClient.upgradeRequest(
            port: gateway.port, path: path, key: WebSocketHandshake.makeClientKey(), headers: headers)
        return try HTTPTestClient.exchange(port: gateway.port, rawRequest: request)
    }

    /// Subscribes to the player's own result and publishes an answer as itself.
    private func expectPlayerWorks(_ client: WebSocketTestClient, _ user: String) throws {
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/question","/result/\#(user)"]}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 1))
        try client.send(text: #"{"op":"pub","id":2,"subject":"/answer/\#(user)","data":{"answer":1}}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 2))
    }

    @Test("a token in the Authorization header, the token query parameter or an auth message is accepted")
    func tokenFromEveryPlace() throws {
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(tokens.gatewayArguments)
        let header = try WebSocketTestClient(port: gateway.port, headers: [("Authorization", "Bearer \(tokens.player("alice"))")])
        try expectPlayerWorks(header, "alice")
        let query = try WebSocketTestClient(port: gateway.port, path: "/?token=\(tokens.player("bob"))")
        try expectPlayerWorks(query, "bob")
        let message = try WebSocketTestClient(port: gateway.port)
        try message.send(text: #"{"op":"auth","id":9,"token":"\#(tokens.player("carol"))"}"#)
        #expect(try message.receiveMessage().kind == .ok(id: 9))
        try expectPlayerWorks(message, "carol")
        try gateway.stop()
    }

    @Test("forged, expired and malformed tokens at the handshake get 401 with the reason")
    func badTokensAtHandshake() throws {
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(tokens.gatewayArguments)
        let forged = tokens.token(
            ["sub": "alice", "exp": Int(Date().timeIntervalSince1970) + 60],
            signedWith: Array("somebody-else-s-secret-also-32-bytes".utf8))
        let cases: [(token: String, reason: String)] = [
            (forged, "signature does not verify"),
            (tokens.player("alice", expiresIn: -10), "token expired"),
            ("not-a-token", "malformed token"),
        ]
        for (token, reason) in cases {
            let byHeader = try upgradeAnswer(gateway, headers: [("Authorization", "Bearer \(token)")])
            #expect(byHeader.status == 401)
            #expect(byHeader.body.contains(reason), "\(byHeader)")
            #expect(byHeader.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            let byQuery = try upgradeAnswer(gateway, path: "/?token=\(token)")
            #expect(byQuery.status == 401)
            #expect(byQuery.body.contains(reason), "\(byQuery)")
        }
        #expect(try gateway.errorCount(kind: "unauthorized") == 6)
        try gateway.stop()
    }

    @Test("without a token, any request but auth closes the connection with 1008")
    func missingToken() throws {
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(tokens.gatewayArguments)
        let client = try WebSocketTestClient(port: gateway.port)
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/question"]}"#)
        let frame = try client.receiveFrame()
        guard case .close(let code, let reason) = frame else {
            Issue.record("expected a close frame, got \(frame)")
            return
        }
        #expect(code == 1008)
        #expect(reason.contains("authenticate first"))
        try client.waitUntilClosed()
        try gateway.stop()
    }

    @Test("a bad token in an auth message closes with 1008 and the reason")
    func badTokenInAuthMessage() throws {
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(tokens.gatewayArguments)
        let client = try WebSocketTestClient(port: gateway.port)
        try client.send(text: #"{"op":"auth","id":1,"token":"\#(tokens.player("alice", expiresIn: -5))"}"#)
        let frame = try client.receiveFrame()
        guard case .close(let code, let reason) = frame else {
            Issue.record("expected a close frame, got \(frame)")
            return
        }
        #expect(code == 1008)
        #expect(reason.contains("token expired"))
        try gateway.stop()
    }

    @Test("no auth message within the handshake timeout closes with 1008")
    func authMessageTimeout() throws {
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(tokens.gatewayArguments + ["--handshake-timeout", "1"])
        let client = try WebSocketTestClient(port: gateway.port)
        let frame = try client.receiveFrame(timeout: .seconds(15))
        #expect(frame == .close(code: 1008, reason: "no auth message in time"))
        try gateway.stop()
    }

    @Test("answering or subscribing as another user is forbidden and counted; the connection stays usable")
    func actingAsAnotherUserIsForbidden() throws {
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(tokens.gatewayArguments)
        let alice = try WebSocketTestClient(port: gateway.port, headers: [("Authorization", "Bearer \(tokens.player("alice"))")])
        try alice.send(text: #"{"op":"pub","id":1,"subject":"/answer/bob","data":{"answer":2}}"#)
        let refusedPub = try alice.receiveMessage()
        guard case .err(let id, let code, _) = refusedPub.kind else {
            Issue.record("expected err, got \(refusedPub)")
            return
        }
        #expect(id == 1)
        #expect(code == "forbidden")
        try alice.send(text: #"{"op":"sub","id":2,"subjects":["/question","/result/bob"]}"#)
        guard case .err(2, "forbidden", let message) = try alice.receiveMessage().kind else {
            Issue.record("subscribing to bob's results was not refused")
            return
        }
        #expect(message.contains("/result/bob"))
        try expectPlayerWorks(alice, "alice")
        #expect(try gateway.errorCount(kind: "forbidden") == 2)
        try gateway.stop()
    }

    @Test("a token that expires while connected gets token_expiring, then close 1008")
    func expiryWhileConnected() throws {
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(tokens.gatewayArguments + ["--token-expiry-warning", "2", "--idle-timeout", "0"])
        let client = try WebSocketTestClient(port: gateway.port, headers: [("Authorization", "Bearer \(tokens.player("alice", expiresIn: 3))")])
        try expectWarnedThenClosed(client)
        try gateway.stop()
    }

    @Test("a renewed token that expires sooner than the first is warned and closed at its own expiry")
    func renewalToAShorterToken() throws {
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(tokens.gatewayArguments + ["--token-expiry-warning", "2", "--idle-timeout", "0"])
        let client = try WebSocketTestClient(port: gateway.port, headers: [("Authorization", "Bearer \(tokens.player("alice", expiresIn: 3600))")])
        // The scenario needs the connection's first check (a second after the upgrade) behind it,
        // so that the gateway has planned the next one by the first token.
        Thread.sleep(forTimeInterval: 2.5)
        try client.send(text: #"{"op":"auth","id":1,"token":"\#(tokens.player("alice", expiresIn: 4))"}"#)
        guard case .ok(id: 1) = try client.receiveMessage(timeout: .seconds(10)).kind else {
            Issue.record("expected the renewal's ok")
            return
        }
        // The first token's check was planned an hour out; the renewal must bring it forward.
        try expectWarnedThenClosed(client)
        try gateway.stop()
    }

    /// What a client whose token runs out gets: token_expiring (no id), then close 1008.
    private func expectWarnedThenClosed(_ client: WebSocketTestClient) throws {
        let warning = try client.receiveMessage(timeout: .seconds(15))
        guard case .err(nil, "token_expiring", _) = warning.kind else {
            Issue.record("expected err token_expiring without id, got \(warning)")
            return
        }
        #expect(try client.receiveFrame(timeout: .seconds(15)) == .close(code: 1008, reason: "token expired"))
    }
}
