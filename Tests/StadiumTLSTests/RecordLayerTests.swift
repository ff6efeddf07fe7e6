/// TLS13RecordState with made-up secrets: every suite both ways, KeyUpdate, record limits,
/// alerts, post-handshake messages and records split across reads. No I/O.
import Testing

@testable import StadiumTLS

struct Pair {
    var client: TLS13RecordState
    var server: TLS13RecordState

    init(_ suite: TLS13CipherSuite) throws {
        let clientSecret = (0..<suite.hashLength).map { UInt8($0) }
        let serverSecret = (0..<suite.hashLength).map { UInt8(200 - $0) }
        client = try TLS13RecordState(suite: suite, role: .client, clientSecret: clientSecret, serverSecret: serverSecret)
        server = try TLS13RecordState(suite: suite, role: .server, clientSecret: clientSecret, serverSecret: serverSecret)
    }
}

func seal(_ state: inout TLS13RecordState, _ plaintext: [UInt8], _ crypto: TLSRecordCrypto) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: state.sealedLength(plaintextCount: plaintext.count))
    let written = try plaintext.withUnsafeBytes { input in
        try output.withUnsafeMutableBytes { try state.seal(input, into: $0, crypto: crypto) }
    }
    return Array(output[..<written])
}

func sealInner(
    _ state: inout TLS13RecordState, _ type: TLSContentType, _ content: [UInt8], _ crypto: TLSRecordCrypto
) throws -> [UInt8] {
    try sealRaw(&state, content, type.rawValue, crypto)
}

/// Everything `received` holds, opened through an assembler: application data and other events.
struct Opened: Equatable {
    var data: [UInt8] = []
    var events: [TLS13OpenedRecord] = []
}

func openAll(
    _ state: inout TLS13RecordState, _ received: [UInt8], _ crypto: TLSRecordCrypto,
    assembler: inout TLSRecordAssembler, chunk: Int = .max
) throws -> Opened {
    var result = Opened()
    var offset = 0
    var copy = received
    while offset < copy.count {
        let end = min(copy.count, offset + chunk)
        try copy.withUnsafeMutableBytes { buffer in
            try assembler.receive(UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<end])) { (record) throws(TLSRecordError) in
                let opened = try state.open(record: record, crypto: crypto)
                if case .applicationData(let range) = opened {
                    result.data += UnsafeRawBufferPointer(rebasing: record[range])
                } else {
                    result.events.append(opened)
                }
            }
        }
        offset = end
    }
    return result
}

func openAll(_ state: inout TLS13RecordState, _ received: [UInt8], _ crypto: TLSRecordCrypto, chunk: Int = .max) throws
    -> Opened
{
    var assembler = TLSRecordAssembler()
    let opened = try openAll(&state, received, crypto, assembler: &assembler, chunk: chunk)
    #expect(assembler.pendingCount == 0)
    return opened
}

@Suite struct RecordLayerTests {
    let crypto: TLSRecordCrypto

    init() throws { crypto = try TLSRecordCrypto() }

    @Test(arguments: TLS13CipherSuite.allCases)
    func roundTripBothWays(suite: TLS13CipherSuite) throws {
        var pair = try Pair(suite)
        let message = Array("{\"op\":\"msg\",\"subject\":\"/question\"}".utf8)
        let toServer = try seal(&pair.client, message, crypto)
        #expect(toServer.count == message.count + TLS13RecordState.recordOverhead)
        #expect(try openAll(&pair.server, toServer, crypto).data == message)
        let toClient = try seal(&pair.server, message + message, crypto)
        #expect(try openAll(&pair.client, toClient, crypto).data == message + message)
        // The same plaintext sealed twice differs: the sequence number changes the nonce.
        #expect(try seal(&pair.client, message, crypto) != toServer)
    }

    @Test func largeWritesSplitIntoRecordsOfAtMost16KiB() throws {
        var pair = try Pair(.chacha20Poly1305SHA256)
        let message = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let sealed = try seal(&pair.server, message, crypto)
        #expect(sealed.count == message.count + 3 * TLS13RecordState.recordOverhead)
        #expect(pair.server.writeSequence == 3)
        #expect(try openAll(&pair.client, sealed, crypto).data == message)
    }

