import LoadGenerator
import Testing

@Suite struct GatewayURLTests {
    @Test func readsHostPortAndPath() throws {
        let url = try GatewayURL(parsing: "ws://127.0.0.1:8080/play")
        #expect(url == GatewayURL(host: "127.0.0.1", port: 8080, path: "/play"))
        #expect(url.hostHeader == "127.0.0.1:8080")
    }

    @Test func localhostAndAMissingPathMeanLoopbackAndSlash() throws {
        #expect(try GatewayURL(parsing: "ws://localhost:9000") == GatewayURL(host: "127.0.0.1", port: 9000, path: "/"))
    }

    @Test func refusesWhatItCannotConnectTo() {
        #expect(throws: GatewayURL.ParseError.self) { try GatewayURL(parsing: "http://127.0.0.1:8080/") }
        #expect(throws: GatewayURL.ParseError.self) { try GatewayURL(parsing: "ws://127.0.0.1:0/") }
        #expect(throws: GatewayURL.ParseError.self) { try GatewayURL(parsing: "ws://example.com:80/") }
    }

    @Test func ringsHoldAtMostTheirSlotsAndShareConnectionsEvenly() {
        #expect(LoadConfiguration.ringCount(connections: 20_000, slotsPerRing: 19_000) == 2)
        #expect(LoadConfiguration.ringCount(connections: 19_000, slotsPerRing: 19_000) == 1)
        let perRing = (0..<3).map { LoadConfiguration.connections(onRing: $0, of: 3, total: 10) }
        #expect(perRing == [4, 3, 3])
        #expect(LoadConfiguration.connections(onRing: 2, of: 3, total: 2) == 0)
    }
}
