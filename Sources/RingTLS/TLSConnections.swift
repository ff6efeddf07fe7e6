// The TLS of one ring's connections, either role: each slot's `TLSStage` between the ring's
// bytes and the protocol above (the gateway's sessions, the load generator's bots). No I/O:
// the ring sends what it returns, and closes.
import StadiumTLS
import UringIO

/// What one read did to a slot's TLS.
public struct TLSReceived {
    public enum Outcome: Equatable {
        case handshaking
        /// Plaintext (possibly none) waits for `consumePlaintext`.
        case open
        /// The peer's close_notify came (after any plaintext before it).
        case peerClosed
        /// The connection must end; `flight` holds the alert, if any.
        case failed(TLSStageError)
    }

    public var outcome: Outcome
    /// Wire bytes to send as they are, before anything else (handshake flight or alert).
    public var flight: FrameHandle?
}

public final class TLSConnections {
    public let context: TLSContext
    /// Shared by the process's rings: told of every handshake that ends.
    private let trim: HandshakeMemoryTrim
    private let frames: FramePool
    private let crypto: TLSRecordCrypto
    /// A slot's stage from accept to close; nil for a free slot.
    private var stages: [TLSStage?]
    /// Frames at the head of a slot's queue that are wire bytes already (handshake flights,
    /// alerts): they pass the sealer as they are. Frames are queued in order, so a count serves.
    private var rawFrames: [UInt16]
    /// The peer has sent bytes, but the handshake is not done (a close then means it was cut short).
    private var heardDuringHandshake: [Bool]
    /// Plaintext the session has not used yet (an unfinished HTTP head or frame), only while some is left.
    private var pending: [UInt32: [UInt8]] = [:]
    /// The plaintext of the current read, reused from read to read.
    private var incoming: [UInt8] = []
    private var handshakeOutput: [UInt8] = []
    /// Room for a close_notify or alert record of either version.
    public static let alertRoom = 64

    public init(context: TLSContext, frames: FramePool, slots: Int, trim: HandshakeMemoryTrim) throws(TLSRecordError) {
        self.context = context
        self.trim = trim
        self.frames = frames
        crypto = try TLSRecordCrypto()
        stages = Array(repeating: nil, count: slots)
        rawFrames = Array(repeating: 0, count: slots)
        heardDuringHandshake = Array(repeating: false, count: slots)
    }

    /// A new connection: its handshake starts with the context's current certificates; false
    /// when OpenSSL could not start one. `serverName`: the name a client checks.
    public func opened(_ slot: UInt32, serverName: String? = nil) -> Bool {
        let index = Int(slot)
        rawFrames[index] = 0
        heardDuringHandshake[index] = false
        pending[slot] = nil
        guard let handshake = try? TLSHandshake(context: context, serverName: serverName) else { return false }
        stages[index] = TLSStage(handshake: handshake)
        return true
    }

    /// A client's first flight (its ClientHello), as wire bytes to send; nil when it cannot start.
    public func startClient(_ slot: UInt32) -> FrameHandle? {
        let index = Int(slot)
        guard stages[index] != nil else { return nil }
        handshakeOutput.removeAll(keepingCapacity: true)
        do {
            try stages[index]!.start(send: &handshakeOutput)
        } catch {
            return nil
        }
        return wireFrame(handshakeOutput)
    }

    /// The slot is free again; true when the peer left in the middle of its handshake (a truncated ClientHello).
    public func closed(_ slot: UInt32) -> Bool {
        let index = Int(slot)
        let cutShort = isHandshaking(slot) && heardDuringHandshake[index]
        if isHandshaking(slot) { trim.handshakeEnded() }
        stages[index] = nil
        pending[slot] = nil
        rawFrames[index] = 0
        return cutShort
    }

    public func isHandshaking(_ slot: UInt32) -> Bool {
        stages[Int(slot)] != nil && stages[Int(slot)]!.version == nil
    }

    // MARK: - Receiving

