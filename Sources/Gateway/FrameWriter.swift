// Builds server WebSocket frames in pooled buffers: the payload is encoded straight into the
// frame once, so one buffer can go to every subscriber unchanged.
import StadiumProtocol
import UringIO
import WebSocket

/// Public so benchmarks can measure encoding.
public struct FrameWriter {
    public let frames: FramePool

    public init(frames: FramePool) {
        self.frames = frames
    }

    public enum WriteError: Error {
        case pool(FramePool.PoolError)
        case encoding
    }

    /// A frame of `opcode` whose payload of exactly `payloadCount` bytes `fill` writes.
    func frame(
        opcode: WebSocketOpcode, payloadCount: Int,
        _ fill: (UnsafeMutableRawBufferPointer) -> Int?
    ) throws(WriteError) -> OwnedFrame {
        let headerCount = FrameEncoder.headerLength(payloadCount: payloadCount, masked: false)
        let frame = try acquire(bytes: headerCount + payloadCount)
        let buffer = frame.writableBytes
        let written = fill(UnsafeMutableRawBufferPointer(rebasing: buffer[headerCount..<(headerCount + payloadCount)]))
        // A frame not filled goes back to the pool as it leaves scope.
        guard written == payloadCount else { throw .encoding }
        _ = FrameEncoder.writeHeader(
            into: buffer, opcode: opcode, fin: true, payloadCount: payloadCount, maskKey: nil)
        frame.setLength(headerCount + payloadCount)
        return frame
    }

    /// `partition`: the record's, for a subject without a key (see `ServerMessageEncoder.msgLength`).
    public func message(
        subject: RawSpan, seq: Int64, partition: Int32? = nil, data: MessageData, retained: Bool
    ) throws(WriteError) -> OwnedFrame {
        let count = ServerMessageEncoder.msgLength(subject: subject, seq: seq, partition: partition, data: data, retained: retained)
        return try frame(opcode: .text, payloadCount: count) {
            ServerMessageEncoder.writeMsg(subject: subject, seq: seq, partition: partition, data: data, retained: retained, into: $0)
        }
    }

    public func ok(id: Int64?) throws(WriteError) -> OwnedFrame {
        try frame(opcode: .text, payloadCount: ServerMessageEncoder.okLength(id: id)) {
            ServerMessageEncoder.writeOK(id: id, into: $0)
        }
    }

    func ok(id: Int64?, positions: [String: [Int32: Int64]]) throws(WriteError) -> OwnedFrame {
        try frame(opcode: .text, payloadCount: ServerMessageEncoder.okLength(id: id, positions: positions)) {
            ServerMessageEncoder.writeOK(id: id, positions: positions, into: $0)
        }
    }

    func error(id: Int64?, code: ErrorCode, message: String) throws(WriteError) -> OwnedFrame {
        let count = ServerMessageEncoder.errLength(id: id, code: code, message: message)
        return try frame(opcode: .text, payloadCount: count) {
            ServerMessageEncoder.writeErr(id: id, code: code, message: message, into: $0)
        }
    }

    func gap(subject: String, partition: Int32? = nil, from: Int64, to: Int64) throws(WriteError) -> OwnedFrame {
        let count = ServerMessageEncoder.gapLength(subject: subject, partition: partition, from: from, to: to)
        return try frame(opcode: .text, payloadCount: count) {
            ServerMessageEncoder.writeGap(subject: subject, partition: partition, from: from, to: to, into: $0)
        }
    }

    func control(_ opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) throws(WriteError) -> OwnedFrame {
        try frame(opcode: opcode, payloadCount: payload.count) { target in
            target.copyMemory(from: payload)
            return payload.count
        }
    }

    func close(code: CloseCode, reason: String) throws(WriteError) -> OwnedFrame {
        let payload = FrameEncoder.closePayload(code: code, reason: reason)
        return try frame(opcode: .close, payloadCount: payload.count) { target in
            payload.withUnsafeBytes { target.copyMemory(from: $0) }
            return payload.count
        }
    }

    /// Payloads shorter than this go uncompressed: deflate gains little on them (RFC 7692 lets
    /// each message choose).
    static let minimumCompressedPayload = 64

    /// The permessage-deflate form of a one-frame message `frame` (RSV1 set), or nil when its
    /// payload is short or does not shrink: the plain one serves every socket then. Throws when
    /// no frame is free for it (the plain one serves then too, but the caller counts it).
    func compressedForm(of frame: FrameHandle, deflater: MessageDeflater) throws(WriteError) -> OwnedFrame? {
        let plain = frames.bytes(frame)
        guard case .header(let header) = FrameHeader.parse(plain.bytes), header.fin, header.reservedBits == 0,
              header.payloadLength >= UInt64(Self.minimumCompressedPayload)
        else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: plain[header.headerLength...])
        let built = deflater.compress(payload.bytes) { deflated -> Result<FrameHandle, FramePool.PoolError> in
            let headerCount = FrameEncoder.headerLength(payloadCount: deflated.byteCount, masked: false)
            let compressed: FrameHandle
            do throws(FramePool.PoolError) {
                compressed = try frames.acquire(bytes: headerCount + deflated.byteCount)
            } catch {
                return .failure(error)
            }
            let buffer = frames.writableBytes(compressed)
            FrameEncoder.writeHeader(
                into: buffer, opcode: header.opcode, fin: true, compressed: true, payloadCount: deflated.byteCount)
            deflated.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[headerCount...]).copyMemory(from: $0) }
            frames.setLength(compressed, headerCount + deflated.byteCount)
            return .success(compressed)
        }
        switch built {
        case nil: return nil
        case .failure(let error): throw .pool(error)
        case .success(let compressed): return OwnedFrame(adopting: compressed, from: frames)
        }
    }

    /// Raw bytes (an HTTP response) as a frame-pool buffer.
    func raw(_ bytes: [UInt8]) throws(WriteError) -> OwnedFrame {
        let frame = try acquire(bytes: bytes.count)
        let target = frame.writableBytes
        bytes.withUnsafeBytes { target.copyMemory(from: $0) }
        frame.setLength(bytes.count)
        return frame
    }

    private func acquire(bytes: Int) throws(WriteError) -> OwnedFrame {
        do {
            return try frames.acquireOwned(bytes: bytes)
        } catch {
            throw .pool(error)
        }
    }
}
