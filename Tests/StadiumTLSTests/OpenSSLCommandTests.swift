/// `openssl s_client` against this module's server role over a loopback socket: TLS 1.3 and
/// TLS 1.2 connect and exchange data, TLS 1.1 is refused. The socket code is the test's own
/// (blocking, one connection); the module sees only bytes.
import Foundation
import Glibc
import Synchronization
import StadiumTestSupport
import Testing

@testable import StadiumTLS

/// A listener on 127.0.0.1 at a port the kernel picks, serving one connection with `serve`.
final class LoopbackListener: @unchecked Sendable {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listening, pointer, length) == 0 && listen(listening, 1) == 0
                    && getsockname(listening, pointer, &length) == 0
            }
        }
        guard bound else {
            close(listening)
            throw POSIXError(.EADDRINUSE)
        }
        descriptor = listening
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(descriptor) }

    /// Accepts one connection; reads give up after 10 s so a stuck peer fails the test.
    func acceptOne() -> Int32 {
        let connection = accept(descriptor, nil, nil)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return connection
    }
}

func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent > 0 else { return }
        offset += sent
    }
}

func receiveSome(_ descriptor: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 16_384)
    let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
    return count > 0 ? Array(buffer[..<count]) : nil
}

/// What the server saw of one connection.
enum ServerOutcome: Sendable {
    case echoed(TLSVersion, alpnHTTP11: Bool)
    case refused(TLSHandshakeError)
    case broken(String)
}

/// Handshake, then answer the first line received with "pong <line>" and close_notify.
func serveOne(_ connection: Int32, context: TLSContext, crypto: TLSRecordCrypto) -> ServerOutcome {
    defer { close(connection) }
    do {
        var stage = TLSStage(handshake: try TLSHandshake(context: context))
        var line: [UInt8] = []
        while !line.contains(10) {
            guard var received = receiveSome(connection) else { return .broken("peer closed before a line") }
            var send: [UInt8] = []
            do {
                _ = try received.withUnsafeMutableBytes { try stage.receive($0, crypto: crypto, send: &send) { line += $0 } }
                sendAll(connection, send)
            } catch TLSStageError.handshake(let error) {
                sendAll(connection, send)
                return .refused(error)
            }
        }
        let reply = Array("pong ".utf8) + line
        var output = [UInt8](repeating: 0, count: stage.sealedLength(plaintextCount: reply.count) + 64)
        let written = try reply.withUnsafeBytes { input in try output.withUnsafeMutableBytes { try stage.seal(input, into: $0, crypto: crypto) } }
        let closing = output.withUnsafeMutableBytes {
            stage.sealClose(into: UnsafeMutableRawBufferPointer(rebasing: $0[written...]), crypto: crypto)
        }
        sendAll(connection, Array(output[..<(written + closing)]))
        return .echoed(stage.version ?? .tls13, alpnHTTP11: stage.alpnHTTP11)
    } catch {
        return .broken("\(error)")
    }
}

/// Runs `openssl s_client` with `flags` against a fresh listener; its exit status and output,
/// and what the server saw.
func sClient(_ flags: [String], context: TLSContext, caFile: String) throws -> (status: Int32, output: String, server: ServerOutcome) {
    let listener = try LoopbackListener()
    let crypto = try TLSRecordCrypto()
    let served = Mutex<ServerOutcome?>(nil)
    let thread = Thread {
        let outcome = serveOne(listener.acceptOne(), context: context, crypto: crypto)
        served.withLock { $0 = outcome }
    }
    thread.start()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "s_client", "-connect", "127.0.0.1:\(listener.port)", "-CAfile", caFile,
                         "-verify_return_error", "-alpn", "http/1.1", "-quiet"] + flags
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    input.fileHandleForWriting.write(Data("ping\n".utf8))
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try? input.fileHandleForWriting.close()
    while served.withLock({ $0 == nil }) { usleep(1000) }
    return (process.terminationStatus, String(decoding: data, as: UTF8.self), served.withLock { $0! })
}

@Suite(.serialized) struct OpenSSLCommandTests {
    let certificates: TestCertificates
    let server: TLSContext

    init() throws {
        certificates = try TestCertificates.shared.get()
        server = try TLSContext.server(TLSServerFiles(certificateChain: certificates.chainFile, privateKey: certificates.keyFile))
    }

    @Test(arguments: [("-tls1_3", TLSVersion.tls13), ("-tls1_2", TLSVersion.tls12)])
    func sClientConnectsAndExchangesData(flag: String, version: TLSVersion) throws {
        let (status, output, outcome) = try sClient([flag], context: server, caFile: certificates.caFile)
        #expect(output.contains("pong ping"), "\(output)")
        #expect(status == 0, "\(output)")
        guard case .echoed(let seen, let alpnHTTP11) = outcome else {
            Issue.record("server: \(outcome)")
            return
        }
        #expect(seen == version)
        #expect(alpnHTTP11)
    }

    @Test func sClientWithTLS11IsRefused() throws {
        let (status, output, outcome) = try sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], context: server, caFile: certificates.caFile)
        #expect(status != 0)
        #expect(!output.contains("pong"))
        guard case .refused(.protocolVersion) = outcome else {
            Issue.record("server: \(outcome), client: \(output)")
            return
        }
    }
}
