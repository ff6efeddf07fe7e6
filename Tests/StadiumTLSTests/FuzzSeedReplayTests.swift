/// Replays Fuzz/corpus/TLSRecordFuzz and Fuzz/regressions/TLSRecordFuzz with the same decoding
/// of the control byte as Fuzz/TLSRecordFuzz.swift, so a fixed crash stays fixed without libFuzzer.
import Foundation
import Testing

@testable import StadiumTLS

@Suite struct FuzzSeedReplayTests {
    static let target = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs() -> [(name: String, bytes: [UInt8])] {
        ["corpus", "regressions"].flatMap { kind in
            let directory = target.appendingPathComponent(kind).appendingPathComponent("TLSRecordFuzz")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.sorted().compactMap { name in
                FileManager.default.contents(atPath: directory.appendingPathComponent(name).path).map { ("\(kind)/\(name)", [UInt8]($0)) }
            }
        }
    }

    @Test func seedsOpenAsTheFuzzerOpensThem() throws {
        let crypto = try TLSRecordCrypto()
        let inputs = Self.inputs()
        #expect(inputs.count >= 7, "seeds under \(Self.target.path)")
        var outcomes: [String: Result<[UInt8], TLSRecordError>] = [:]
        for (name, input) in inputs where !input.isEmpty {
            let control = input[0]
            let suite = TLS13CipherSuite.allCases[Int(control >> 1 & 3) % 3]
            let role: TLSRole = control & 1 == 0 ? .server : .client
            let secrets = ([UInt8](repeating: 1, count: suite.hashLength), [UInt8](repeating: 2, count: suite.hashLength))
            var opener = try TLS13RecordState(suite: suite, role: role, clientSecret: secrets.0, serverSecret: secrets.1)
            var stream = Array(input.dropFirst())
            if control & 8 != 0 {
                var sealer = try TLS13RecordState(
                    suite: suite, role: role == .server ? .client : .server, clientSecret: secrets.0, serverSecret: secrets.1)
                stream = try segments(stream).flatMap { type, content in try sealRaw(&sealer, content, type, crypto) }
            }
            do {
                outcomes[name] = .success(try openAll(&opener, stream, crypto, chunk: Int(control >> 4) * 97 + 1).data)
            } catch let error as TLSRecordError {
                outcomes[name] = .failure(error)
            }
        }
        // The seeds' meaning, so a change in the record layer shows here first.
        #expect(try outcomes["corpus/sealed-data"]?.get() == Array("helloabc".utf8))
        #expect(try outcomes["corpus/sealed-padding"]?.get() == Array("a".utf8))
        #expect(try outcomes["corpus/sealed-ticket-split"]?.get() == Array("x".utf8))
        #expect(outcomes["corpus/plain-http"] == .failure(.notTLS))
        #expect(outcomes["corpus/raw-record-header"] == .failure(.badRecordMAC))
        #expect(outcomes["corpus/sealed-key-update"] == .failure(.badRecordMAC))
    }

    /// [length, inner type, content...] as in the fuzzer's sealed mode.
    private func segments(_ bytes: [UInt8]) -> [(UInt8, [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        var index = 0
        while index + 2 <= bytes.count {
            let length = min(Int(bytes[index]), bytes.count - index - 2)
            result.append((bytes[index + 1], Array(bytes[(index + 2)..<(index + 2 + length)])))
            index += 2 + length
        }
        return result
    }
}

func sealRaw(_ state: inout TLS13RecordState, _ content: [UInt8], _ innerTypeByte: UInt8, _ crypto: TLSRecordCrypto) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: content.count + TLS13RecordState.recordOverhead)
    let written = try content.withUnsafeBytes { input in
        try output.withUnsafeMutableBytes { try state.sealRecord(innerTypeByte: innerTypeByte, content: input, into: $0, crypto: crypto) }
    }
    return Array(output[..<written])
}
