/// TLSStage, a connection's TLS from first byte to close, with both ends in memory and the
/// bytes cut into reads of every size.
import StadiumTestSupport
import Testing

@testable import StadiumTLS

/// Moves bytes between two stages in reads of at most `chunk`, collecting what each delivers.
struct StagePair {
    var client: TLSStage
    var server: TLSStage
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    var serverReceived: [UInt8] = []
    var clientReceived: [UInt8] = []
    var serverStatus = TLSStageStatus.handshaking
    var clientStatus = TLSStageStatus.handshaking

    init(client: TLSContext, server: TLSContext, tls12: Bool = false) throws {
        let clientHandshake = try TLSHandshake(context: client, serverName: "localhost")
        if tls12 { _ = clientHandshake.restrictToTLS12() }
        self.client = TLSStage(handshake: clientHandshake)
        self.server = TLSStage(handshake: try TLSHandshake(context: server))
        try self.client.start(send: &toServer)
    }

    mutating func run(chunk: Int, crypto: TLSRecordCrypto) throws(TLSStageError) {
        while !toServer.isEmpty || !toClient.isEmpty {
            if !toServer.isEmpty {
                serverStatus = try Self.pass(chunk, of: &toServer, to: &server, answer: &toClient, into: &serverReceived, crypto)
            }
            if !toClient.isEmpty {
                clientStatus = try Self.pass(chunk, of: &toClient, to: &client, answer: &toServer, into: &clientReceived, crypto)
            }
        }
    }

    /// One read of at most `chunk` bytes from `wire` into `stage`.
    static func pass(
        _ chunk: Int, of wire: inout [UInt8], to stage: inout TLSStage, answer: inout [UInt8], into received: inout [UInt8],
        _ crypto: TLSRecordCrypto
    ) throws(TLSStageError) -> TLSStageStatus {
        var read = Array(wire.prefix(chunk))
        wire.removeFirst(read.count)
        return try read.withUnsafeMutableBytes { bytes in
            Result { () throws(TLSStageError) in try stage.receive(bytes, crypto: crypto, send: &answer) { received += $0 } }
        }.get()
    }
}

func sealStage(_ stage: inout TLSStage, _ plaintext: [UInt8], _ crypto: TLSRecordCrypto) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: stage.sealedLength(plaintextCount: plaintext.count))
    let written = try plaintext.withUnsafeBytes { input in
        try output.withUnsafeMutableBytes { try stage.seal(input, into: $0, crypto: crypto) }
    }
    return Array(output[..<written])
}

@Suite struct TLSStageTests {
    let server: TLSContext
    let client: TLSContext
    let crypto: TLSRecordCrypto

    init() throws {
        let certificates = try TestCertificates.shared.get()
        server = try TLSContext.server(TLSServerFiles(certificateChain: certificates.chainFile, privateKey: certificates.keyFile))
        client = try TLSContext.client(caFile: certificates.caFile)
        crypto = try TLSRecordCrypto()
    }

    @Test(arguments: [(1, false), (7, false), (300, false), (1 << 20, false), (5, true), (1 << 20, true)])
    func handshakeThenDataInReadsOfAnySize(chunk: Int, tls12: Bool) throws {
        var pair = try StagePair(client: client, server: server, tls12: tls12)
        try pair.run(chunk: chunk, crypto: crypto)
        #expect(pair.serverStatus == .open && pair.clientStatus == .open)
        #expect(pair.server.version == (tls12 ? .tls12 : .tls13))
        #expect(pair.server.alpnHTTP11 && pair.client.alpnHTTP11)
        let request = Array("GET /v1 HTTP/1.1\r\nUpgrade: websocket\r\n\r\n".utf8)
        let big = (0..<20_000).map { UInt8(truncatingIfNeeded: $0) }
        pair.toServer = try sealStage(&pair.client, request, crypto) + sealStage(&pair.client, big, crypto)
        pair.toClient = try sealStage(&pair.server, big, crypto)
        try pair.run(chunk: chunk, crypto: crypto)
        #expect(pair.serverReceived == request + big)
        #expect(pair.clientReceived == big)
    }

