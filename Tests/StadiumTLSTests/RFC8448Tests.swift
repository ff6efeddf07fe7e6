/// RFC 8448 section 3 (simple 1-RTT handshake): keys derived from the application traffic
/// secrets it gives, and its application_data, NewSessionTicket and close_notify records
/// sealed and opened byte for byte.
import Testing

@testable import StadiumTLS

enum RFC8448 {
    // {server} derive secret "tls13 c ap traffic" / "tls13 s ap traffic": expanded.
    static let clientTrafficSecret = hex("9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5")
    static let serverTrafficSecret = hex("a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43")
    // {client}/{server} derive write traffic keys for application data.
    static let clientKey = hex("17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51")
    static let clientIV = hex("5b 78 92 3d ee 08 57 90 33 e5 23 d9")
    static let serverKey = hex("9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56")
    static let serverIV = hex("cf 78 2b 88 dd 83 54 9a ad f1 e9 84")
    // {client} send application_data record: payload 00 01 ... 31, complete record.
    static let payload = (0..<50).map { UInt8($0) }
    static let clientApplicationRecord = hex("""
        17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f 2b
        98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee
        bb 21 69 49 15 e4
        """)
    // {server} send application_data record (the server's second record: the ticket was its first).
    static let serverApplicationRecord = hex("""
        17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b 36 e3
        0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0
        32 e1 67 c2 95 5d
        """)
    // {server} send handshake record: the NewSessionTicket, the server's first application-key record.
    static let ticketRecord = hex("""
        17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24 0e 6c ff ac 11 6e 95 d4 1d
        6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3 8e fb
        cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0 9c 30 ba
        1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15 13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1
        81 a7 7c a4 75 84 00 25 db 2f 0a 77 f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac
        87 aa c3 47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74 bc 26 97 68 7e 24
        87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b 6c 67 79 b3 7b f1 59 85 68 4f
        """)
    // {client} / {server} send alert record: close_notify.
    static let clientCloseNotify = hex("17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3")
    static let serverCloseNotify = hex("17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9")

    static func state(_ role: TLSRole) throws -> TLS13RecordState {
        try TLS13RecordState(
            suite: .aes128GCMSHA256, role: role, clientSecret: clientTrafficSecret, serverSecret: serverTrafficSecret)
    }
}

@Suite struct RFC8448Tests {
    let crypto: TLSRecordCrypto

    init() throws { crypto = try TLSRecordCrypto() }

    @Test func applicationKeysFromTrafficSecrets() throws {
        let client = try TrafficKeys(suite: .aes128GCMSHA256, secret: RFC8448.clientTrafficSecret)
        let server = try TrafficKeys(suite: .aes128GCMSHA256, secret: RFC8448.serverTrafficSecret)
        #expect(bytes(client.key, 16) == RFC8448.clientKey)
        #expect(bytes(client.iv, 12) == RFC8448.clientIV)
        #expect(bytes(server.key, 16) == RFC8448.serverKey)
        #expect(bytes(server.iv, 12) == RFC8448.serverIV)
    }

    @Test func clientSealsTheRFCApplicationRecord() throws {
        var client = try RFC8448.state(.client)
        #expect(try seal(&client, RFC8448.payload) == RFC8448.clientApplicationRecord)
        #expect(client.writeSequence == 1)
    }

    @Test func serverOpensTheClientRecord() throws {
        var server = try RFC8448.state(.server)
        var record = RFC8448.clientApplicationRecord
        let opened = try record.withUnsafeMutableBytes { try server.open(record: $0, crypto: crypto) }
        guard case .applicationData(let range) = opened else {
            Issue.record("expected application data, got \(opened)")
            return
        }
        #expect(Array(record[range]) == RFC8448.payload)
    }

    @Test func clientSkipsTheTicketThenOpensTheServerRecord() throws {
        var client = try RFC8448.state(.client)
        var ticket = RFC8448.ticketRecord
        let first = try ticket.withUnsafeMutableBytes { try client.open(record: $0, crypto: crypto) }
        #expect(first == .handshake(ticketsSkipped: 1, keyUpdate: false))
        var record = RFC8448.serverApplicationRecord
        let second = try record.withUnsafeMutableBytes { try client.open(record: $0, crypto: crypto) }
        #expect(second == .applicationData(5..<55))
        #expect(Array(record[5..<55]) == RFC8448.payload)
    }

    @Test func serverSealsTheRFCApplicationRecordAsItsSecond() throws {
        var server = try RFC8448.state(.server)
        // The RFC's server sealed its ticket first (sequence 0); any record moves the sequence on.
        _ = try seal(&server, [])
        #expect(try seal(&server, RFC8448.payload) == RFC8448.serverApplicationRecord)
        #expect(try sealClose(&server) == RFC8448.serverCloseNotify)
    }

    @Test func closeNotifyBothWays() throws {
        var client = try RFC8448.state(.client)
        _ = try seal(&client, RFC8448.payload)
        #expect(try sealClose(&client) == RFC8448.clientCloseNotify)
        #expect(throws: TLSRecordError.closed) { _ = try seal(&client, [1]) }

        var server = try RFC8448.state(.server)
        var data = RFC8448.clientApplicationRecord
        _ = try data.withUnsafeMutableBytes { try server.open(record: $0, crypto: crypto) }
        var close = RFC8448.clientCloseNotify
        #expect(try close.withUnsafeMutableBytes { try server.open(record: $0, crypto: crypto) } == .closeNotify)
        #expect(server.peerClosed)
        var more = RFC8448.clientApplicationRecord
        #expect(throws: TLSRecordError.closed) { _ = try more.withUnsafeMutableBytes { try server.open(record: $0, crypto: crypto) } }
    }

    @Test func aFlippedBitFailsAuthentication() throws {
        var server = try RFC8448.state(.server)
        var record = RFC8448.clientApplicationRecord
        record[20] ^= 0x01
        #expect(throws: TLSRecordError.badRecordMAC) {
            _ = try record.withUnsafeMutableBytes { try server.open(record: $0, crypto: crypto) }
        }
        #expect(TLSRecordError.badRecordMAC.alert == .badRecordMAC)
    }

    private func seal(_ state: inout TLS13RecordState, _ plaintext: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: state.sealedLength(plaintextCount: plaintext.count))
        let written = try plaintext.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { try state.seal(input, into: $0, crypto: crypto) }
        }
        #expect(written == output.count)
        return output
    }

    private func sealClose(_ state: inout TLS13RecordState) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: TLS13RecordState.alertRecordLength)
        let written = try output.withUnsafeMutableBytes { try state.sealAlert(.closeNotify, into: $0, crypto: crypto) }
        return Array(output[..<written])
    }
}

func bytes<let N: Int>(_ value: InlineArray<N, UInt8>, _ count: Int) -> [UInt8] {
    (0..<count).map { value[$0] }
}
