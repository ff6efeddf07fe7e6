/// The server's side of permessage-deflate negotiation (RFC 7692 section 7.1): which offer to
/// accept and what to answer. The gateway always answers with no context takeover in both
/// directions, so every message is compressed and inflated on its own: a broadcast message
/// can be compressed once for every socket, and no connection keeps a window between messages.
public enum PerMessageDeflate {
    public static let name = "permessage-deflate"

    /// The LZ77 window the gateway compresses with (32 KiB, zlib's largest).
    public static let serverWindowBits = 15

    /// What was agreed: the Sec-WebSocket-Extensions value of the 101.
    public struct Agreement: Hashable, Sendable {
        public var response: String
    }

    /// The first permessage-deflate offer the gateway can honour, or nil (no compression). An
    /// offer is declined, as section 7.1 requires, when it has an unknown, duplicated or
    /// ill-valued parameter, or asks for a server window under 15 bits (the gateway compresses
    /// once for everyone with one window; zlib cannot even make raw 8-bit windows).
    public static func negotiate(_ offers: [ExtensionOffer]) -> Agreement? {
        for offer in offers where offer.name.lowercased() == name {
            if let agreement = accept(offer) { return agreement }
        }
        return nil
    }

    private static func accept(_ offer: ExtensionOffer) -> Agreement? {
        var seen: Set<String> = []
        var serverWindowBits: Int?
        for parameter in offer.parameters {
            let parameterName = parameter.name.lowercased()
            guard seen.insert(parameterName).inserted else { return nil }
            switch parameterName {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard parameter.value == nil else { return nil }
            case "server_max_window_bits":
                guard let bits = parameter.value.flatMap(windowBits) else { return nil }
                serverWindowBits = bits
            case "client_max_window_bits":
                // Without a value it only says the client could take a limit; the gateway sets none.
                if let value = parameter.value, windowBits(value) == nil { return nil }
            default:
                return nil
            }
        }
        if let serverWindowBits, serverWindowBits < Self.serverWindowBits { return nil }
        var response = "\(name); server_no_context_takeover; client_no_context_takeover"
        // An offered server_max_window_bits must be answered (section 7.1.2.1).
        if serverWindowBits != nil { response += "; server_max_window_bits=\(Self.serverWindowBits)" }
        return Agreement(response: response)
    }

    /// What a client offers, as browsers do.
    public static let clientOffer = "\(name); client_max_window_bits"

    /// A client's reading of the Sec-WebSocket-Extensions of the 101 after it offered
    /// `clientOffer`: true when permessage-deflate was agreed, false when nothing was. Nil when the
    /// answer cannot be used (section 7.1: the client then fails the connection): bad syntax,
    /// another extension, an ill-valued parameter, or a server that keeps its context between
    /// messages (a client inflating each message on its own could not read it).
    public static func clientAccepts(_ values: [String]) -> Bool? {
        guard let answers = ExtensionOffer.parse(values) else { return nil }
        guard let answer = answers.first else { return false }
        guard answers.count == 1, answer.name.lowercased() == name else { return nil }
        var seen: Set<String> = []
        for parameter in answer.parameters {
            let parameterName = parameter.name.lowercased()
            guard seen.insert(parameterName).inserted else { return nil }
            switch parameterName {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard parameter.value == nil else { return nil }
            case "server_max_window_bits", "client_max_window_bits":
                guard parameter.value.flatMap(windowBits) != nil else { return nil }
            default:
                return nil
            }
        }
        return seen.contains("server_no_context_takeover") ? true : nil
    }

    /// 8 to 15, decimal, without leading zeros (section 7.1.2).
    private static func windowBits(_ text: String) -> Int? {
        guard let bits = Int(text), (8...15).contains(bits), String(bits) == text else { return nil }
        return bits
    }

    /// Bytes a compressed message may take on the wire for `maxMessageBytes` once inflated:
    /// incompressible data grows a little in deflate's stored blocks (5 bytes per 64 KiB).
    public static func compressedLimit(maxMessageBytes: Int) -> Int {
        maxMessageBytes + maxMessageBytes / 1024 + 64
    }
}
