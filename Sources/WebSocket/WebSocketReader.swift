/// The per-connection frame reader: a small state machine that turns the
/// connection's unread bytes into messages and control frames, enforcing RFC 6455
/// framing rules, message size limits and UTF-8 validity. Unfragmented messages are
/// unmasked in place and handed out without copies; only a fragmented message in
/// progress owns a buffer. With permessage-deflate agreed, a message whose first frame has
/// RSV1 is inflated whole (by the caller's `MessageInflater`) once its last frame is in.
public struct WebSocketReader {
    /// The data message being reassembled from fragments.
    private enum Assembly: UInt8 {
        case none
        case text
        case binary
    }

    private enum Phase: UInt8 {
        case open
        /// A close frame arrived: later bytes are discarded.
        case closeReceived
        /// The peer broke the protocol; the caller is closing the connection.
        case failed
    }

    public let maxMessageBytes: Int
    public let role: WebSocketRole
    private var phase: Phase = .open
    private var assembly: Assembly = .none
    /// The message being reassembled is compressed: its fragments are deflate data.
    private var assemblingCompressed = false
    /// Set once permessage-deflate was agreed: RSV1 on a message's first frame means compressed.
    public var inflatesMessages = false
    /// Why the last `.fail` happened, when it was a compressed message that would not inflate.
    public private(set) var inflateFailure: InflateFailure?
    private var utf8 = IncrementalUTF8Validator()
    /// Allocated only while a fragmented message is in progress.
    private var fragments: [UInt8]?

    public init(role: WebSocketRole, maxMessageBytes: Int) {
        precondition(maxMessageBytes >= 0, "maxMessageBytes must not be negative")
        self.role = role
        self.maxMessageBytes = maxMessageBytes
    }

    /// The input capacity a caller needs so that the largest allowed frame fits whole.
    public var requiredInputCapacity: Int {
        max(compressedLimit, FrameEncoder.maxControlPayload) + FrameEncoder.maxHeaderLength
    }

    /// Bytes a compressed message may take before it is inflated.
    private var compressedLimit: Int {
        inflatesMessages ? PerMessageDeflate.compressedLimit(maxMessageBytes: maxMessageBytes) : maxMessageBytes
    }

    /// True while a fragmented message is being reassembled.
    public var isAssemblingMessage: Bool { assembly != .none }

    /// Processes every complete frame at the start of `input`, unmasking payloads in
    /// place and calling `onEvent` for each message or control frame. Stops at the
    /// first incomplete frame; call again with the unconsumed tail plus new bytes. `inflater`
    /// inflates compressed messages (needed once `inflatesMessages` is set). An event's payload
    /// is a span of `input`, of the fragment buffer or of the inflater: it cannot leave `onEvent`.
    public mutating func consume(
        _ input: UnsafeMutableRawBufferPointer,
        inflater: MessageInflater? = nil,
        _ onEvent: (WebSocketEvent) -> Void
    ) -> ReadOutcome {
        switch phase {
        case .open: break
        case .closeReceived: return .consumed(input.count)
        case .failed: return .fail(.protocolError, reason: "reader already failed")
        }
        var offset = 0
        while offset < input.count {
            let unread = UnsafeMutableRawBufferPointer(rebasing: input[offset...])
            let header: FrameHeader
            switch FrameHeader.parse(buffer: UnsafeRawBufferPointer(unread)) {
            case .incomplete:
                return .consumed(offset)
            case .invalid(let reason):
                return fail(.protocolError, reason)
            case .header(let parsed):
                header = parsed
            }
            if let failure = check(header) {
                phase = .failed
                return failure
            }
            // check(header) bounded the length by maxMessageBytes or 125, so it fits an Int.
            let payloadCount = Int(header.payloadLength)
            guard unread.count - header.headerLength >= payloadCount else {
                return .consumed(offset)
            }
            let payload = UnsafeMutableRawBufferPointer(
                rebasing: unread[header.headerLength..<(header.headerLength + payloadCount)]
            )
            if let maskKey = header.maskKey {
                FrameEncoder.mask(payload, key: maskKey)
            }
            offset += header.headerLength + payloadCount
            if let failure = handle(header, UnsafeRawBufferPointer(payload), inflater, onEvent) {
                phase = .failed
                return failure
            }
            if phase == .closeReceived {
                return .consumed(offset)
            }
        }
        return .consumed(offset)
    }

