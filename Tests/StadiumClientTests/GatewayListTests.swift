// Gateway URLs: parsed for connecting, tried in turn.
@testable import StadiumClient
import Testing

@Suite("Gateway list")
struct GatewayListTests {
    @Test("URLs are tried in turn, starting over after the last")
    func roundRobin() throws {
        var list = try GatewayList(["ws://a:8080/", "ws://b:8080/"])
        var tried: [String] = []
        for _ in 0..<5 { tried.append(list.next().host) }
        #expect(tried == ["a", "b", "a", "b", "a"])
    }

    @Test("a URL gives host, port, request target and Host header")
    func urlParts() throws {
        let plain = try GatewayURL("ws://127.0.0.1:18080/")
        #expect((plain.host, plain.port, plain.target, plain.hostHeader) == ("127.0.0.1", 18080, "/", "127.0.0.1:18080"))
        let defaults = try GatewayURL("ws://stadium.example.com")
        #expect((defaults.port, defaults.target, defaults.hostHeader) == (80, "/", "stadium.example.com"))
        let query = try GatewayURL("ws://h:1/stadium?token=abc.def")
        #expect(query.target == "/stadium?token=abc.def")
    }

    @Test("unusable URLs are refused with bad_url")
    func badURLs() {
        for text in ["", "127.0.0.1:8080", "http://h/", "wss://h/", "ws:///path"] {
            #expect(throws: StadiumError.self, "\(text)") { try GatewayURL(text) }
        }
        let empty = #expect(throws: StadiumError.self) { try GatewayList([]) }
        #expect(empty?.code == .badURL)
    }
}
