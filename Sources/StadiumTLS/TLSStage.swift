/// Why a connection's TLS ended badly; `alert` is what to seal for the peer, if anything.
public enum TLSStageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The handshake failed; OpenSSL's alert, if any, is already in the bytes to send.
    case handshake(TLSHandshakeError)
    case record(TLSRecordError)

    public var description: String {
        switch self {
        case .handshake(let error): error.description
        case .record(let error): error.description
        }
    }
}

/// What `receive` left the connection as.
public enum TLSStageStatus: Equatable, Sendable {
    case handshaking
    case open
    /// The peer's close_notify arrived: nothing more will be delivered.
    case peerClosed
}

/// One connection's TLS between the ring's bytes and the WebSocket session: the handshake,
/// then records. Received bytes are opened in place (only a record split across reads is
/// copied) and handed on as plaintext; bytes for the peer are appended to `send` during the
/// handshake and sealed into caller buffers after it. No I/O.
public struct TLSStage {
    private enum State {
        case handshaking(TLSHandshake)
        case tls13(TLS13RecordState)
        case tls12(TLS12Session)
    }

    private var state: State
    private var assembler = TLSRecordAssembler()
    public private(set) var alpn: String? = nil
    public private(set) var version: TLSVersion? = nil

    public init(handshake: TLSHandshake) {
        state = .handshaking(handshake)
    }

    /// Bytes a TLS 1.2 record adds to at most 2^14 bytes of content: header, explicit nonce, tag.
    static let tls12RecordOverhead = TLSRecordHeader.length + 8 + TLS13CipherSuite.tagLength

    /// Starts a client's handshake: its ClientHello goes to `send`.
    public mutating func start(send: inout [UInt8]) throws(TLSStageError) {
        var none: [UInt8] = []
        _ = try none.withUnsafeMutableBytes { (bytes) in
            Result { () throws(TLSStageError) in try receive(bytes, crypto: nil, send: &send) { _ in } }
        }.get()
    }

    /// Takes received bytes: advances the handshake (its answer appended to `send`), then hands
    /// each record's plaintext to `deliver`, in order. `crypto` is the thread's (nil only before
    /// any record can arrive, as in `start`).
    public mutating func receive(
        _ bytes: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto?, send: inout [UInt8],
        deliver: (UnsafeRawBufferPointer) -> Void
    ) throws(TLSStageError) -> TLSStageStatus {
        switch state {
        case .handshaking(let handshake):
            let status: TLSHandshakeStatus
            do {
                status = try handshake.advance(received: UnsafeRawBufferPointer(bytes), output: &send)
            } catch {
                throw .handshake(error)
            }
            guard case .established(let established) = status else { return .handshaking }
            alpn = established.alpn
            version = established.version
            switch established.session {
            case .tls13(let records): state = .tls13(records)
            case .tls12(let session): state = .tls12(session)
            }
            // Records that came with the handshake's last flight are opened now, not at the next read.
            var leftover = established.leftover
            guard !leftover.isEmpty else { return .open }
            guard let crypto else { throw .record(.cryptoFailure("records arrived before a TLSRecordCrypto was given")) }
            return try leftover.withUnsafeMutableBytes { (buffer) in
                Result { () throws(TLSStageError) in try openRecords(buffer, crypto: crypto, deliver: deliver) }
            }.get()
        case .tls13:
            guard let crypto else { throw .record(.cryptoFailure("no TLSRecordCrypto for records")) }
            return try openRecords(bytes, crypto: crypto, deliver: deliver)
        case .tls12(let session):
            var plaintext: [UInt8] = []
            let closed: Bool
            do {
                closed = try session.open(UnsafeRawBufferPointer(bytes), plaintext: &plaintext)
            } catch {
                throw .record(error)
            }
            if !plaintext.isEmpty { plaintext.withUnsafeBytes(deliver) }
            return closed ? .peerClosed : .open
        }
    }

    private mutating func openRecords(
        _ bytes: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto, deliver: (UnsafeRawBufferPointer) -> Void
    ) throws(TLSStageError) -> TLSStageStatus {
        guard case .tls13(var records) = state else { return .open }
        var closed = false
        do {
            try assembler.receive(bytes) { (record) throws(TLSRecordError) in
                // Bytes after close_notify are ignored: the connection is ending.
                guard !closed else { return }
                switch try records.open(record: record, crypto: crypto) {
                case .applicationData(let range):
                    if !range.isEmpty { deliver(UnsafeRawBufferPointer(rebasing: record[range])) }
                case .closeNotify: closed = true
                case .handshake, .userCanceled: break
                }
            }
        } catch {
            state = .tls13(records)
            throw .record(error)
        }
        state = .tls13(records)
        return closed ? .peerClosed : .open
    }

    /// The most `seal` writes for `count` bytes of application data.
    public func sealedLength(plaintextCount count: Int) -> Int {
        switch state {
        case .tls13(let records): records.sealedLength(plaintextCount: count)
        case .tls12, .handshaking:
            count + max(1, (count + TLSRecordHeader.maxPlaintext - 1) / TLSRecordHeader.maxPlaintext) * Self.tls12RecordOverhead
        }
    }

    /// Seals application data into `output`; returns the bytes written.
    public mutating func seal(
        _ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto
    ) throws(TLSStageError) -> Int {
        switch state {
        case .handshaking:
            throw .record(.unexpectedMessage("application data before the handshake finished"))
        case .tls13(var records):
            defer { state = .tls13(records) }
            do {
                return try records.seal(plaintext, into: output, crypto: crypto)
            } catch {
                throw .record(error)
            }
        case .tls12(let session):
            var sealed: [UInt8] = []
            do {
                try session.seal(plaintext, output: &sealed)
            } catch {
                throw .record(error)
            }
            guard sealed.count <= output.count else { throw .record(.cryptoFailure("output buffer too small")) }
            sealed.withUnsafeBytes { output.copyMemory(from: $0) }
            return sealed.count
        }
    }

    /// Seals close_notify (or, after an error, the alert it calls for) into `output`; returns the
    /// bytes written (0 when nothing can be sent: during the handshake OpenSSL already wrote its alert).
    public mutating func sealClose(
        after error: TLSStageError? = nil, into output: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto
    ) -> Int {
        let alert: TLSAlert? =
            switch error {
            case nil: .closeNotify
            case .record(let recordError): recordError.alert
            case .handshake: nil
            }
        guard let alert else { return 0 }
        switch state {
        case .handshaking:
            return 0
        case .tls13(var records):
            defer { state = .tls13(records) }
            guard output.count >= TLS13RecordState.alertRecordLength else { return 0 }
            return (try? records.sealAlert(alert, into: output, crypto: crypto)) ?? 0
        case .tls12(let session):
            var sealed: [UInt8] = []
            if error == nil { session.close(output: &sealed) } else { session.alertAfterFailure(output: &sealed) }
            guard sealed.count <= output.count else { return 0 }
            sealed.withUnsafeBytes { output.copyMemory(from: $0) }
            return sealed.count
        }
    }
}