    private mutating func fail(_ code: CloseCode, _ reason: String) -> ReadOutcome {
        phase = .failed
        return .fail(code, reason: reason)
    }

    /// Rules decidable from the header alone, checked before waiting for the payload.
    private func check(_ header: FrameHeader) -> ReadOutcome? {
        guard header.reservedBits & 0b011 == 0, header.reservedBits == 0 || inflatesMessages else {
            return .fail(.protocolError, reason: "reserved bits set without a negotiated extension")
        }
        guard header.opcode.isDefined else {
            return .fail(.protocolError, reason: "unknown opcode \(header.opcode)")
        }
        // RFC 7692 section 6.1: RSV1 only on the first frame of a data message.
        if header.reservedBits != 0, header.opcode.isControl || header.opcode == .continuation {
            return .fail(.protocolError, reason: "RSV1 set on a \(header.opcode) frame")
        }
        switch role {
        case .server where !header.isMasked:
            return .fail(.protocolError, reason: "client frames must be masked")
        case .client where header.isMasked:
            return .fail(.protocolError, reason: "server frames must not be masked")
        case .server, .client:
            break
        }
        if header.opcode.isControl {
            guard header.fin else {
                return .fail(.protocolError, reason: "fragmented \(header.opcode) frame")
            }
            guard header.payloadLength <= UInt64(FrameEncoder.maxControlPayload) else {
                return .fail(.protocolError, reason: "\(header.opcode) payload over 125 bytes")
            }
            return nil
        }
        let alreadyBuffered: Int
        let compressed: Bool
        if header.opcode == .continuation {
            guard assembly != .none else {
                return .fail(.protocolError, reason: "continuation frame without a message in progress")
            }
            alreadyBuffered = fragments?.count ?? 0
            compressed = assemblingCompressed
        } else {
            guard assembly == .none else {
                return .fail(.protocolError, reason: "new \(header.opcode) message while a fragmented one is in progress")
            }
            alreadyBuffered = 0
            compressed = header.reservedBits != 0
        }
        // A compressed message is held to the limit again once inflated.
        let limit = compressed ? compressedLimit : maxMessageBytes
        guard header.payloadLength <= UInt64(limit - alreadyBuffered) else {
            return .fail(.messageTooBig, reason: "message over \(maxMessageBytes) bytes")
        }
        return nil
    }

    private mutating func handle(
        _ header: FrameHeader,
        _ payload: UnsafeRawBufferPointer,
        _ inflater: MessageInflater?,
        _ onEvent: (WebSocketEvent) -> Void
    ) -> ReadOutcome? {
        switch header.opcode {
        case .text, .binary:
            let isText = header.opcode == .text
            let compressed = header.reservedBits != 0
            if header.fin && compressed {
                return deliverCompressed(payload, isText: isText, inflater, onEvent)
            }
            if header.fin {
                if isText {
                    guard IncrementalUTF8Validator.isValid(buffer: payload) else { return invalidText() }
                    onEvent(.text(payload.bytes))
                } else {
                    onEvent(.binary(payload.bytes))
                }
                return nil
            }
            assembly = isText ? .text : .binary
            assemblingCompressed = compressed
            utf8.reset()
            fragments = []
            return appendFragment(payload, isFinal: false, inflater, onEvent)
        case .continuation:
            return appendFragment(payload, isFinal: header.fin, inflater, onEvent)
        case .ping:
            onEvent(.ping(payload.bytes))
            return nil
        case .pong:
            onEvent(.pong(payload.bytes))
            return nil
        case .close:
            return handleClose(payload, onEvent)
        default:
            return .fail(.protocolError, reason: "unknown opcode \(header.opcode)")
        }
    }

