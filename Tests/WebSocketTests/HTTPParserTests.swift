/// HTTP/1.x request and response head parsing: complete, incomplete, over the
/// size limit and malformed heads; targets, queries and header lookup.
import Testing
import WebSocket

func parseRequest(_ text: String, maxHeaderBytes: Int = 8192) -> HTTPParseResult {
    HTTPRequestParser.parse(Array(text.utf8).span.bytes, maxHeaderBytes: maxHeaderBytes)
}

func requestHead(_ text: String) throws -> HTTPRequestHead {
    guard case .complete(let head, _) = parseRequest(text) else {
        throw ParseFailure(text: text)
    }
    return head
}

struct ParseFailure: Error {
    var text: String
}

@Suite struct HTTPRequestParserTests {
    @Test func parsesRequestLineHeadersAndQuery() throws {
        let text = "GET /ws/room?token=a%20b&name=x+y&flag&token=second HTTP/1.1\r\nHost: example.com\r\nX-Custom:  spaced value \t\r\n\r\nEXTRA"
        guard case .complete(let head, let consumed) = parseRequest(text) else {
            Issue.record("expected a complete head")
            return
        }
        #expect(consumed == text.utf8.count - 5)
        #expect(head.method == "GET")
        #expect(head.target == "/ws/room?token=a%20b&name=x+y&flag&token=second")
        #expect(head.path == "/ws/room")
        #expect(head.query == ["token": "a b", "name": "x y", "flag": ""])
        #expect(head.queryValue("missing") == nil)
        #expect(head.version == .http1_1)
        #expect(head.header("host") == "example.com")
        #expect(head.header("X-CUSTOM") == "spaced value")
        #expect(head.header("Absent") == nil)
    }

    @Test func pathWithoutQuery() throws {
        let head = try requestHead("GET /healthz HTTP/1.0\r\n\r\n")
        #expect(head.path == "/healthz")
        #expect(head.rawQuery == nil)
        #expect(head.query.isEmpty)
        #expect(head.version == .http1_0)
    }

    @Test(arguments: ["", "GET / HTTP/1.1", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"])
    func incompleteHeadWaitsForMore(text: String) {
        guard case .incomplete = parseRequest(text) else {
            Issue.record("expected incomplete for \(text.debugDescription)")
            return
        }
    }

    @Test func headOverTheLimitIsTooLarge() {
        let big = "GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 8300) + "\r\n\r\n"
        guard case .tooLarge = parseRequest(big) else {
            Issue.record("expected tooLarge")
            return
        }
        let unfinished = "GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 9000)
        guard case .tooLarge = parseRequest(unfinished) else {
            Issue.record("expected tooLarge before the head ends")
            return
        }
        let exact = "GET / HTTP/1.1\r\nA: b\r\n\r\n"
        guard case .complete = parseRequest(exact, maxHeaderBytes: exact.utf8.count) else {
            Issue.record("a head of exactly the limit must parse")
            return
        }
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET /  HTTP/1.1\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTX/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\u{1}\r\n\r\n",
        "\r\n\r\n",
    ])
    func malformedHeads(text: String) {
        guard case .malformed = parseRequest(text) else {
            Issue.record("expected malformed for \(text.debugDescription)")
            return
        }
    }
}

@Suite struct HTTPResponseParserTests {
    func parseResponse(_ text: String) -> HTTPResponseParseResult {
        HTTPResponseParser.parse(Array(text.utf8).span.bytes)
    }

    @Test func parsesStatusLineAndHeaders() {
        guard case .complete(let head, let consumed) = parseResponse("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") else {
            Issue.record("expected a complete head")
            return
        }
        #expect(consumed == 45)
        #expect(head.status == 404)
        #expect(head.reason == "Not Found")
        #expect(head.header("content-length") == "0")
    }

    @Test func rejectsBadStatusCode() {
        guard case .malformed = parseResponse("HTTP/1.1 20 OK\r\n\r\n") else {
            Issue.record("expected malformed")
            return
        }
    }

    @Test func encodedResponseParsesBack() {
        let encoded = HTTPResponse.encode(status: 200, headers: [("Content-Type", "text/plain")], body: bytes("ok"))
        let text = String(decoding: encoded, as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        let kept = String(decoding: HTTPResponse.encode(status: 204, keepAlive: true), as: UTF8.self)
        #expect(kept == "HTTP/1.1 204 No Content\r\n\r\n")
    }
}
