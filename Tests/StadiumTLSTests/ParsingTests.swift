/// The pure parts of the handshake: key log lines, ALPN lists, HkdfLabel.
import Testing

@testable import StadiumTLS

@Suite struct ParsingTests {
    @Test func keyLogKeepsOnlyApplicationTrafficSecrets() {
        let random = String(repeating: "ab", count: 32)
        let line = KeyLogLine("CLIENT_TRAFFIC_SECRET_0 \(random) 00ff10Aa")
        #expect(line?.label == .clientTrafficSecret0)
        #expect(line?.secret == [0x00, 0xFF, 0x10, 0xAA])
        #expect(KeyLogLine("SERVER_TRAFFIC_SECRET_0 \(random) 0102")?.label == .serverTrafficSecret0)
        #expect(KeyLogLine("CLIENT_HANDSHAKE_TRAFFIC_SECRET \(random) 0102") == nil)
        #expect(KeyLogLine("CLIENT_TRAFFIC_SECRET_0 \(random) 010") == nil)
        #expect(KeyLogLine("CLIENT_TRAFFIC_SECRET_0 \(random) 01zz") == nil)
        #expect(KeyLogLine("CLIENT_TRAFFIC_SECRET_0 \(random)") == nil)
    }

    @Test func alpnPicksHTTP11FromTheClientList() {
        let offered = ALPN.wire(["h2", "http/1.1"])
        #expect(offered == [2] + Array("h2".utf8) + [8] + Array("http/1.1".utf8))
        let chosen = selectHTTP11(from: offered)
        #expect(chosen?.offset == 4 && chosen?.count == 8)
        #expect(selectHTTP11(from: ALPN.wire(["h2"])) == nil)
        // A length running past the end, or a zero length, makes the whole list malformed.
        #expect(selectHTTP11(from: [9] + Array("http/1.1".utf8)) == nil)
        #expect(selectHTTP11(from: [0, 8] + Array("http/1.1".utf8)) == nil)
    }

    /// Outside `#expect`, which cannot capture a span.
    private func selectHTTP11(from offered: [UInt8]) -> (offset: Int, count: Int)? {
        ALPN.select("http/1.1", from: offered.span.bytes)
    }

    private func header(_ bytes: [UInt8]) throws(TLSRecordError) -> TLSRecordHeader.Parsed {
        try TLSRecordHeader.parse(bytes.span.bytes)
    }

    @Test func hkdfLabelMatchesRFC8448Info() {
        // RFC 8448: "key info (13 octets): 00 10 09 74 6c 73 31 33 20 6b 65 79 00", and the iv's.
        #expect(HKDFLabel.encode(length: 16, label: "key", context: []) == hex("00 10 09 74 6c 73 31 33 20 6b 65 79 00"))
        #expect(HKDFLabel.encode(length: 12, label: "iv", context: []) == hex("00 0c 08 74 6c 73 31 33 20 69 76 00"))
    }

    @Test func headerFraming() throws {
        let record: [UInt8] = [23, 3, 3, 0, 2, 9, 9, 23]
        #expect(try header(record) == .complete(type: 23, length: 7))
        #expect(try header(Array(record[..<3])) == .incomplete(needed: 5))
        #expect(try header(Array(record[..<6])) == .incomplete(needed: 7))
        #expect(throws: TLSRecordError.notTLS) { try header(Array("G".utf8)) }
    }
}
