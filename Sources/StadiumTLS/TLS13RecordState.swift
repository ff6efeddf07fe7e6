/// Which end of the connection this is: a server never receives NewSessionTicket.
public enum TLSRole: Sendable {
    case server
    case client
}

/// What one opened record held.
public enum TLS13OpenedRecord: Equatable, Sendable {
    /// Application data, decrypted in place at these offsets of the record's buffer (may be empty).
    case applicationData(Range<Int>)
    /// Post-handshake messages: tickets skipped, and whether a KeyUpdate changed the read keys.
    case handshake(ticketsSkipped: Int, keyUpdate: Bool)
    /// The peer's close_notify: nothing more will be read.
    case closeNotify
    /// A user_canceled warning, which RFC 8446 says is followed by close_notify.
    case userCanceled
}

/// All a TLS 1.3 connection keeps after its handshake, as kernel TLS would: the keys, IVs,
/// secrets and sequence numbers of both directions (about 230 bytes, no heap). Seals and
/// opens records into caller buffers through a thread's `TLSRecordCrypto`.
public struct TLS13RecordState: Sendable {
    public let suite: TLS13CipherSuite
    public let role: TLSRole
    private var readKeys: TrafficKeys
    private var writeKeys: TrafficKeys
    private var postHandshake = PostHandshakeParser()
    /// The peer asked for a KeyUpdate: ours goes out before the next record we seal.
    public private(set) var keyUpdateOwed = false
    public private(set) var peerClosed = false
    public private(set) var writeClosed = false

    /// Records sealed under one key before this end moves to the next (RFC 8446 section 5.5
    /// bounds AES-GCM at 2^24.5; ChaCha20-Poly1305 allows more, one rule serves both).
    public static let recordsPerKey: UInt64 = 1 << 24

    /// Bytes a record adds to its content: header, inner type byte, AEAD tag.
    public static let recordOverhead = TLSRecordHeader.length + 1 + TLS13CipherSuite.tagLength
    /// A KeyUpdate record: the 4-byte handshake header and its 1-byte body, sealed.
    public static let keyUpdateRecordLength = recordOverhead + 5
    public static let alertRecordLength = recordOverhead + 2

    /// State from the application traffic secrets of a finished handshake (RFC 8446 section 7.1).
    public init(
        suite: TLS13CipherSuite, role: TLSRole, clientSecret: some Collection<UInt8>,
        serverSecret: some Collection<UInt8>
    ) throws(TLSRecordError) {
        self.suite = suite
        self.role = role
        let client = try TrafficKeys(suite: suite, secret: clientSecret)
        let server = try TrafficKeys(suite: suite, secret: serverSecret)
        readKeys = role == .server ? client : server
        writeKeys = role == .server ? server : client
    }

    /// Tests reach the per-key record limit without sealing 2^24 records.
    mutating func advanceWriteSequenceForTesting(to sequence: UInt64) {
        writeKeys.sequence = sequence
    }

    mutating func advanceReadSequenceForTesting(to sequence: UInt64) {
        readKeys.sequence = sequence
    }

    public var readSequence: UInt64 { readKeys.sequence }
    public var writeSequence: UInt64 { writeKeys.sequence }

    /// How many bytes `seal` writes for `count` bytes of application data (records of at most 2^14).
    public func sealedLength(plaintextCount count: Int) -> Int {
        let records = max(1, (count + TLSRecordHeader.maxPlaintext - 1) / TLSRecordHeader.maxPlaintext)
        return count + records * Self.recordOverhead + (keyUpdateOwed ? Self.keyUpdateRecordLength : 0)
    }

    // MARK: sealing

    /// Seals application data into `output` as records of at most 2^14 bytes each (after the
    /// KeyUpdate the peer asked for, if one is owed); returns the bytes written.
    public mutating func seal(
        _ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto
    ) throws(TLSRecordError) -> Int {
        guard !writeClosed else { throw .closed }
        guard output.count >= sealedLength(plaintextCount: plaintext.count) else {
            throw .cryptoFailure("output buffer of \(output.count) bytes for \(sealedLength(plaintextCount: plaintext.count))")
        }
        var written = 0
        if keyUpdateOwed {
            written += try sealKeyUpdate(requestPeerUpdate: false, into: output, crypto: crypto)
        }
        var offset = 0
        repeat {
            let chunk = min(TLSRecordHeader.maxPlaintext, plaintext.count - offset)
            let content = UnsafeRawBufferPointer(rebasing: plaintext[offset..<(offset + chunk)])
            written += try sealRecord(
                innerTypeByte: TLSContentType.applicationData.rawValue, content: content,
                into: UnsafeMutableRawBufferPointer(rebasing: output[written...]), crypto: crypto)
            offset += chunk
        } while offset < plaintext.count
        return written
    }

    /// Seals a KeyUpdate under the current keys, then moves the write side to the next keys.
    public mutating func sealKeyUpdate(
        requestPeerUpdate: Bool, into output: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto
    ) throws(TLSRecordError) -> Int {
        guard !writeClosed else { throw .closed }
        let message: [UInt8] = [PostHandshakeParser.keyUpdate, 0, 0, 1, requestPeerUpdate ? 1 : 0]
        let written = try message.withUnsafeBytes { content in
            Result { () throws(TLSRecordError) in
                try sealRecord(innerTypeByte: TLSContentType.handshake.rawValue, content: content, into: output, crypto: crypto)
            }
        }.get()
        try writeKeys.update(suite: suite)
        keyUpdateOwed = false
        return written
    }

