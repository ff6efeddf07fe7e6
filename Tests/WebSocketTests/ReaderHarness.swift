/// Test support: feeds bytes to a `WebSocketReader` the way a connection would
/// (chunk by chunk, keeping the unconsumed tail) and records owned copies of events.
import WebSocket

enum Received: Equatable {
    case text(String)
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, String)

    init(_ event: WebSocketEvent) {
        switch event {
        case .text(let bytes): self = .text(bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        case .binary(let bytes): self = .binary(bytes.withUnsafeBytes { Array($0) })
        case .ping(let bytes): self = .ping(bytes.withUnsafeBytes { Array($0) })
        case .pong(let bytes): self = .pong(bytes.withUnsafeBytes { Array($0) })
        case .close(let code, let reason): self = .close(code?.rawValue, reason)
        }
    }
}

struct ReadLog {
    var events: [Received] = []
    var failure: CloseCode?
    var failureReason: String?
    /// Bytes received but not consumed when the input ran out.
    var unconsumed: Int = 0
}

/// Reads `bytes` delivered in chunks of the given sizes (the rest in one last chunk).
func read(
    _ bytes: [UInt8],
    role: WebSocketRole = .server,
    maxMessageBytes: Int = 1 << 20,
    chunkSizes: [Int] = []
) -> ReadLog {
    var reader = WebSocketReader(role: role, maxMessageBytes: maxMessageBytes)
    var log = ReadLog()
    var pending: [UInt8] = []
    var chunks: [ArraySlice<UInt8>] = []
    var start = 0
    for size in chunkSizes where start < bytes.count {
        let end = min(start + size, bytes.count)
        chunks.append(bytes[start..<end])
        start = end
    }
    chunks.append(bytes[start...])
    for chunk in chunks {
        pending.append(contentsOf: chunk)
        let outcome = pending.withUnsafeMutableBytes { buffer in
            reader.consume(buffer) { log.events.append(Received($0)) }
        }
        switch outcome {
        case .consumed(let count):
            pending.removeFirst(count)
        case .fail(let code, let reason):
            log.failure = code
            log.failureReason = reason
            return log
        }
    }
    log.unconsumed = pending.count
    return log
}

/// A client-to-server frame, masked with a fixed key.
func clientFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
    FrameEncoder.frame(opcode: opcode, payload: payload, fin: fin, maskKey: 0x1234_5678)
}

func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}