    /// Runs the slot's stage over `bytes` (all of them are used: a partial record is kept by the
    /// stage); opened plaintext joins what the session left last time, for `consumePlaintext`.
    public func receive(_ slot: UInt32, _ bytes: UnsafeMutableRawBufferPointer) -> TLSReceived {
        let index = Int(slot)
        guard stages[index] != nil else { return TLSReceived(outcome: .failed(.record(.cryptoFailure("no TLS stage"))), flight: nil) }
        if isHandshaking(slot) { heardDuringHandshake[index] = true }
        incoming.removeAll(keepingCapacity: true)
        if let held = pending.removeValue(forKey: slot) { incoming.append(contentsOf: held) }
        handshakeOutput.removeAll(keepingCapacity: true)
        var outcome: TLSReceived.Outcome
        let wasHandshaking = isHandshaking(slot)
        defer { if wasHandshaking && !isHandshaking(slot) { trim.handshakeEnded() } }
        do {
            let status = try stages[index]!.receive(bytes, crypto: crypto, send: &handshakeOutput) { plaintext in
                incoming.append(contentsOf: plaintext)
            }
            switch status {
            case .handshaking: outcome = .handshaking
            case .open: outcome = .open
            case .peerClosed: outcome = .peerClosed
            }
        } catch {
            outcome = .failed(error)
            // Counted here: the close that follows is not a truncated handshake too.
            heardDuringHandshake[index] = false
            if case .record = error { return TLSReceived(outcome: outcome, flight: alert(slot, after: error)) }
        }
        guard !handshakeOutput.isEmpty else { return TLSReceived(outcome: outcome, flight: nil) }
        guard let flight = wireFrame(handshakeOutput) else {
            return TLSReceived(outcome: .failed(.record(.cryptoFailure("no frame for the handshake's bytes"))), flight: nil)
        }
        return TLSReceived(outcome: outcome, flight: flight)
    }

    /// Hands the plaintext of the last `receive` to `consume`, which returns how many bytes it
    /// used; the rest waits for the next read.
    public func consumePlaintext(_ slot: UInt32, _ consume: (UnsafeMutableRawBufferPointer) -> Int) {
        guard !incoming.isEmpty else { return }
        // Taken out while the session runs: what it sends is sealed through this object.
        var plaintext: [UInt8] = []
        swap(&plaintext, &incoming)
        let used = plaintext.withUnsafeMutableBytes { consume($0) }
        if used < plaintext.count, stages[Int(slot)] != nil { pending[slot] = Array(plaintext[used...]) }
        plaintext.removeAll(keepingCapacity: true)
        swap(&plaintext, &incoming)
    }

    /// On the ring's tick: returns finished handshakes' memory to the kernel when it is time.
    public func ticked() {
        trim.trimIfDue()
    }

    /// Bytes the ring queues that are wire bytes already: the sealer passes them on as they are.
    public func noteWireFrame(_ slot: UInt32) {
        rawFrames[Int(slot)] += 1
    }

    // MARK: - Sending

    /// The record(s) of `frame` for this slot, in a pooled frame (the caller's reference), or
    /// `frame` itself when it is wire bytes; nil when it cannot be sealed.
    public func seal(_ slot: UInt32, _ frame: FrameHandle) -> FrameHandle? {
        let index = Int(slot)
        if rawFrames[index] > 0 {
            rawFrames[index] -= 1
            return frame
        }
        guard stages[index] != nil, !isHandshaking(slot) else { return nil }
        let plaintext = frames.bytes(frame)
        guard let sealed = try? frames.acquire(bytes: stages[index]!.sealedLength(plaintextCount: plaintext.count)) else {
            return nil
        }
        do {
            let written = try stages[index]!.seal(plaintext, into: frames.writableBytes(sealed), crypto: crypto)
            frames.setLength(sealed, written)
            return sealed
        } catch {
            frames.release(sealed)
            return nil
        }
    }

    /// close_notify for an established connection whose last frames are sent; nil when there
    /// is none to send (during the handshake, or once an alert went out).
    public func closeNotify(_ slot: UInt32) -> FrameHandle? {
        alert(slot, after: nil)
    }

    private func alert(_ slot: UInt32, after error: TLSStageError?) -> FrameHandle? {
        let index = Int(slot)
        guard stages[index] != nil, let frame = try? frames.acquire(bytes: Self.alertRoom) else { return nil }
        let written = stages[index]!.sealClose(after: error, into: frames.writableBytes(frame), crypto: crypto)
        guard written > 0 else {
            frames.release(frame)
            return nil
        }
        frames.setLength(frame, written)
        return frame
    }

    private func wireFrame(_ bytes: [UInt8]) -> FrameHandle? {
        guard let frame = try? frames.acquire(bytes: bytes.count) else { return nil }
        bytes.withUnsafeBytes { frames.writableBytes(frame).copyMemory(from: $0) }
        frames.setLength(frame, bytes.count)
        return frame
    }
}
