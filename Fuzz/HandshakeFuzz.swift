/// libFuzzer entry point for HTTP head parsing and the handshake: arbitrary bytes as
/// a request and as a response must parse without crashing within the limit, and
/// every upgrade the server grants must be accepted by the client side.
/// Built by Fuzz/fuzz.mk together with the WebSocket sources (one module).

@_cdecl("LLVMFuzzerTestOneInput")
public func handshakeFuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let limit = 1024
    switch HTTPRequestParser.parse(input.bytes, maxHeaderBytes: limit) {
    case .complete(let head, let consumed):
        precondition(consumed > 0 && consumed <= min(count, limit), "request head consumed \(consumed) of \(count)")
        checkServerDecision(head)
    case .incomplete:
        precondition(count < limit, "incomplete although the limit was reached")
    case .tooLarge, .malformed:
        break
    }
    if case .complete(let head, let consumed) = HTTPResponseParser.parse(input.bytes, maxHeaderBytes: limit) {
        precondition(consumed > 0 && consumed <= min(count, limit), "response head consumed \(consumed) of \(count)")
        precondition((0...999).contains(head.status), "status \(head.status)")
        _ = try? WebSocketHandshake.validateServerResponse(head, key: head.header("Sec-WebSocket-Accept") ?? "")
    }
    return 0
}

private func checkServerDecision(_ head: HTTPRequestHead) {
    _ = head.query
    // With compression the Sec-WebSocket-Extensions header is parsed and negotiated too.
    switch WebSocketHandshake.evaluate(head, compression: true) {
    case .upgrade(let response, let subprotocol, let deflate):
        precondition(!deflate || String(decoding: response, as: UTF8.self).contains("permessage-deflate"),
                     "deflate agreed without saying so")
        let key = head.header("Sec-WebSocket-Key") ?? ""
        guard case .complete(let responseHead, let consumed) = HTTPResponseParser.parse(response.span.bytes) else {
            preconditionFailure("server wrote an unparseable 101")
        }
        precondition(consumed == response.count, "101 response has trailing bytes")
        do {
            let chosen = try WebSocketHandshake.validateServerResponse(responseHead, key: key, offeredSubprotocol: subprotocol)
            precondition(chosen == subprotocol, "client saw \(String(describing: chosen)), server chose \(String(describing: subprotocol))")
        } catch {
            preconditionFailure("client refused the server's 101: \(error)")
        }
    case .reject(let status, let reason):
        precondition(status == 400 || status == 426, "unexpected rejection status \(status)")
        let response = WebSocketHandshake.rejectionResponse(status: status, reason: reason)
        guard case .complete = HTTPResponseParser.parse(response.span.bytes, maxHeaderBytes: 1 << 20) else {
            preconditionFailure("rejection response is not valid HTTP")
        }
    case .notWebSocket:
        break
    }
}
