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
    ) throws(WriteError) -> FrameHandle {
        let headerCount = FrameEncoder.headerLength(payloadCount: payloadCount, masked: false)
        let frame: FrameHandle
        do {
            frame = try frames.acquire(bytes: headerCount + payloadCount)
        } catch {
            throw .pool(error)
        }
        let buffer = frames.writableBytes(frame)
        let written = fill(UnsafeMutableRawBufferPointer(rebasing: buffer[headerCount..<(headerCount + payloadCount)]))
        guard written == payloadCount else {
            frames.release(frame)
            throw .encoding
        }
        _ = FrameEncoder.writeHeader(
            into: buffer, opcode: opcode, fin: true, payloadCount: payloadCount, maskKey: nil)
        frames.setLength(frame, headerCount + payloadCount)
        return frame
    }

    /// `partition`: the record's, for a subject without a key (see `ServerMessageEncoder.msgLength`).
    public func message(
        subject: UnsafeRawBufferPointer, seq: Int64, partition: Int32? = nil, data: MessageData, retained: Bool
    ) throws(WriteError) -> FrameHandle {
        let count = ServerMessageEncoder.msgLength(subject: subject, seq: seq, partition: partition, data: data, retained: retained)
        return try frame(opcode: .text, payloadCount: count) {
            ServerMessageEncoder.writeMsg(subject: subject, seq: seq, partition: partition, data: data, retained: retained, into: $0)
        }
    }

    public func ok(id: Int64?) throws(WriteError) -> FrameHandle {
        try frame(opcode: .text, payloadCount: ServerMessageEncoder.okLength(id: id)) {
            ServerMessageEncoder.writeOK(id: id, into: $0)
        }
    }

    func ok(id: Int64?, positions: [String: [Int32: Int64]]) throws(WriteError) -> FrameHandle {
        try frame(opcode: .text, payloadCount: ServerMessageEncoder.okLength(id: id, positions: positions)) {
            ServerMessageEncoder.writeOK(id: id, positions: positions, into: $0)
        }
    }

    func error(id: Int64?, code: ErrorCode, message: String) throws(WriteError) -> FrameHandle {
        let count = ServerMessageEncoder.errLength(id: id, code: code, message: message)
        return try frame(opcode: .text, payloadCount: count) {
            ServerMessageEncoder.writeErr(id: id, code: code, message: message, into: $0)
        }
    }

    func gap(subject: String, partition: Int32? = nil, from: Int64, to: Int64) throws(WriteError) -> FrameHandle {
        let count = ServerMessageEncoder.gapLength(subject: subject, partition: partition, from: from, to: to)
        return try frame(opcode: .text, payloadCount: count) {
            ServerMessageEncoder.writeGap(subject: subject, partition: partition, from: from, to: to, into: $0)
        }
    }

    func control(_ opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) throws(WriteError) -> FrameHandle {
        try frame(opcode: opcode, payloadCount: payload.count) { target in
            target.copyMemory(from: payload)
            return payload.count
        }
    }

    func close(code: CloseCode, reason: String) throws(WriteError) -> FrameHandle {
        let payload = FrameEncoder.closePayload(code: code, reason: reason)
        let result = payload.withUnsafeBytes { bytes in
            Result { () throws(WriteError) in try control(.close, payload: bytes) }
        }
        return try result.get()
    }

    /// Payloads shorter than this go uncompressed: deflate gains little on them (RFC 7692 lets
    /// each message choose).
    static let minimumCompressedPayload = 64

    /// The permessage-deflate form of a one-frame message `frame` (RSV1 set), or nil when its
    /// payload is short, does not shrink, or no frame is free: the plain one serves every socket then.
    func compressedForm(of frame: FrameHandle, deflater: MessageDeflater) -> FrameHandle? {
        let plain = frames.bytes(frame)
        guard case .header(let header) = FrameHeader.parse(plain), header.fin, header.reservedBits == 0,
              header.payloadLength >= UInt64(Self.minimumCompressedPayload)
        else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: plain[header.headerLength...])
        let built = deflater.compress(payload) { deflated -> FrameHandle? in
            let headerCount = FrameEncoder.headerLength(payloadCount: deflated.count, masked: false)
            guard let compressed = try? frames.acquire(bytes: headerCount + deflated.count) else { return nil }
            let buffer = frames.writableBytes(compressed)
            FrameEncoder.writeHeader(
                into: buffer, opcode: header.opcode, fin: true, compressed: true, payloadCount: deflated.count)
            UnsafeMutableRawBufferPointer(rebasing: buffer[headerCount...]).copyMemory(from: deflated)
            frames.setLength(compressed, headerCount + deflated.count)
            return compressed
        }
        return built ?? nil
    }

    /// Raw bytes (an HTTP response) as a frame-pool buffer.
    func raw(_ bytes: [UInt8]) throws(WriteError) -> FrameHandle {
        let frame: FrameHandle
        do {
            frame = try frames.acquire(bytes: bytes.count)
        } catch {
            throw .pool(error)
        }
        bytes.withUnsafeBytes { frames.writableBytes(frame).copyMemory(from: $0) }
        frames.setLength(frame, bytes.count)
        return frame
    }
}
