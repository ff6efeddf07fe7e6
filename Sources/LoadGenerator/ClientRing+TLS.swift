// wss:// bots: each slot's TLS (RingTLS) between the ring's bytes and the WebSocket client, the
// upgrade request sent once the handshake is done, frames sealed as the ring writes them. After a
// TLS 1.3 handshake a connection keeps only its record keys, as the gateway's do. Ring thread only.
import RingTLS
import UringIO

extension ClientRing: RingFrameSealer {
    /// Sends the ClientHello; the upgrade request waits for the handshake.
    func startTLS(_ slot: UInt32, serverName: String, upgrade: [UInt8], _ tls: TLSConnections) {
        guard tls.opened(slot, serverName: serverName), let hello = tls.startClient(slot) else {
            failHandshake(slot: slot, "TLS could not start (OpenSSL)")
            return
        }
        upgradeRequests[slot] = upgrade
        tls.noteWireFrame(slot)
        _ = loop.send(slot: slot, frame: hello)
        loop.frames.release(hello)
    }

    func receiveTLS(_ slot: UInt32, _ bytes: UnsafeMutableRawBufferPointer, _ tls: TLSConnections) {
        guard loop.isOpen(slot: slot) else { return }
        let wasHandshaking = tls.isHandshaking(slot)
        let received = tls.receive(slot, bytes)
        if let flight = received.flight {
            tls.noteWireFrame(slot)
            _ = loop.send(slot: slot, frame: flight)
            loop.frames.release(flight)
        }
        switch received.outcome {
        case .failed(let error):
            if wasHandshaking {
                failHandshake(slot: slot, "TLS: \(error)")
            } else {
                counters.add(.protocolErrors)
                if counters[.protocolErrors] <= 5 { logger.warning("gateway's TLS records failed: \(error)") }
                loop.close(slot, received.flight == nil ? .now : .afterFlush)
            }
            return
        case .handshaking:
            return
        case .open, .peerClosed:
            if wasHandshaking, let upgrade = upgradeRequests.removeValue(forKey: slot), !sendRaw(slot: slot, upgrade) {
                loop.close(slot, .now)
                return
            }
        }
        tls.consumePlaintext(slot) { plaintext in receivePlaintext(slot: slot, bytes: plaintext) }
        if received.outcome == .peerClosed { loop.close(slot, .afterFlush) }
    }

    func sealFrame(_ loop: RingLoop, slot: UInt32, frame: FrameHandle) -> FrameHandle? {
        tls?.seal(slot, frame)
    }

    func closingFrame(_ loop: RingLoop, slot: UInt32) -> FrameHandle? {
        tls?.closeNotify(slot)
    }
}
