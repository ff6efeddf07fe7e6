/// Handshake messages after a TLS 1.3 handshake, which may span records: NewSessionTicket
/// (skipped: sessions are not resumed) and KeyUpdate (section 4.6.3). Any other message is
/// refused. Holds only a message header in progress and a count of bytes left to skip.
struct PostHandshakeParser: Sendable, Equatable {
    static let newSessionTicket: UInt8 = 4
    static let keyUpdate: UInt8 = 24

    enum Event: Equatable, Sendable {
        case ticketSkipped
        case keyUpdate(updateRequested: Bool)
    }

    private var header: UInt32 = 0
    private var headerCount: UInt8 = 0
    private var remaining: UInt32 = 0
    private var inBody = false

    /// True while a message has begun and not ended: no other record type may come between.
    var inMessage: Bool { headerCount > 0 || inBody }

    /// Consumes one record's handshake bytes; a KeyUpdate must end its record (section 5.1).
    mutating func consume(
        _ bytes: UnsafeRawBufferPointer, acceptsTickets: Bool, event: (Event) -> Void
    ) throws(TLSRecordError) {
        var index = 0
        while index < bytes.count {
            if !inBody {
                header = header << 8 | UInt32(bytes[index])
                headerCount += 1
                index += 1
                if headerCount == 4 { try beginBody(acceptsTickets: acceptsTickets, event: event) }
                continue
            }
            let type = UInt8(header >> 24)
            if type == Self.keyUpdate {
                let value = bytes[index]
                index += 1
                guard value <= 1 else { throw .illegalParameter("KeyUpdate request_update \(value)") }
                guard index == bytes.count else { throw .unexpectedMessage("KeyUpdate not at the end of its record") }
                finishMessage()
                event(.keyUpdate(updateRequested: value == 1))
            } else {
                let skipped = min(Int(remaining), bytes.count - index)
                index += skipped
                remaining -= UInt32(skipped)
                if remaining == 0 {
                    finishMessage()
                    event(.ticketSkipped)
                }
            }
        }
    }

    private mutating func beginBody(acceptsTickets: Bool, event: (Event) -> Void) throws(TLSRecordError) {
        let type = UInt8(header >> 24)
        let length = header & 0x00FF_FFFF
        switch type {
        case Self.keyUpdate:
            guard length == 1 else { throw .decodeError("KeyUpdate of \(length) bytes") }
        case Self.newSessionTicket where acceptsTickets:
            // lifetime(4) age_add(4) nonce<0..255> ticket<1..2^16-1> extensions<0..2^16-2>.
            guard length >= 13 else { throw .decodeError("NewSessionTicket of \(length) bytes") }
        default:
            throw .unexpectedMessage("handshake message type \(type) after the handshake")
        }
        inBody = true
        remaining = length
    }

    private mutating func finishMessage() {
        header = 0
        headerCount = 0
        remaining = 0
        inBody = false
    }
}