    @Test(arguments: [1, 3, 5, 6, 100, 4096])
    func recordsSplitAcrossReads(chunk: Int) throws {
        var pair = try Pair(.aes256GCMSHA384)
        let first = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let second = Array("second".utf8)
        let stream = try seal(&pair.client, first, crypto) + seal(&pair.client, [], crypto) + seal(&pair.client, second, crypto)
        #expect(try openAll(&pair.server, stream, crypto, chunk: chunk).data == first + second)
    }

    @Test func assemblerHoldsOnlyAnIncompleteTail() throws {
        var pair = try Pair(.aes128GCMSHA256)
        let record = try seal(&pair.client, Array(repeating: 7, count: 100), crypto)
        var assembler = TLSRecordAssembler()
        let partial = try openAll(&pair.server, Array(record[..<40]), crypto, assembler: &assembler)
        #expect(partial.data.isEmpty)
        #expect(assembler.pendingCount == 40)
        let rest = try openAll(&pair.server, Array(record[40...]), crypto, assembler: &assembler)
        #expect(rest.data == Array(repeating: 7, count: 100))
        #expect(assembler.pendingCount == 0)
    }

    @Test func keyUpdateRequestedIsAnsweredBeforeTheNextData() throws {
        var pair = try Pair(.aes128GCMSHA256)
        _ = try openAll(&pair.server, seal(&pair.client, [1, 2, 3], crypto), crypto)
        // The client moves to new write keys and asks the server to do the same.
        var update = [UInt8](repeating: 0, count: TLS13RecordState.keyUpdateRecordLength)
        let written = try update.withUnsafeMutableBytes {
            try pair.client.sealKeyUpdate(requestPeerUpdate: true, into: $0, crypto: crypto)
        }
        #expect(written == update.count)
        #expect(pair.client.writeSequence == 0)
        let afterUpdate = try seal(&pair.client, [4, 5], crypto)
        let opened = try openAll(&pair.server, update + afterUpdate, crypto)
        #expect(opened == Opened(data: [4, 5], events: [.handshake(ticketsSkipped: 0, keyUpdate: true)]))
        #expect(pair.server.keyUpdateOwed)
        #expect(pair.server.readSequence == 1)

        // The server's next write starts with its own KeyUpdate (update_not_requested).
        let reply = try seal(&pair.server, [6], crypto)
        #expect(reply.count == TLS13RecordState.keyUpdateRecordLength + 1 + TLS13RecordState.recordOverhead)
        #expect(!pair.server.keyUpdateOwed)
        let back = try openAll(&pair.client, reply, crypto)
        #expect(back == Opened(data: [6], events: [.handshake(ticketsSkipped: 0, keyUpdate: true)]))
        #expect(!pair.client.keyUpdateOwed)
        #expect(try openAll(&pair.client, seal(&pair.server, [7], crypto), crypto).data == [7])
        #expect(try openAll(&pair.server, seal(&pair.client, [8], crypto), crypto).data == [8])
    }

    @Test func writeKeysChangeAfterRecordsPerKey() throws {
        var pair = try Pair(.aes128GCMSHA256)
        // The peer reads at the same sequence number as the writer.
        pair.client.advanceWriteSequenceForTesting(to: TLS13RecordState.recordsPerKey - 1)
        pair.server.advanceReadSequenceForTesting(to: TLS13RecordState.recordsPerKey - 1)
        let last = try seal(&pair.client, [1], crypto)
        #expect(pair.client.keyUpdateOwed)
        let next = try seal(&pair.client, [2], crypto)
        #expect(next.count == TLS13RecordState.keyUpdateRecordLength + 1 + TLS13RecordState.recordOverhead)
        #expect(pair.client.writeSequence == 1)
        let opened = try openAll(&pair.server, last + next, crypto)
        #expect(opened == Opened(data: [1, 2], events: [.handshake(ticketsSkipped: 0, keyUpdate: true)]))
        #expect(!pair.server.keyUpdateOwed)
    }

