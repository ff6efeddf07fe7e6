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
        let chosen = offered.withUnsafeBytes { ALPN.select("http/1.1", from: $0) }
        #expect(chosen?.offset == 4 && chosen?.count == 8)
        #expect(ALPN.wire(["h2"]).withUnsafeBytes { ALPN.select("http/1.1", from: $0) } == nil)
        // A length running past the end, or a zero length, makes the whole list malformed.
        #expect(([9] + Array("http/1.1".utf8)).withUnsafeBytes { ALPN.select("http/1.1", from: $0) } == nil)
        #expect(([0, 8] + Array("http/1.1".utf8)).withUnsafeBytes { ALPN.select("http/1.1", from: $0) } == nil)
    }

    @Test func hkdfLabelMatchesRFC8448Info() {
        // RFC 8448: "key info (13 octets): 00 10 09 74 6c 73 31 33 20 6b 65 79 00", and the iv's.
        #expect(HKDFLabel.encode(length: 16, label: "key", context: []) == hex("00 10 09 74 6c 73 31 33 20 6b 65 79 00"))
        #expect(HKDFLabel.encode(length: 12, label: "iv", context: []) == hex("00 0c 08 74 6c 73 31 33 20 69 76 00"))
    }

    @Test func headerFraming() throws {
        let record: [UInt8] = [23, 3, 3, 0, 2, 9, 9, 23]
        #expect(try record.withUnsafeBytes { try TLSRecordHeader.parse($0) } == .complete(type: 23, length: 7))
        #expect(try record[..<3].withUnsafeBytes { try TLSRecordHeader.parse($0) } == .incomplete(needed: 5))
        #expect(try record[..<6].withUnsafeBytes { try TLSRecordHeader.parse($0) } == .incomplete(needed: 7))
        #expect(throws: TLSRecordError.notTLS) { try Array("G".utf8).withUnsafeBytes { try TLSRecordHeader.parse($0) } }
    }
}