    /// Seals an alert (close_notify to end cleanly, or the reason for a fatal error); nothing
    /// is sealed after it.
    public mutating func sealAlert(
        _ alert: TLSAlert, into output: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto
    ) throws(TLSRecordError) -> Int {
        guard !writeClosed else { throw .closed }
        // close_notify and user_canceled are warnings (1); every other alert is fatal (2).
        let level: UInt8 = alert == .closeNotify || alert == .userCanceled ? 1 : 2
        let message: [UInt8] = [level, alert.rawValue]
        let written = try message.withUnsafeBytes { content in
            Result { () throws(TLSRecordError) in
                try sealRecord(innerTypeByte: TLSContentType.alert.rawValue, content: content, into: output, crypto: crypto)
            }
        }.get()
        writeClosed = true
        return written
    }

    /// One record of any inner type (internal: tests build records a peer could send).
    mutating func sealRecord(
        innerTypeByte: UInt8, content: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        crypto: TLSRecordCrypto
    ) throws(TLSRecordError) -> Int {
        guard writeKeys.sequence < UInt64.max else { throw .sequenceExhausted }
        let bodyLength = content.count + 1 + TLS13CipherSuite.tagLength
        guard output.count >= TLSRecordHeader.length + bodyLength else {
            throw .cryptoFailure("output buffer too small for a record")
        }
        TLSRecordHeader.write(type: .applicationData, bodyLength: bodyLength, into: output)
        try crypto.seal(
            suite: suite, keys: writeKeys, header: UnsafeRawBufferPointer(rebasing: output[..<TLSRecordHeader.length]),
            content: content, innerType: innerTypeByte,
            output: UnsafeMutableRawBufferPointer(rebasing: output[TLSRecordHeader.length..<(TLSRecordHeader.length + bodyLength)]))
        writeKeys.sequence += 1
        // The next seal starts with a KeyUpdate; sealedLength already counts it.
        if writeKeys.sequence >= Self.recordsPerKey { keyUpdateOwed = true }
        return TLSRecordHeader.length + bodyLength
    }

    // MARK: opening

    /// Opens one whole record (header included, as framed by `TLSRecordHeader.parse`),
    /// decrypting it in place.
    public mutating func open(
        record: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto
    ) throws(TLSRecordError) -> TLS13OpenedRecord {
        guard !peerClosed else { throw .closed }
        guard case .complete(let type, let length) = try TLSRecordHeader.parse(buffer: UnsafeRawBufferPointer(record)),
            length == record.count
        else { throw .decodeError("open needs exactly one whole record") }
        // After the handshake every record is protected (a middlebox-compatibility
        // change_cipher_spec is only allowed before it).
        guard type == TLSContentType.applicationData.rawValue else {
            throw .unexpectedMessage("record type \(type) after the handshake")
        }
        let bodyLength = length - TLSRecordHeader.length
        guard bodyLength > TLS13CipherSuite.tagLength else { throw .badRecordMAC }
        guard bodyLength - TLS13CipherSuite.tagLength <= TLSRecordHeader.maxInnerPlaintext else {
            throw .recordOverflow(length: bodyLength)
        }
        guard readKeys.sequence < UInt64.max else { throw .sequenceExhausted }
        let body = UnsafeMutableRawBufferPointer(rebasing: record[TLSRecordHeader.length...])
        guard
            try crypto.open(
                suite: suite, keys: readKeys, header: UnsafeRawBufferPointer(rebasing: record[..<TLSRecordHeader.length]),
                body: body)
        else { throw .badRecordMAC }
        readKeys.sequence += 1

        // The inner type is the last non-zero byte; zeros after it are padding.
        var end = TLSRecordHeader.length + bodyLength - TLS13CipherSuite.tagLength
        while end > TLSRecordHeader.length, record[end - 1] == 0 { end -= 1 }
        guard end > TLSRecordHeader.length else { throw .unexpectedMessage("record of padding only") }
        let innerType = record[end - 1]
        let content = TLSRecordHeader.length..<(end - 1)
        if postHandshake.inMessage, innerType != TLSContentType.handshake.rawValue {
            throw .unexpectedMessage("record type \(innerType) inside a handshake message")
        }
        switch TLSContentType(rawValue: innerType) {
        case .applicationData:
            return .applicationData(content)
        case .handshake:
            guard !content.isEmpty else { throw .unexpectedMessage("empty handshake record") }
            return try openHandshake(UnsafeRawBufferPointer(rebasing: record[content]))
        case .alert:
            return try openAlert(UnsafeRawBufferPointer(rebasing: record[content]))
        case .changeCipherSpec, nil:
            throw .unexpectedMessage("inner content type \(innerType)")
        }
    }

    private mutating func openHandshake(_ content: UnsafeRawBufferPointer) throws(TLSRecordError) -> TLS13OpenedRecord {
        var tickets = 0
        var update: Bool? = nil
        try postHandshake.consume(content, acceptsTickets: role == .client) { event in
            switch event {
            case .ticketSkipped: tickets += 1
            case .keyUpdate(let requested): update = requested
            }
        }
        guard let requested = update else { return .handshake(ticketsSkipped: tickets, keyUpdate: false) }
        try readKeys.update(suite: suite)
        // A request is answered once, even if several arrive before we write (section 4.6.3).
        if requested, !writeClosed { keyUpdateOwed = true }
        return .handshake(ticketsSkipped: tickets, keyUpdate: true)
    }

    private mutating func openAlert(_ content: UnsafeRawBufferPointer) throws(TLSRecordError) -> TLS13OpenedRecord {
        guard content.count == 2 else { throw .decodeError("alert of \(content.count) bytes") }
        switch content[1] {
        case TLSAlert.closeNotify.rawValue:
            peerClosed = true
            return .closeNotify
        case TLSAlert.userCanceled.rawValue:
            return .userCanceled
        default:
            // Every other alert is fatal in TLS 1.3, whatever level it claims (section 6).
            peerClosed = true
            throw .peerAlert(content[1])
        }
    }
}
