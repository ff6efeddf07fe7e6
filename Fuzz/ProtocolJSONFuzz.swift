/// libFuzzer entry point for protocol v1 JSON: arbitrary bytes as a client request and as a
/// server message must parse without crashing; every request that parses must survive a
/// round trip through ClientRequestEncoder unchanged, and every refusal must encode to
/// exactly the length its err message announces.
/// Built by Fuzz/fuzz.mk together with the StadiumProtocol sources (one module).

@_cdecl("LLVMFuzzerTestOneInput")
public func protocolJSONFuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    switch ClientRequestParser.parse(input.bytes) {
    case .success(let request):
        checkRoundTrip(request, input)
    case .failure(let error):
        checkErrorEncoding(error)
    }
    _ = ServerMessageParser.parse(input.bytes)
    return 0
}

/// A function of its own: a span of `encoded`, assigned in a switch, is refused as escaping there.
private func reparse(_ encoded: [UInt8]) -> Result<ClientRequest, ProtocolError> {
    ClientRequestParser.parse(encoded.span.bytes)
}

private func checkRoundTrip(_ request: ClientRequest, _ input: UnsafeRawBufferPointer) {
    let encoded: [UInt8]
    switch request {
    case .sub(let id, let subjects, let since, let cursors):
        encoded = ClientRequestEncoder.sub(id: id, subjects: subjects, since: since, cursors: cursors)
    case .unsub(let id, let subjects):
        encoded = ClientRequestEncoder.unsub(id: id, subjects: subjects)
    case .pub(let id, let subject, let data):
        encoded = ClientRequestEncoder.pub(id: id, subject: subject, data: Array(input[data]))
    case .auth(let id, let token):
        encoded = ClientRequestEncoder.auth(id: id, token: token)
    }
    let reparsed = reparse(encoded)
    guard case .success(let again) = reparsed else {
        preconditionFailure("re-encoded request does not parse: \(String(decoding: encoded, as: UTF8.self))")
    }
    switch (request, again) {
    case (.pub(let id, let subject, let data), .pub(let id2, let subject2, let data2)):
        precondition(id == id2 && subject == subject2, "pub id or subject changed")
        precondition(input[data].elementsEqual(encoded[data2]), "pub data changed")
    default:
        precondition(request == again, "round trip changed \(request) into \(again)")
    }
}

private func checkErrorEncoding(_ error: ProtocolError) {
    let length = ServerMessageEncoder.errLength(for: error)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 1)
    defer { buffer.deallocate() }
    let written = ServerMessageEncoder.writeErr(for: error, into: buffer)
    precondition(written == length, "err wrote \(String(describing: written)) of \(length) bytes")
    guard case .success(.err) = ServerMessageParser.parse(UnsafeRawBufferPointer(buffer).bytes) else {
        preconditionFailure("our own err message does not parse")
    }
}
