/// libFuzzer entry point for the TLS 1.3 record-opening path. The first input byte picks the
/// role, the suite, the read size and the mode: the rest goes in as received bytes (framing,
/// limits, authentication failures), or is cut into segments that are sealed first so the
/// opened side reaches inner types, padding, alerts and post-handshake messages.
/// Built by Fuzz/fuzz.mk together with the StadiumTLS sources (one module).

private let crypto = try! TLSRecordCrypto()

@_cdecl("LLVMFuzzerTestOneInput")
public func tlsRecordFuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: start, count: count))
    let control = input[0]
    let role: TLSRole = control & 1 == 0 ? .server : .client
    let suite = TLS13CipherSuite.allCases[Int(control >> 1 & 3) % 3]
    let chunk = Int(control >> 4) * 97 + 1
    let secrets = ([UInt8](repeating: 1, count: suite.hashLength), [UInt8](repeating: 2, count: suite.hashLength))
    var opener = try! TLS13RecordState(suite: suite, role: role, clientSecret: secrets.0, serverSecret: secrets.1)
    var stream = Array(input.dropFirst())
    var expected: [UInt8]? = nil
    if control & 8 != 0 {
        var sealer = try! TLS13RecordState(
            suite: suite, role: role == .server ? .client : .server, clientSecret: secrets.0, serverSecret: secrets.1)
        (stream, expected) = sealSegments(stream, &sealer)
    }
    var assembler = TLSRecordAssembler()
    var data: [UInt8] = []
    var failed = false
    var offset = 0
    while offset < stream.count, !failed {
        let end = min(offset + chunk, stream.count)
        do {
            try stream.withUnsafeMutableBytes { buffer in
                try assembler.receive(UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<end])) { (record) throws(TLSRecordError) in
                    precondition(record.count <= TLSRecordHeader.length + TLSRecordHeader.maxCiphertext, "record too long")
                    if case .applicationData(let range) = try opener.open(record: record, crypto: crypto) {
                        precondition(range.lowerBound >= TLSRecordHeader.length && range.upperBound <= record.count, "range")
                        data += UnsafeRawBufferPointer(rebasing: record[range])
                    }
                }
            }
        } catch {
            failed = true
        }
        offset = end
    }
    if let expected, !failed { precondition(data == expected, "sealed application data came back changed") }
    return 0
}

/// Segments [length, inner type, content...] sealed as records; the application data expected
/// back when every segment is application data.
private func sealSegments(_ bytes: [UInt8], _ sealer: inout TLS13RecordState) -> ([UInt8], [UInt8]?) {
    var stream: [UInt8] = []
    var expected: [UInt8]? = []
    var index = 0
    while index + 2 <= bytes.count {
        let length = min(Int(bytes[index]), bytes.count - index - 2)
        let type = bytes[index + 1]
        let content = Array(bytes[(index + 2)..<(index + 2 + length)])
        index += 2 + length
        var output = [UInt8](repeating: 0, count: content.count + TLS13RecordState.recordOverhead)
        let written = content.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { try! sealer.sealRecord(innerTypeByte: type, content: input, into: $0, crypto: crypto) }
        }
        stream += output[..<written]
        if type == TLSContentType.applicationData.rawValue { expected? += content } else { expected = nil }
    }
    return (stream, expected)
}
