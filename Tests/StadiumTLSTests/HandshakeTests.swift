/// Server and client handshakes against each other in memory, then records both ways; and
/// the ways a handshake must fail: plain HTTP, a truncated ClientHello, TLS 1.1, no
/// http/1.1 in ALPN, an unknown CA. Certificates reload without touching handshakes under way.
import COpenSSL
import Foundation
import StadiumTestSupport
import Testing

@testable import StadiumTLS

/// Passes bytes between two handshakes until both finish (or one throws).
func handshake(_ client: TLSHandshake, _ server: TLSHandshake) throws -> (client: TLSEstablished, server: TLSEstablished) {
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    var clientDone: TLSEstablished? = nil
    var serverDone: TLSEstablished? = nil
    for _ in 0..<10 {
        if clientDone == nil {
            let input = toClient
            toClient = []
            if case .established(let done) = try client.advance(received: input.span.bytes, output: &toServer) {
                clientDone = done
            }
        }
        if serverDone == nil {
            let input = toServer
            toServer = []
            if case .established(let done) = try server.advance(received: input.span.bytes, output: &toClient) {
                serverDone = done
            }
        }
        if let clientDone, let serverDone, toClient.isEmpty, toServer.isEmpty { return (clientDone, serverDone) }
    }
    throw TLSHandshakeError.failed("no progress after 10 rounds")
}

func tls13(_ established: TLSEstablished) throws -> TLS13RecordState {
    guard case .tls13(let state) = established.session else { throw TLSHandshakeError.failed("not TLS 1.3") }
    return state
}

@Suite struct HandshakeTests {
    let certificates: TestCertificates
    let server: TLSContext
    let client: TLSContext
    let crypto: TLSRecordCrypto

    init() throws {
        certificates = try TestCertificates.shared.get()
        server = try TLSContext.server(TLSServerFiles(certificateChain: certificates.chainFile, privateKey: certificates.keyFile))
        client = try TLSContext.client(caFile: certificates.caFile)
        crypto = try TLSRecordCrypto()
    }

