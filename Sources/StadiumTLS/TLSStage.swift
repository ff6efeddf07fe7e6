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
        /// The keys are in `records`, outside the enum, so records are opened and sealed in place.
        case tls13
        case tls12(TLS12Session)
    }

    private var state: State
    private var records: TLS13RecordState? = nil
    private var assembler = TLSRecordAssembler()
    /// ALPN settled on http/1.1 (the only protocol either role offers or accepts); kept as a flag
    /// because a million stages would otherwise hold a million strings.
    public private(set) var alpnHTTP11 = false
    public private(set) var version: TLSVersion? = nil

    public init(handshake: TLSHandshake) {
        state = .handshaking(handshake)
    }

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
                status = try handshake.advance(received: UnsafeRawBufferPointer(bytes).bytes, output: &send)
            } catch {
                throw .handshake(error)
            }
            guard case .established(let established) = status else { return .handshaking }
            alpnHTTP11 = established.alpn == ALPN.http11
            version = established.version
            // Records that came with the handshake's last flight are opened now, not at the next read.
            switch established.session {
            case .tls13(let keys):
                records = keys
                state = .tls13
            case .tls12(let session):
                state = .tls12(session)
                // TLS 1.2 leaves them in OpenSSL's buffer; nothing can be there before a client starts.
                guard let crypto else { return .open }
                var none: [UInt8] = []
                return try none.withUnsafeMutableBytes { (empty) in
                    Result { () throws(TLSStageError) in try receive(empty, crypto: crypto, send: &send, deliver: deliver) }
                }.get()
            }
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
            guard let crypto else { throw .record(.cryptoFailure("no TLSRecordCrypto for records")) }
            do {
                return try session.open(UnsafeRawBufferPointer(bytes), scratch: crypto.scratch, deliver: deliver)
                    ? .peerClosed : .open
            } catch {
                throw .record(error)
            }
        }
    }

    private mutating func openRecords(
        _ bytes: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto, deliver: (UnsafeRawBufferPointer) -> Void
    ) throws(TLSStageError) -> TLSStageStatus {
        // The assembler steps out of self for the call, so the closure may open with self's keys.
        var cutter = TLSRecordAssembler()
        swap(&cutter, &assembler)
        defer { swap(&cutter, &assembler) }
        var closed = false
        do {
            try cutter.receive(bytes) { (record) throws(TLSRecordError) in
                // Bytes after close_notify are ignored: the connection is ending.
                guard !closed else { return }
                switch try records!.open(record: record, crypto: crypto) {
                case .applicationData(let range):
                    if !range.isEmpty { deliver(UnsafeRawBufferPointer(rebasing: record[range])) }
                case .closeNotify: closed = true
                case .handshake, .userCanceled: break
                }
            }
        } catch {
            throw .record(error)
        }
        return closed ? .peerClosed : .open
    }

    /// The most `seal` writes for `count` bytes of application data.
    public func sealedLength(plaintextCount count: Int) -> Int {
        switch state {
        case .tls13: records!.sealedLength(plaintextCount: count)
        case .tls12, .handshaking: TLS12Session.sealedLength(plaintextCount: count)
        }
    }

    /// Seals application data into `output`; returns the bytes written.
    public mutating func seal(
        _ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, crypto: TLSRecordCrypto
    ) throws(TLSStageError) -> Int {
        switch state {
        case .handshaking:
            throw .record(.unexpectedMessage("application data before the handshake finished"))
        case .tls13:
            do {
                return try records!.seal(plaintext, into: output, crypto: crypto)
            } catch {
                throw .record(error)
            }
        case .tls12(let session):
            do {
                return try session.seal(plaintext, into: output)
            } catch {
                throw .record(error)
            }
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
        case .tls13:
            guard output.count >= TLS13RecordState.alertRecordLength else { return 0 }
            return (try? records!.sealAlert(alert, into: output, crypto: crypto)) ?? 0
        case .tls12(let session):
            return error == nil ? session.close(into: output) : session.alertAfterFailure(into: output)
        }
    }
}