    @Test func dataWithTheClientFinishedIsDeliveredAsTheHandshakeEnds() throws {
        var pair = try StagePair(client: client, server: server)
        // Server flight to the client, which finishes; its first data joins its Finished.
        let hello = pair.toServer
        pair.toServer = []
        try hello.withUnsafeBytes { bytes in
            var copy = Array(bytes)
            _ = try copy.withUnsafeMutableBytes { try pair.server.receive($0, crypto: crypto, send: &pair.toClient) { _ in } }
        }
        var flight = pair.toClient
        pair.toClient = []
        let clientStatus = try flight.withUnsafeMutableBytes { try pair.client.receive($0, crypto: crypto, send: &pair.toServer) { _ in } }
        #expect(clientStatus == .open)
        var last = try pair.toServer + sealStage(&pair.client, Array("upgrade".utf8), crypto)
        var delivered: [UInt8] = []
        var answer: [UInt8] = []
        let status = try last.withUnsafeMutableBytes { try pair.server.receive($0, crypto: crypto, send: &answer) { delivered += $0 } }
        #expect(status == .open)
        #expect(delivered == Array("upgrade".utf8))
    }

    @Test func tls12DataWithTheServerFinishedIsDeliveredAsTheClientFinishes() throws {
        // In TLS 1.2 the server finishes first; what it sends next may share the client's read.
        var pair = try StagePair(client: client, server: server, tls12: true)
        for _ in 0..<3 where pair.serverStatus != .open {
            pair.serverStatus = try StagePair.pass(
                1 << 20, of: &pair.toServer, to: &pair.server, answer: &pair.toClient, into: &pair.serverReceived, crypto)
            if pair.serverStatus != .open {
                pair.clientStatus = try StagePair.pass(
                    1 << 20, of: &pair.toClient, to: &pair.client, answer: &pair.toServer, into: &pair.clientReceived, crypto)
            }
        }
        #expect(pair.serverStatus == .open && pair.clientStatus == .handshaking)
        pair.toClient += try sealStage(&pair.server, Array("welcome".utf8), crypto)
        pair.clientStatus = try StagePair.pass(
            1 << 20, of: &pair.toClient, to: &pair.client, answer: &pair.toServer, into: &pair.clientReceived, crypto)
        #expect(pair.clientStatus == .open)
        #expect(pair.clientReceived == Array("welcome".utf8))
    }

    @Test(arguments: [false, true])
    func closeNotifyReachesThePeer(tls12: Bool) throws {
        var pair = try StagePair(client: client, server: server, tls12: tls12)
        try pair.run(chunk: 1 << 20, crypto: crypto)
        var output = [UInt8](repeating: 0, count: 64)
        let written = output.withUnsafeMutableBytes { pair.server.sealClose(into: $0, crypto: crypto) }
        #expect(written > 0)
        pair.toClient = Array(output[..<written])
        try pair.run(chunk: 1 << 20, crypto: crypto)
        #expect(pair.clientStatus == .peerClosed)
    }

    @Test func aBadRecordIsAnsweredWithItsAlert() throws {
        var pair = try StagePair(client: client, server: server)
        try pair.run(chunk: 1 << 20, crypto: crypto)
        var record = try sealStage(&pair.client, [1, 2, 3], crypto)
        record[record.count - 1] ^= 0xFF
        var ignored: [UInt8] = []
        let error = #expect(throws: TLSStageError.self) {
            _ = try record.withUnsafeMutableBytes { try pair.server.receive($0, crypto: crypto, send: &ignored) { _ in } }
        }
        #expect(error == .record(.badRecordMAC))
        var output = [UInt8](repeating: 0, count: 64)
        let written = output.withUnsafeMutableBytes { pair.server.sealClose(after: error, into: $0, crypto: crypto) }
        pair.toClient = Array(output[..<written])
        #expect(throws: TLSStageError.record(.peerAlert(TLSAlert.badRecordMAC.rawValue))) { try pair.run(chunk: 100, crypto: crypto) }
    }

    @Test func plainHTTPFailsTheHandshakeWithAnAlertToSend() throws {
        var stage = TLSStage(handshake: try TLSHandshake(context: server))
        var request = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        var send: [UInt8] = []
        let error = #expect(throws: TLSStageError.self) {
            _ = try request.withUnsafeMutableBytes { try stage.receive($0, crypto: crypto, send: &send) { _ in } }
        }
        guard case .handshake(.notTLS) = error else {
            Issue.record("expected notTLS, got \(String(describing: error))")
            return
        }
        var output = [UInt8](repeating: 0, count: 64)
        #expect(output.withUnsafeMutableBytes { stage.sealClose(after: error, into: $0, crypto: crypto) } == 0)
        #expect(throws: TLSStageError.self) {
            _ = try [UInt8](repeating: 1, count: 4).withUnsafeBytes { input in
                try output.withUnsafeMutableBytes { try stage.seal(input, into: $0, crypto: crypto) }
            }
        }
    }
}
