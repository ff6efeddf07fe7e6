/// libFuzzer entry point for the frame reader. The first input byte picks the role,
/// the message limit and how the rest is cut into reads; the reader must never
/// crash, consume more than it was given, or hand out text that is not UTF-8, with
/// permessage-deflate agreed or not (inflated messages within the limit too).
/// Built by Fuzz/fuzz.mk together with the WebSocket sources (one module).

@_cdecl("LLVMFuzzerTestOneInput")
public func frameReaderFuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: start, count: count))
    let control = input[0]
    let stream = Array(input.dropFirst())
    checkValidatorAgainstStandardLibrary(stream)
    let role: WebSocketRole = control & 1 == 0 ? .server : .client
    let limits = [0, 1, 125, 126, 300, 65536]
    let maxMessageBytes = limits[Int(control >> 1) % limits.count]
    let chunk = Int(control >> 4) + 1
    readInChunks(stream, role: role, maxMessageBytes: maxMessageBytes, chunk: chunk)
    readInChunks(stream, role: role, maxMessageBytes: maxMessageBytes, chunk: chunk, inflates: true)
    checkRoundTrip(stream, fragmentSize: chunk)
    checkCompressedRoundTrip(stream, fragmentSize: chunk)
    return 0
}

/// Encodes `message` as masked binary fragments with a ping before the last one; the
/// reader must give back the ping and the message unchanged.
private func checkRoundTrip(_ message: [UInt8], fragmentSize: Int) {
    var wire: [UInt8] = []
    var start = 0
    repeat {
        let end = min(start + fragmentSize, message.count)
        let opcode: WebSocketOpcode = start == 0 ? .binary : .continuation
        if end == message.count {
            // A control frame before the final fragment: interleaved when fragmented.
            wire += FrameEncoder.frame(opcode: .ping, payload: [1, 2, 3], maskKey: 0x0102_0304)
        }
        wire += FrameEncoder.frame(
            opcode: opcode, payload: Array(message[start..<end]), fin: end == message.count, maskKey: UInt32(end) &* 0x9E37_79B9)
        start = end
    } while start < message.count
    var reader = WebSocketReader(role: .server, maxMessageBytes: message.count)
    var received: [[UInt8]] = []
    let outcome = wire.withUnsafeMutableBytes { buffer in
        reader.consume(buffer) { event in
            switch event {
            case .binary(let payload), .ping(let payload): received.append(payload.withUnsafeBytes { Array($0) })
            case .text, .pong, .close: preconditionFailure("unexpected \(kind(of: event)) event")
            }
        }
    }
    precondition(outcome == .consumed(wire.count), "round trip outcome \(outcome)")
    precondition(received == [[1, 2, 3], message], "round trip changed the message")
}

/// The message compressed as a client would, cut into masked fragments (RSV1 on the first);
/// the reader must inflate it back unchanged.
private func checkCompressedRoundTrip(_ message: [UInt8], fragmentSize: Int) {
    guard let compressed = deflater.compress(message.span.bytes, { $0.withUnsafeBytes { Array($0) } }) else { return }
    var wire: [UInt8] = []
    var start = 0
    repeat {
        let end = min(start + fragmentSize, compressed.count)
        wire += FrameEncoder.frame(
            opcode: start == 0 ? .binary : .continuation, payload: Array(compressed[start..<end]),
            fin: end == compressed.count, compressed: start == 0, maskKey: UInt32(end) &* 0x9E37_79B9)
        start = end
    } while start < compressed.count
    var reader = WebSocketReader(role: .server, maxMessageBytes: 65536)
    reader.inflatesMessages = true
    var received: [[UInt8]] = []
    let outcome = wire.withUnsafeMutableBytes { buffer in
        reader.consume(buffer, inflater: inflater) { event in
            guard case .binary(let payload) = event else { preconditionFailure("unexpected \(kind(of: event)) event") }
            received.append(payload.withUnsafeBytes { Array($0) })
        }
    }
    precondition(outcome == .consumed(wire.count), "compressed round trip outcome \(outcome)")
    precondition(received == [message], "compressed round trip changed the message")
}

/// One of each for every input: zlib's state is reset per message, as on a ring.
private let deflater = MessageDeflater()!
private let inflater = MessageInflater(limit: 65536)!

/// Feeds `stream` like a connection: append a chunk, consume, keep the tail.
private func readInChunks(_ stream: [UInt8], role: WebSocketRole, maxMessageBytes: Int, chunk: Int, inflates: Bool = false) {
    var reader = WebSocketReader(role: role, maxMessageBytes: maxMessageBytes)
    reader.inflatesMessages = inflates
    var pending: [UInt8] = []
    var offset = 0
    while offset < stream.count {
        let end = min(offset + chunk, stream.count)
        pending.append(contentsOf: stream[offset..<end])
        offset = end
        let outcome = pending.withUnsafeMutableBytes { buffer in
            reader.consume(buffer, inflater: inflater) { event in
                check(event, within: UnsafeRawBufferPointer(buffer), maxMessageBytes: maxMessageBytes)
            }
        }
        switch outcome {
        case .consumed(let used):
            precondition(used >= 0 && used <= pending.count, "consumed \(used) of \(pending.count) bytes")
            pending.removeFirst(used)
        case .fail:
            return
        }
    }
}

/// The event's kind, for a failure message (an event is ~Escapable: it cannot be interpolated).
private func kind(of event: WebSocketEvent) -> String {
    switch event {
    case .text: return "text"
    case .binary: return "binary"
    case .ping: return "ping"
    case .pong: return "pong"
    case .close: return "close"
    }
}

private func check(_ event: WebSocketEvent, within input: UnsafeRawBufferPointer, maxMessageBytes: Int) {
    switch event {
    case .text(let payload):
        precondition(payload.byteCount <= maxMessageBytes, "text over the limit")
        let valid = payload.withUnsafeBytes { String(decoding: $0, as: UTF8.self).utf8.elementsEqual($0) }
        precondition(valid, "invalid UTF-8 delivered")
    case .binary(let payload):
        precondition(payload.byteCount <= maxMessageBytes, "binary over the limit")
    case .ping(let payload), .pong(let payload):
        precondition(payload.byteCount <= 125, "control payload over 125 bytes")
        let inside = payload.isEmpty || input.bytes.byteOffsets(of: payload) != nil
        precondition(inside, "control payload outside the input")
    case .close(let code, let reason):
        precondition(code.map(\.isAllowedOnWire) ?? true, "close code \(String(describing: code)) passed through")
        precondition(reason.utf8.count <= 123, "close reason too long")
    }
}

/// Differential check: the incremental validator agrees with the standard library,
/// whole and when cut in two.
private func checkValidatorAgainstStandardLibrary(_ bytes: [UInt8]) {
    let expected = String(decoding: bytes, as: UTF8.self).utf8.elementsEqual(bytes)
    let whole = IncrementalUTF8Validator.isValid(bytes.span.bytes)
    precondition(whole == expected, "validator says \(whole), standard library \(expected)")
    let cut = bytes.count / 2
    var validator = IncrementalUTF8Validator()
    let head = bytes[..<cut]
    let tail = bytes[cut...]
    let first = validator.feed(head.span.bytes)
    let second = validator.feed(tail.span.bytes)
    precondition((first && second && validator.isComplete) == expected, "chunked validation disagrees")
}