    @Test func oldKeysNoLongerOpenAfterKeyUpdate() throws {
        var pair = try Pair(.aes128GCMSHA256)
        var stale = pair.client
        var update = [UInt8](repeating: 0, count: TLS13RecordState.keyUpdateRecordLength)
        _ = try update.withUnsafeMutableBytes { try pair.client.sealKeyUpdate(requestPeerUpdate: false, into: $0, crypto: crypto) }
        _ = try openAll(&pair.server, update, crypto)
        #expect(!pair.server.keyUpdateOwed)
        // A copy of the state from before the update seals under the old keys: refused.
        _ = try seal(&stale, [], crypto)
        let old = try seal(&stale, [9], crypto)
        #expect(throws: TLSRecordError.badRecordMAC) { _ = try openAll(&pair.server, old, crypto) }
    }

    @Test func keyUpdateMustEndItsRecord() throws {
        var pair = try Pair(.aes128GCMSHA256)
        let record = try sealInner(&pair.client, .handshake, [24, 0, 0, 1, 0, 4, 0, 0, 1], crypto)
        #expect(throws: TLSRecordError.unexpectedMessage("KeyUpdate not at the end of its record")) {
            _ = try openAll(&pair.server, record, crypto)
        }
        var other = try Pair(.aes128GCMSHA256)
        let bad = try sealInner(&other.client, .handshake, [24, 0, 0, 1, 2], crypto)
        let error = #expect(throws: TLSRecordError.self) { _ = try openAll(&other.server, bad, crypto) }
        #expect(error?.alert == .illegalParameter)
    }

    @Test func ticketsAreSkippedEvenAcrossRecords() throws {
        var pair = try Pair(.aes128GCMSHA256)
        let body = [UInt8](repeating: 0xAB, count: 40)
        let ticket: [UInt8] = [4, 0, 0, UInt8(body.count)] + body
        // Header split after 2 bytes, body split in the middle; then two tickets in one record.
        let stream =
            try sealInner(&pair.server, .handshake, Array(ticket[..<2]), crypto)
            + sealInner(&pair.server, .handshake, Array(ticket[2..<20]), crypto)
            + sealInner(&pair.server, .handshake, Array(ticket[20...]), crypto)
            + sealInner(&pair.server, .handshake, ticket + ticket, crypto) + seal(&pair.server, [1], crypto)
        let opened = try openAll(&pair.client, stream, crypto)
        #expect(
            opened.events == [
                .handshake(ticketsSkipped: 0, keyUpdate: false), .handshake(ticketsSkipped: 0, keyUpdate: false),
                .handshake(ticketsSkipped: 1, keyUpdate: false), .handshake(ticketsSkipped: 2, keyUpdate: false),
            ])
        #expect(opened.data == [1])
    }

    @Test func aServerRefusesTicketsAndOtherHandshakeMessages() throws {
        var pair = try Pair(.aes128GCMSHA256)
        let ticket = try sealInner(&pair.client, .handshake, [4, 0, 0, 13] + Array(repeating: 0, count: 13), crypto)
        #expect(throws: TLSRecordError.unexpectedMessage("handshake message type 4 after the handshake")) {
            _ = try openAll(&pair.server, ticket, crypto)
        }
        var other = try Pair(.aes128GCMSHA256)
        // A CertificateRequest: post-handshake authentication was never offered.
        let request = try sealInner(&other.server, .handshake, [13, 0, 0, 0], crypto)
        let error = #expect(throws: TLSRecordError.self) { _ = try openAll(&other.client, request, crypto) }
        #expect(error?.alert == .unexpectedMessage)
    }

    @Test func dataInsideAHandshakeMessageIsRefused() throws {
        var pair = try Pair(.aes128GCMSHA256)
        let stream = try sealInner(&pair.server, .handshake, [4, 0, 0, 40, 1, 2], crypto) + seal(&pair.server, [1], crypto)
        #expect(throws: TLSRecordError.unexpectedMessage("record type 23 inside a handshake message")) {
            _ = try openAll(&pair.client, stream, crypto)
        }
    }

    @Test func fatalAlertsEndTheConnection() throws {
        var pair = try Pair(.aes128GCMSHA256)
        var output = [UInt8](repeating: 0, count: TLS13RecordState.alertRecordLength)
        _ = try output.withUnsafeMutableBytes { try pair.client.sealAlert(.internalError, into: $0, crypto: crypto) }
        #expect(output[0] == 23)
        #expect(throws: TLSRecordError.peerAlert(80)) { _ = try openAll(&pair.server, output, crypto) }
        #expect(pair.server.peerClosed)
        #expect(TLSRecordError.peerAlert(80).alert == nil)

        var other = try Pair(.aes128GCMSHA256)
        let long = try sealInner(&other.client, .alert, [1, 0, 0], crypto)
        #expect(throws: TLSRecordError.decodeError("alert of 3 bytes")) { _ = try openAll(&other.server, long, crypto) }
    }

    @Test func userCanceledIsAWarning() throws {
        var pair = try Pair(.aes128GCMSHA256)
        let stream = try sealInner(&pair.client, .alert, [1, 90], crypto) + seal(&pair.client, [3], crypto)
        #expect(try openAll(&pair.server, stream, crypto) == Opened(data: [3], events: [.userCanceled]))
    }

    @Test func paddingIsStrippedAndAllPaddingRefused() throws {
        var pair = try Pair(.aes128GCMSHA256)
        // Inner plaintext 5 6 23 0 0 0: content 5 6, type 23, three bytes of zero padding.
        let padded = try sealRaw(&pair.client, [5, 6, 23, 0, 0], 0, crypto)
        #expect(try openAll(&pair.server, padded, crypto).data == [5, 6])
        var other = try Pair(.aes128GCMSHA256)
        let zeros = try sealRaw(&other.client, [0, 0, 0], 0, crypto)
        #expect(throws: TLSRecordError.unexpectedMessage("record of padding only")) { _ = try openAll(&other.server, zeros, crypto) }
    }

    @Test func recordLimits() throws {
        var pair = try Pair(.aes128GCMSHA256)
        // A header announcing more than 2^14 + 256 bytes is refused before anything is read.
        let huge: [UInt8] = [23, 3, 3, 0x41, 0x01]
        let error = #expect(throws: TLSRecordError.self) { _ = try openAll(&pair.server, huge, crypto) }
        #expect(error == .recordOverflow(length: 0x4101))
        #expect(error?.alert == .recordOverflow)
        // Within the ciphertext limit, but more than 2^14 + 1 bytes of inner plaintext.
        let big = try sealInner(&pair.client, .applicationData, Array(repeating: 1, count: TLSRecordHeader.maxPlaintext + 1), crypto)
        #expect(throws: TLSRecordError.recordOverflow(length: TLSRecordHeader.maxPlaintext + 2 + 16)) {
            _ = try openAll(&pair.server, big, crypto)
        }
        // Shorter than a tag cannot authenticate.
        #expect(throws: TLSRecordError.badRecordMAC) { _ = try openAll(&pair.server, [23, 3, 3, 0, 3, 1, 2, 3], crypto) }
    }

    @Test func plainHTTPAndGarbageAreNotTLS() throws {
        var pair = try Pair(.aes128GCMSHA256)
        let error = #expect(throws: TLSRecordError.self) {
            _ = try openAll(&pair.server, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), crypto)
        }
        #expect(error == .notTLS)
        #expect(error?.alert == .unexpectedMessage)
        // A content type that exists but a version byte that does not.
        #expect(throws: TLSRecordError.notTLS) { _ = try openAll(&pair.server, [23, 0x47], crypto) }
        // Unprotected handshake or change_cipher_spec records after the handshake.
        #expect(throws: TLSRecordError.unexpectedMessage("record type 22 after the handshake")) {
            _ = try openAll(&pair.server, [22, 3, 3, 0, 1, 0], crypto)
        }
    }
}