    @Test func tls13HandshakeThenRecordsBothWays() throws {
        let (clientEnd, serverEnd) = try handshake(
            TLSHandshake(context: client, serverName: "localhost"), TLSHandshake(context: server))
        #expect(clientEnd.version == .tls13)
        #expect(serverEnd.version == .tls13)
        #expect(clientEnd.alpn == "http/1.1")
        #expect(serverEnd.alpn == "http/1.1")
        #expect(serverEnd.cipherName == "TLS_AES_128_GCM_SHA256")
        var clientState = try tls13(clientEnd)
        var serverState = try tls13(serverEnd)
        #expect(clientState.writeSequence == 0 && serverState.writeSequence == 0)
        let request = Array("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n".utf8)
        #expect(try openAll(&serverState, seal(&clientState, request, crypto), crypto).data == request)
        let response = Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8)
        #expect(try openAll(&clientState, seal(&serverState, response, crypto), crypto).data == response)
    }

    @Test(arguments: ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"])
    func everyTLS13SuiteKeepsOnlyItsKeys(suiteName: String) throws {
        let clientHandshake = try TLSHandshake(context: client, serverName: "127.0.0.1")
        _ = clientHandshake.withSSL { SSL_set_ciphersuites($0, suiteName) }
        let (clientEnd, serverEnd) = try handshake(clientHandshake, TLSHandshake(context: server))
        #expect(serverEnd.cipherName == suiteName)
        var clientState = try tls13(clientEnd)
        var serverState = try tls13(serverEnd)
        let message = Array(repeating: UInt8(0x5A), count: 1000)
        #expect(try openAll(&serverState, seal(&clientState, message, crypto), crypto).data == message)
        #expect(try openAll(&clientState, seal(&serverState, message, crypto), crypto).data == message)
    }

    @Test func recordsSentWithTheClientFinishedAreLeftOver() throws {
        let clientHandshake = try TLSHandshake(context: client, serverName: "localhost")
        let serverHandshake = try TLSHandshake(context: server)
        var toServer: [UInt8] = []
        var toClient: [UInt8] = []
        _ = try clientHandshake.advance(received: [UInt8]().span.bytes, output: &toServer)
        #expect(try serverHandshake.advance(received: toServer.span.bytes, output: &toClient).needsInput)
        toServer = []
        guard case .established(let clientEnd) = try clientHandshake.advance(received: toClient.span.bytes, output: &toServer)
        else { throw TLSHandshakeError.failed("client did not finish") }
        var clientState = try tls13(clientEnd)
        // The upgrade request leaves in the same write as the client's Finished.
        toServer += try seal(&clientState, Array("upgrade".utf8), crypto)
        var ignored: [UInt8] = []
        guard case .established(let serverEnd) = try serverHandshake.advance(received: toServer.span.bytes, output: &ignored)
        else { throw TLSHandshakeError.failed("server did not finish") }
        #expect(ignored.isEmpty)
        var serverState = try tls13(serverEnd)
        #expect(try openAll(&serverState, serverEnd.leftover, crypto).data == Array("upgrade".utf8))
    }

    @Test func keyUpdateAfterARealHandshake() throws {
        let (clientEnd, serverEnd) = try handshake(TLSHandshake(context: client, serverName: "localhost"), TLSHandshake(context: server))
        var clientState = try tls13(clientEnd)
        var serverState = try tls13(serverEnd)
        var update = [UInt8](repeating: 0, count: TLS13RecordState.keyUpdateRecordLength)
        _ = try update.withUnsafeMutableBytes { try serverState.sealKeyUpdate(requestPeerUpdate: true, into: $0, crypto: crypto) }
        #expect(try openAll(&clientState, update, crypto).events == [.handshake(ticketsSkipped: 0, keyUpdate: true)])
        let reply = try seal(&clientState, [42], crypto)
        #expect(try openAll(&serverState, reply, crypto) == Opened(data: [42], events: [.handshake(ticketsSkipped: 0, keyUpdate: true)]))
        #expect(try openAll(&clientState, seal(&serverState, [43], crypto), crypto).data == [43])
    }

    @Test func tls12HandshakeKeepsTheSSLAndWorks() throws {
        let clientHandshake = try TLSHandshake(context: client, serverName: "localhost")
        #expect(clientHandshake.restrictToTLS12())
        let (clientEnd, serverEnd) = try handshake(clientHandshake, TLSHandshake(context: server))
        #expect(serverEnd.version == .tls12)
        #expect(serverEnd.cipherName == "ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(serverEnd.alpn == "http/1.1")
        guard case .tls12(let clientSession) = clientEnd.session, case .tls12(let serverSession) = serverEnd.session else {
            Issue.record("expected TLS 1.2 sessions")
            return
        }
        let crypto = try TLSRecordCrypto()
        var wire = [UInt8](repeating: 0, count: TLS12Session.sealedLength(plaintextCount: 5))
        let written = try Array("hello".utf8).withUnsafeBytes { input in
            try wire.withUnsafeMutableBytes { try clientSession.seal(input, into: $0) }
        }
        #expect(written == wire.count)
        var plaintext: [UInt8] = []
        let closed = try wire.withUnsafeBytes { try serverSession.open($0, scratch: crypto.scratch) { plaintext += $0 } }
        #expect(!closed)
        #expect(plaintext == Array("hello".utf8))
        var close = [UInt8](repeating: 0, count: 64)
        let closing = close.withUnsafeMutableBytes { serverSession.close(into: $0) }
        #expect(closing > 0)
        #expect(try close[..<closing].withUnsafeBytes { try clientSession.open($0, scratch: crypto.scratch) { _ in } })
    }

    @Test func tls11IsRefused() throws {
        let clientHandshake = try TLSHandshake(context: client, serverName: "localhost")
        // An old client: TLS 1.1 only, at the security level that still allows it.
        _ = clientHandshake.withSSL { ssl in
            SSL_set_security_level(ssl, 0)
            _ = SSL_set_cipher_list(ssl, "DEFAULT@SECLEVEL=0")
            return st_ssl_set_proto_range(ssl, TLS1_1_VERSION, TLS1_1_VERSION)
        }
        let serverHandshake = try TLSHandshake(context: server)
        var hello: [UInt8] = []
        #expect(try clientHandshake.advance(received: [UInt8]().span.bytes, output: &hello).needsInput)
        #expect(hello.count > 5 && hello[0] == 22)
        var alert: [UInt8] = []
        let error = #expect(throws: TLSHandshakeError.self) {
            _ = try serverHandshake.advance(received: hello.span.bytes, output: &alert)
        }
        guard case .protocolVersion = error else {
            Issue.record("expected protocolVersion, got \(String(describing: error))")
            return
        }
        // The server's answer is a protocol_version alert (21, version, length 2, fatal, 70).
        #expect(alert.count == 7 && alert[0] == 21 && alert[5] == 2 && alert[6] == TLSAlert.protocolVersion.rawValue)
        var nothing: [UInt8] = []
        let clientError = #expect(throws: TLSHandshakeError.self) {
            _ = try clientHandshake.advance(received: alert.span.bytes, output: &nothing)
        }
        // The client reads the alert as what it is: a refused version.
        #expect(clientError.map { if case .protocolVersion = $0 { true } else { false } } == true, "\(String(describing: clientError))")
    }

    @Test func plainHTTPOnTheTLSSideIsNotTLS() throws {
        let serverHandshake = try TLSHandshake(context: server)
        var output: [UInt8] = []
        let error = #expect(throws: TLSHandshakeError.self) {
            _ = try serverHandshake.advance(
                received: Array("GET /v1 HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8).span.bytes, output: &output)
        }
        guard case .notTLS(let why) = error else {
            Issue.record("expected notTLS, got \(String(describing: error))")
            return
        }
        #expect(why.contains("http request"))
    }

    @Test func garbageIsRefused() throws {
        let serverHandshake = try TLSHandshake(context: server)
        var output: [UInt8] = []
        // A handshake record whose body is not a ClientHello.
        let garbage: [UInt8] = [22, 3, 1, 0, 8, 1, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF]
        let error = #expect(throws: TLSHandshakeError.self) {
            _ = try serverHandshake.advance(received: garbage.span.bytes, output: &output)
        }
        #expect(error != nil)
        // Whatever the cause, the peer is told with a fatal alert record.
        #expect(output.first == 21)
    }

    @Test func truncatedClientHelloEndsWithAClearError() throws {
        let clientHandshake = try TLSHandshake(context: client, serverName: "localhost")
        var hello: [UInt8] = []
        _ = try clientHandshake.advance(received: [UInt8]().span.bytes, output: &hello)
        let serverHandshake = try TLSHandshake(context: server)
        var output: [UInt8] = []
        let half = Array(hello[..<(hello.count / 2)])
        #expect(try serverHandshake.advance(received: half.span.bytes, output: &output).needsInput)
        #expect(output.isEmpty)
        guard case .truncated(let why) = serverHandshake.inputEnded(output: &output) else {
            Issue.record("expected truncated")
            return
        }
        #expect(why.contains("unexpected eof"))
    }

    @Test func clientWithoutHTTP11IsRefused() throws {
        let clientHandshake = try TLSHandshake(context: client, serverName: "localhost")
        let h2 = ALPN.wire(["h2"])
        _ = clientHandshake.withSSL { SSL_set_alpn_protos($0, h2, UInt32(h2.count)) }
        var hello: [UInt8] = []
        _ = try clientHandshake.advance(received: [UInt8]().span.bytes, output: &hello)
        let serverHandshake = try TLSHandshake(context: server)
        var alert: [UInt8] = []
        let error = #expect(throws: TLSHandshakeError.self) {
            _ = try serverHandshake.advance(received: hello.span.bytes, output: &alert)
        }
        #expect(error.map { "\($0)".contains("no application protocol") } == true, "\(String(describing: error))")
        // A plaintext fatal no_application_protocol alert: the ServerHello was never sent.
        #expect(alert == [21, 3, 3, 0, 2, 2, TLSAlert.noApplicationProtocol.rawValue])
    }

    @Test func unknownCAIsRefusedByTheClient() throws {
        let stranger = try TLSContext.client(caFile: TestCertificates.other.get().caFile)
        let error = #expect(throws: TLSHandshakeError.self) {
            _ = try handshake(TLSHandshake(context: stranger, serverName: "localhost"), TLSHandshake(context: server))
        }
        #expect(error.map { "\($0)".contains("certificate verify failed") } == true)
    }

    @Test(arguments: ["example.org", "127.0.0.2"])
    func wrongNameIsRefusedByTheClient(name: String) throws {
        let error = #expect(throws: TLSHandshakeError.self) {
            _ = try handshake(TLSHandshake(context: client, serverName: name), TLSHandshake(context: server))
        }
        #expect(error.map { "\($0)".contains("certificate verify failed") } == true)
    }

    @Test func reloadServesNewHandshakesAndSparesOnesUnderWay() throws {
        let other = try TestCertificates.other.get()
        let files = try copiedFiles("reload-new")
        let reloading = try TLSContext.server(files)
        // A handshake that has begun under the first certificate.
        let early = try TLSHandshake(context: client, serverName: "localhost")
        let earlyServer = try TLSHandshake(context: reloading)
        var hello: [UInt8] = []
        _ = try early.advance(received: [UInt8]().span.bytes, output: &hello)
        var reply: [UInt8] = []
        _ = try earlyServer.advance(received: hello.span.bytes, output: &reply)

        try overwrite(files.certificateChain, from: other.chainFile)
        try overwrite(files.privateKey, from: other.keyFile)
        try reloading.reload()
        // The one under way finishes with the old certificate, trusted by the old CA.
        var finished: [UInt8] = []
        guard case .established = try early.advance(received: reply.span.bytes, output: &finished) else {
            Issue.record("handshake under way did not finish")
            return
        }
        // A new one gets the new certificate: the old CA refuses it, the new CA accepts it.
        #expect(throws: TLSHandshakeError.self) {
            _ = try handshake(TLSHandshake(context: client, serverName: "localhost"), TLSHandshake(context: reloading))
        }
        let newClient = try TLSContext.client(caFile: other.caFile)
        _ = try handshake(TLSHandshake(context: newClient, serverName: "localhost"), TLSHandshake(context: reloading))
    }

    @Test func reloadFailureKeepsTheCurrentContext() throws {
        let files = try copiedFiles("reload-bad")
        let reloading = try TLSContext.server(files)
        // A key that does not match the certificate.
        try overwrite(files.privateKey, from: TestCertificates.other.get().keyFile)
        let mismatch = #expect(throws: TLSConfigurationError.self) { try reloading.reload() }
        #expect(mismatch.map { $0.description.contains("mismatch") } == true, "\(String(describing: mismatch))")
        try "not a key".write(toFile: files.privateKey, atomically: true, encoding: .utf8)
        #expect(throws: TLSConfigurationError.self) { try reloading.reload() }
        _ = try handshake(TLSHandshake(context: client, serverName: "localhost"), TLSHandshake(context: reloading))
    }

    @Test func missingFilesAreNamed() throws {
        let error = #expect(throws: TLSConfigurationError.self) {
            _ = try TLSContext.server(
                TLSServerFiles(certificateChain: certificates.directory + "/missing.pem", privateKey: certificates.keyFile))
        }
        #expect(error.map { $0.description.contains("missing.pem") } == true)
    }

    private func copiedFiles(_ name: String) throws -> TLSServerFiles {
        let directory = certificates.directory + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = TLSServerFiles(certificateChain: directory + "/chain.pem", privateKey: directory + "/server.key")
        try overwrite(files.certificateChain, from: certificates.chainFile)
        try overwrite(files.privateKey, from: certificates.keyFile)
        return files
    }

    private func overwrite(_ path: String, from source: String) throws {
        try String(contentsOfFile: source, encoding: .utf8).write(toFile: path, atomically: true, encoding: .utf8)
    }
}

extension TLSHandshakeStatus {
    var needsInput: Bool {
        if case .needsInput = self { true } else { false }
    }
}
