// StadiumClient against a gateway running --auth jwt: tokens from tokenProvider at connect and on
// token_expiring, refused tokens, and what a token forbids.
import StadiumClient
import Synchronization
import Testing

@Suite("Client authentication")
struct AuthenticationClientTests {
    private let warningSeconds = 3

    /// Runs `body` with a gateway that checks tokens and warns `warningSeconds` before expiry.
    private func withJWTGateway(_ body: (Stack, Gateway, Tokens) async throws -> Void) async throws {
        let tokens = try Tokens()
        defer { tokens.remove() }
        try await Stack.run { stack in
            let gateway = try await stack.gateway(tokens.gatewayArguments + ["--token-expiry-warning", "\(warningSeconds)"])
            try await body(stack, gateway, tokens)
        }
    }

    @Test("on token_expiring the client renews its token and stays connected", .timeLimit(.minutes(2)))
    func renewsOnTokenExpiring() async throws {
        try await withJWTGateway { stack, gateway, tokens in
            // Both start with a token that expires within the warning time, so token_expiring comes at once.
            let lifetime = warningSeconds + 2
            let provided = Mutex(0)
            let renewing = try stack.client("renewing", urls: [gateway.url], tokenProvider: {
                let call = provided.withLock { count in
                    count += 1
                    return count
                }
                return tokens.token("alice", lifetime: call == 1 ? lifetime : 600)
            })
            let fixed = try stack.client("fixed", urls: [gateway.url], token: tokens.token("bob", lifetime: lifetime))
            try await renewing.live()
            try await fixed.live()

            try await fixed.errors.until("the fixed-token client to be warned") { $0.contains { $0.code == .tokenExpiring } }
            // The control: a token nobody renews ends the connection at its expiry.
            let dropped = try await fixed.statuses.until("the fixed-token client to be closed at expiry", timeout: .seconds(lifetime + 10)) {
                $0.contains { $0.state == .reconnecting }
            }.first { $0.state == .reconnecting }
            #expect(dropped?.closeCode == 1008)
            #expect(dropped?.closeReason?.contains("token expired") == true, "\(String(describing: dropped))")
            await fixed.client.close()

            #expect(provided.withLock { $0 } == 2, "tokenProvider should be called at connect and once on token_expiring")
            try await renewing.client.publish("/room/1", json: Array("\"after the first token expired\"".utf8))
            #expect(renewing.statuses.events.map(\.state) == [.connecting, .live])
            #expect(renewing.errors.events.isEmpty)
        }
    }

    @Test("a token the gateway refuses is replaced by the next tokenProvider call", .timeLimit(.minutes(2)))
    func refusedTokenIsReplaced() async throws {
        try await withJWTGateway { stack, gateway, tokens in
            let provided = Mutex(0)
            let carol = try stack.client("carol", urls: [gateway.url], tokenProvider: {
                let call = provided.withLock { count in
                    count += 1
                    return count
                }
                // The first token is signed with another secret.
                return tokens.token("carol", lifetime: 600, signedWith: call == 1 ? Array("not the gateway's secret, but long enough".utf8) : nil)
            })
            try await carol.live()
            let refused = carol.statuses.events.first { $0.state == .reconnecting }
            #expect(refused?.closeCode == 1008)
            #expect(refused?.closeReason?.contains("signature") == true, "\(String(describing: refused))")
            #expect(provided.withLock { $0 } == 2)
            try await carol.client.publish("/room/1", json: Array("\"authenticated\"".utf8))
        }
    }

    @Test("a connection whose token does not come in time is given up on and tried again", .timeLimit(.minutes(2)))
    func slowTokenProviderTimesOut() async throws {
        try await withJWTGateway { stack, gateway, tokens in
            let provided = Mutex(0)
            let release = EventLog<Bool>("release of the first token request")
            let erin = try stack.client("erin", urls: [gateway.url], tokenProvider: {
                let call = provided.withLock { count in
                    count += 1
                    return count
                }
                // The first request hangs until the test ends; the second answers at once.
                if call == 1 { try await release.until("the test to end", timeout: .seconds(100)) { !$0.isEmpty } }
                return tokens.token("erin", lifetime: 600)
            }, connectTimeout: .seconds(1))
            defer { release.append(true) }
            try await erin.live()
            let gaveUp = try #require(erin.statuses.events.first { $0.state == .reconnecting })
            #expect(gaveUp.closeReason?.contains("not live within") == true, "\(gaveUp)")
            #expect(provided.withLock { $0 } == 2)
            try await erin.client.publish("/room/1", json: Array("\"late but in\"".utf8))
        }
    }

    @Test("what the token does not allow is refused with forbidden", .timeLimit(.minutes(2)))
    func forbidden() async throws {
        try await withJWTGateway { stack, gateway, tokens in
            let dave = try stack.client("dave", urls: [gateway.url], token: tokens.token("dave", lifetime: 600))
            let other = await dave.subscribe("/result/erin")
            let own = await dave.subscribe("/result/dave")
            try await dave.live()
            let refusal = try await other.ends.until("the refusal") { !$0.isEmpty }
            #expect(refusal.first??.code == .forbidden)
            #expect(refusal.first??.subject == "/result/erin")
            let pub = await #expect(throws: StadiumError.self) {
                try await dave.client.publish("/answer/dave", json: Array("1".utf8))
            }
            #expect(pub?.code == .forbidden)
            #expect(pub?.subject == "/answer/dave")
            try await dave.client.publish("/room/7", json: Array("1".utf8))
            #expect(own.ends.events.isEmpty, "the allowed subscription goes on")
        }
    }
}
