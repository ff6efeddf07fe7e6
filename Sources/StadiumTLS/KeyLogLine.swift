/// One line of OpenSSL's key log (the NSS key log format): a label, the client random and a
/// secret, in hex. The handshake keeps only the two application traffic secrets from it.
struct KeyLogLine: Equatable, Sendable {
    enum Label: String, Sendable {
        case clientTrafficSecret0 = "CLIENT_TRAFFIC_SECRET_0"
        case serverTrafficSecret0 = "SERVER_TRAFFIC_SECRET_0"
    }

    let label: Label
    let secret: [UInt8]

    /// Nil for labels the record layer does not need and for lines that are not well formed.
    init?(_ line: String) {
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 3, let label = Label(rawValue: String(fields[0])),
            let secret = Self.hex(fields[2]), !secret.isEmpty
        else { return nil }
        self.label = label
        self.secret = secret
    }

    private static func hex(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// ALPN (RFC 7301): the wire form of a protocol list, and the server's choice from one.
public enum ALPN {
    public static let http11 = "http/1.1"

    /// `protocols` as a ProtocolNameList without its 2-byte length (what OpenSSL takes and gives).
    public static func wire(_ protocols: [String]) -> [UInt8] {
        protocols.flatMap { name in [UInt8(name.utf8.count)] + Array(name.utf8) }
    }

    /// The offset and length of `wanted` within the client's list; nil when it is absent or the
    /// list is malformed.
    public static func select(_ wanted: String, from offered: RawSpan) -> (offset: Int, count: Int)? {
        offered.withUnsafeBytes { select(wanted, buffer: $0) }
    }

    private static func select(_ wanted: String, buffer offered: UnsafeRawBufferPointer) -> (offset: Int, count: Int)? {
        let target = Array(wanted.utf8)
        var index = 0
        var found: (Int, Int)? = nil
        while index < offered.count {
            let length = Int(offered[index])
            guard length > 0, index + 1 + length <= offered.count else { return nil }
            if found == nil, length == target.count,
                UnsafeRawBufferPointer(rebasing: offered[(index + 1)..<(index + 1 + length)]).elementsEqual(target)
            {
                found = (index + 1, length)
            }
            index += 1 + length
        }
        return found
    }
}
