// A TLS listener's connections on a ring: received bytes go through the slot's TLS stage
// (handshake, then records opened in place) and the plaintext to its `ConnectionSession`;
// frames are sealed per socket as the ring writes them (`RingFrameSealer`), so a broadcast
// frame is still encoded once. Runs on the ring's thread only.
import RingTLS
import StadiumTLS
import UringIO

extension GatewayRing: RingFrameSealer {
    func receiveTLS(_ loop: RingLoop, slot: UInt32, _ bytes: UnsafeMutableRawBufferPointer, _ tls: TLSConnections) {
        guard loop.isOpen(slot: slot) else { return }
        let received = tls.receive(slot, bytes)
        if case .failed(let error) = received.outcome {
            metrics.count(ErrorKind(error))
            // The alert is the next thing the peer reads: what was queued unsent goes.
            loop.discardQueued(slot: slot)
            if let made = received.flight {
                let alert = OwnedFrame(adopting: made, from: hub.frames)
                tls.noteWireFrame(slot)
                _ = loop.send(slot: slot, frame: alert.handle, final: true)
                loop.close(slot, .afterFlush)
            } else {
                loop.close(slot, .now)
            }
            return
        }
        if let made = received.flight {
            let flight = OwnedFrame(adopting: made, from: hub.frames)
            tls.noteWireFrame(slot)
            _ = loop.send(slot: slot, frame: flight.handle)
        }
        tls.consumePlaintext(slot) { plaintext in
            var sink = RingSink(ring: self, loop: loop, slot: slot)
            var span = plaintext.mutableBytes
            return sessions[Int(slot)].received(&span, now: coarseNow, rules: rules, into: &sink)
        }
        // The peer's close_notify: what is queued goes out, then ours (`closingFrame`).
        if received.outcome == .peerClosed { loop.close(slot, .afterFlush) }
    }

    func sealFrame(_ loop: RingLoop, slot: UInt32, frame: FrameHandle) -> FrameHandle? {
        guard let sealed = tls?.seal(slot, frame) else {
            metrics.count(.tlsRecord)
            return nil
        }
        return sealed
    }

    func closingFrame(_ loop: RingLoop, slot: UInt32) -> FrameHandle? {
        tls?.closeNotify(slot)
    }
}

extension ErrorKind {
    /// The kind a connection's TLS failure is counted under.
    init(_ error: TLSStageError) {
        switch error {
        case .handshake(.notTLS): self = .tlsNotTLS
        case .handshake(.protocolVersion): self = .tlsVersion
        case .handshake(.truncated): self = .tlsTruncated
        case .handshake(.peerAlert), .handshake(.failed): self = .tlsHandshake
        case .record: self = .tlsRecord
        }
    }
}