    private mutating func appendFragment(
        _ payload: UnsafeRawBufferPointer,
        isFinal: Bool,
        _ inflater: MessageInflater?,
        _ onEvent: (WebSocketEvent) -> Void
    ) -> ReadOutcome? {
        // Compressed fragments are deflate data: their text is checked once inflated.
        if assembly == .text && !assemblingCompressed {
            guard utf8.feed(buffer: payload), !isFinal || utf8.isComplete else { return invalidText() }
        }
        fragments!.append(contentsOf: payload)
        guard isFinal else { return nil }
        let message = fragments!
        let kind = assembly
        let compressed = assemblingCompressed
        fragments = nil
        assembly = .none
        assemblingCompressed = false
        if compressed {
            return message.withUnsafeBytes { deliverCompressed($0, isText: kind == .text, inflater, onEvent) }
        }
        let bytes = message.span.bytes
        if kind == .text {
            onEvent(.text(bytes))
        } else {
            onEvent(.binary(bytes))
        }
        return nil
    }

    /// Inflates a whole compressed message and hands it out; the limit applies to what it inflates to.
    private mutating func deliverCompressed(
        _ compressed: UnsafeRawBufferPointer,
        isText: Bool,
        _ inflater: MessageInflater?,
        _ onEvent: (WebSocketEvent) -> Void
    ) -> ReadOutcome? {
        guard let inflater else {
            return .fail(.internalError, reason: "no inflater for a compressed message")
        }
        precondition(inflater.limit >= maxMessageBytes, "the inflater's limit is below the reader's")
        switch inflater.inflate(compressed.bytes) {
        case .inflated(let message):
            guard message.byteCount <= maxMessageBytes else { return inflatedTooBig() }
            if isText {
                guard IncrementalUTF8Validator.isValid(message) else { return invalidText() }
                onEvent(.text(message))
            } else {
                onEvent(.binary(message))
            }
            return nil
        case .tooBig:
            return inflatedTooBig()
        case .corrupt(let reason):
            inflateFailure = .corrupt
            return .fail(.invalidPayloadData, reason: reason)
        }
    }

    private mutating func inflatedTooBig() -> ReadOutcome {
        inflateFailure = .tooBig
        return .fail(.messageTooBig, reason: "message over \(maxMessageBytes) bytes once inflated")
    }

    private func invalidText() -> ReadOutcome {
        .fail(.invalidPayloadData, reason: "text message is not valid UTF-8")
    }

    private mutating func handleClose(
        _ payload: UnsafeRawBufferPointer,
        _ onEvent: (WebSocketEvent) -> Void
    ) -> ReadOutcome? {
        var code: CloseCode?
        var reason = ""
        if payload.count == 1 {
            return .fail(.protocolError, reason: "close frame with a 1-byte payload")
        }
        if payload.count >= 2 {
            let received = CloseCode(rawValue: UInt16(payload[0]) << 8 | UInt16(payload[1]))
            guard received.isAllowedOnWire else {
                return .fail(.protocolError, reason: "close code \(received) is not allowed on the wire")
            }
            let reasonBytes = UnsafeRawBufferPointer(rebasing: payload[2...])
            guard IncrementalUTF8Validator.isValid(buffer: reasonBytes) else {
                return .fail(.invalidPayloadData, reason: "close reason is not valid UTF-8")
            }
            code = received
            reason = String(decoding: reasonBytes, as: UTF8.self)
        }
        phase = .closeReceived
        fragments = nil
        assembly = .none
        assemblingCompressed = false
        onEvent(.close(code: code, reason: reason))
        return nil
    }
}

/// Why a compressed message failed: a decompression bomb (1009), or data zlib cannot inflate (1007).
public enum InflateFailure: UInt8, Hashable, Sendable {
    case tooBig
    case corrupt
}
