/// Replays the fuzz seeds (Fuzz/corpus) and every input that once crashed a fuzzer
/// (Fuzz/regressions) through the same checks as the fuzz entry points, so a fixed
/// crash stays fixed without running libFuzzer.
import Foundation
import Testing
import WebSocket

@Suite struct FuzzInputReplayTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ target: String) -> [(name: String, bytes: [UInt8])] {
        ["corpus", "regressions"].flatMap { kind -> [(name: String, bytes: [UInt8])] in
            let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.sorted().compactMap { name in
                guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
                    return nil
                }
                return ("\(kind)/\(name)", [UInt8](data))
            }
        }
    }

    @Test func frameReaderInputs() {
        let inputs = Self.inputs("FrameReaderFuzz")
        #expect(!inputs.isEmpty, "no seeds found under \(Self.fuzzDirectory.path)")
        for (name, input) in inputs where !input.isEmpty {
            // Same decoding of the control byte as Fuzz/FrameReaderFuzz.swift.
            let control = input[0]
            let stream = Array(input.dropFirst())
            let limits = [0, 1, 125, 126, 300, 65536]
            let maxMessageBytes = limits[Int(control >> 1) % limits.count]
            let chunk = Int(control >> 4) + 1
            let log = read(
                stream, role: control & 1 == 0 ? .server : .client, maxMessageBytes: maxMessageBytes,
                chunkSizes: Array(repeating: chunk, count: stream.count / chunk + 1))
            #expect(log.unconsumed <= stream.count, "\(name)")
            for event in log.events {
                switch event {
                case .text(let text): #expect(text.utf8.count <= maxMessageBytes, "\(name)")
                case .binary(let payload): #expect(payload.count <= maxMessageBytes, "\(name)")
                case .ping(let payload), .pong(let payload): #expect(payload.count <= 125, "\(name)")
                case .close(let code, _): #expect(code.map { CloseCode(rawValue: $0).isAllowedOnWire } ?? true, "\(name)")
                }
            }
            #expect(roundTrip(stream, fragmentSize: chunk) == [.ping([1, 2, 3]), .binary(stream)], "\(name)")
            let expectedValid = String(decoding: stream, as: UTF8.self).utf8.elementsEqual(stream)
            #expect(IncrementalUTF8Validator.isValid(stream.span.bytes) == expectedValid, "\(name)")
        }
    }

    /// Mirrors checkRoundTrip in Fuzz/FrameReaderFuzz.swift.
    func roundTrip(_ message: [UInt8], fragmentSize: Int) -> [Received] {
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
                opcode: opcode, payload: Array(message[start..<end]), fin: end == message.count,
                maskKey: UInt32(end) &* 0x9E37_79B9)
            start = end
        } while start < message.count
        return read(wire, maxMessageBytes: message.count).events
    }

    @Test func handshakeInputs() throws {
        let inputs = Self.inputs("HandshakeFuzz")
        #expect(!inputs.isEmpty, "no seeds found under \(Self.fuzzDirectory.path)")
        for (name, input) in inputs {
            let parsed = HTTPRequestParser.parse(input.span.bytes, maxHeaderBytes: 1024)
            if case .complete(let head, let consumed) = parsed {
                #expect(consumed <= input.count, "\(name)")
                if case .upgrade(let response, let subprotocol, _) = WebSocketHandshake.evaluate(head) {
                    let key = head.header("Sec-WebSocket-Key") ?? ""
                    guard case .complete(let responseHead, _) = HTTPResponseParser.parse(response.span.bytes) else {
                        Issue.record("\(name): unparseable 101")
                        continue
                    }
                    #expect(
                        try WebSocketHandshake.validateServerResponse(responseHead, key: key, offeredSubprotocol: subprotocol)
                            == subprotocol, "\(name)")
                }
            }
            if case .complete(_, let consumed) = HTTPResponseParser.parse(input.span.bytes, maxHeaderBytes: 1024) {
                #expect(consumed <= input.count, "\(name)")
            }
        }
    }
}
