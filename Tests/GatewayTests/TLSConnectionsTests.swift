/// A ring's TLS connections (RingTLS) without a ring: a client stage in memory talks to slot 3, frames
/// come from a real FramePool, and what the ring would send is handed to the client.
import RingTLS
import StadiumTLS
import StadiumTestSupport
import Testing
import UringIO

@testable import Gateway

struct TLSConnectionsHarness {
    let frames = FramePool(capacity: 256)
    let connections: TLSConnections
    let crypto: TLSRecordCrypto
    var client: TLSStage
    var toServer: [UInt8] = []
    var clientReceived: [UInt8] = []
    var clientStatus = TLSStageStatus.handshaking
    let slot: UInt32 = 3

    init(tls12: Bool = false) throws {
        let certificates = try TestCertificates.shared.get()
        let server = try TLSContext.server(
            TLSServerFiles(certificateChain: certificates.chainFile, privateKey: certificates.keyFile))
        connections = try TLSConnections(context: server, frames: frames, slots: 8, trim: HandshakeMemoryTrim())
        crypto = try TLSRecordCrypto()
        let handshake = try TLSHandshake(context: try TLSContext.client(caFile: certificates.caFile), serverName: "localhost")
        if tls12 { _ = handshake.restrictToTLS12() }
        client = TLSStage(handshake: handshake)
        try client.start(send: &toServer)
        #expect(connections.opened(slot))
    }

    /// Gives the server what the client wrote; a flight goes back to the client as the ring would send it.
    mutating func serverReads(_ bytes: [UInt8]) throws -> TLSReceived.Outcome {
        var read = bytes
        let received = read.withUnsafeMutableBytes { connections.receive(slot, $0) }
        if let flight = received.flight {
            connections.noteWireFrame(slot)
            try clientReads(writtenBy: flight)
        }
        return received.outcome
    }

    /// What the sealer makes of `frame`, read by the client.
    mutating func clientReads(writtenBy frame: FrameHandle) throws {
        let wire = try #require(connections.seal(slot, frame))
        var bytes = Array(frames.bytes(wire))
        if wire != frame { frames.release(wire) }
        frames.release(frame)
        clientStatus = try bytes.withUnsafeMutableBytes { buffer in
            try client.receive(buffer, crypto: crypto, send: &toServer) { clientReceived += $0 }
        }
    }

    mutating func handshake() throws {
        while connections.isHandshaking(slot) {
            let flight = toServer
            toServer = []
            #expect(!flight.isEmpty)
            _ = try serverReads(flight)
        }
    }

    func frame(_ text: String) throws -> FrameHandle {
        let frame = try frames.acquire(bytes: text.utf8.count)
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { frames.writableBytes(frame).copyMemory(from: $0) }
        frames.setLength(frame, bytes.count)
        return frame
    }

    mutating func clientSeals(_ text: String) throws -> [UInt8] {
        let plaintext = Array(text.utf8)
        var output = [UInt8](repeating: 0, count: client.sealedLength(plaintextCount: plaintext.count))
        let written = try plaintext.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { try client.seal(input, into: $0, crypto: crypto) }
        }
        return Array(output[..<written])
    }

    /// The plaintext handed to the session, which uses `using` bytes of it at most.
    func sessionReads(using limit: Int = .max) -> String {
        var seen = ""
        connections.consumePlaintext(slot) { bytes in
            seen = String(decoding: bytes, as: UTF8.self)
            return min(limit, bytes.count)
        }
        return seen
    }
}

@Suite struct TLSConnectionsTests {
    @Test(arguments: [false, true])
    func handshakeThenPlaintextBothWays(tls12: Bool) throws {
        var pair = try TLSConnectionsHarness(tls12: tls12)
        try pair.handshake()
        #expect(!pair.connections.isHandshaking(pair.slot))
        #expect(try pair.serverReads(try pair.clientSeals("GET / HTTP/1.1\r\n")) == .open)
        // The session used 4 bytes: the rest comes again in front of the next read's plaintext.
        #expect(pair.sessionReads(using: 4) == "GET / HTTP/1.1\r\n")
        #expect(try pair.serverReads(try pair.clientSeals("Host: x\r\n")) == .open)
        #expect(pair.sessionReads() == "/ HTTP/1.1\r\nHost: x\r\n")
        // A frame encoded once is sealed for this socket; the client opens it.
        try pair.clientReads(writtenBy: try pair.frame("HTTP/1.1 101 Switching Protocols\r\n\r\n"))
        try pair.clientReads(writtenBy: try pair.frame("second"))
        #expect(String(decoding: pair.clientReceived, as: UTF8.self) == "HTTP/1.1 101 Switching Protocols\r\n\r\nsecond")
    }

    @Test func closeNotifyEndsTheClientsRead() throws {
        var pair = try TLSConnectionsHarness()
        try pair.handshake()
        let notify = try #require(pair.connections.closeNotify(pair.slot))
        pair.connections.noteWireFrame(pair.slot)
        try pair.clientReads(writtenBy: notify)
        #expect(pair.clientStatus == .peerClosed)
        // Only one close_notify: nothing more may be sealed after it.
        #expect(pair.connections.closeNotify(pair.slot) == nil)
    }

    @Test func peersCloseNotifyIsReported() throws {
        var pair = try TLSConnectionsHarness()
        try pair.handshake()
        var output = [UInt8](repeating: 0, count: TLSConnections.alertRoom)
        let written = output.withUnsafeMutableBytes { pair.client.sealClose(into: $0, crypto: pair.crypto) }
        #expect(try pair.serverReads(Array(output[..<written])) == .peerClosed)
    }

    @Test func plainHTTPOnTheTLSPortFailsAsNotTLS() throws {
        var pair = try TLSConnectionsHarness()
        let outcome = try pair.serverReads(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        guard case .failed(let error) = outcome else {
            Issue.record("plain HTTP was taken: \(outcome)")
            return
        }
        #expect(ErrorKind(error) == .tlsNotTLS)
        // Counted once: the close that follows is not a truncated handshake too.
        #expect(!pair.connections.closed(pair.slot))
    }

    @Test func aClientHelloCutShortIsTruncatedAtClose() throws {
        var pair = try TLSConnectionsHarness()
        let hello = pair.toServer
        #expect(try pair.serverReads(Array(hello.prefix(hello.count / 2))) == .handshaking)
        #expect(pair.connections.isHandshaking(pair.slot))
        #expect(pair.connections.closed(pair.slot))
    }

    @Test func aSilentConnectionIsNotTruncated() throws {
        let pair = try TLSConnectionsHarness()
        #expect(!pair.connections.closed(pair.slot))
    }

    @Test func aForgedRecordFailsWithAnAlert() throws {
        var pair = try TLSConnectionsHarness()
        try pair.handshake()
        var record = try pair.clientSeals("hello")
        record[record.count - 1] ^= 1
        var read = record
        let received = read.withUnsafeMutableBytes { pair.connections.receive(pair.slot, $0) }
        #expect(received.outcome == .failed(.record(.badRecordMAC)))
        #expect(ErrorKind(TLSStageError.record(.badRecordMAC)) == .tlsRecord)
        let alert = try #require(received.flight)
        pair.connections.noteWireFrame(pair.slot)
        #expect(throws: TLSStageError.record(.peerAlert(TLSAlert.badRecordMAC.rawValue))) {
            try pair.clientReads(writtenBy: alert)
        }
    }

    @Test func nothingIsSealedBeforeTheHandshakeEnds() throws {
        let pair = try TLSConnectionsHarness()
        let frame = try pair.frame("too early")
        #expect(pair.connections.seal(pair.slot, frame) == nil)
        pair.frames.release(frame)
    }
}

@Suite struct HandshakeTrimPolicyTests {
    @Test func trimsAfterEnoughHandshakesAndLongEnough() {
        let policy = HandshakeTrimPolicy()
        #expect(policy.isDue(handshakesSinceTrim: 1_000, nanosecondsSinceTrim: 5_000_000_000))
        #expect(!policy.isDue(handshakesSinceTrim: 999, nanosecondsSinceTrim: 60_000_000_000))
        #expect(!policy.isDue(handshakesSinceTrim: 100_000, nanosecondsSinceTrim: 4_999_999_999))
    }
}
