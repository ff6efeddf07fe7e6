// Compresses one message for permessage-deflate (RFC 7692 section 7.2.1) with system zlib,
// from a fresh context each time (server_no_context_takeover): the result is the same for
// every socket, so a broadcast message is compressed once for all of them.
import CZlib

public final class MessageDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var scratch: UnsafeMutableRawBufferPointer

    /// `level`: zlib's 0 to 9, or -1 for its default (6). `memoryLevel` 4, not zlib's 8: each
    /// message starts from a reset, which clears the hash table (4 KiB at 4, 64 KiB at 8), and
    /// messages of a few KiB gain nothing from a bigger one. Nil when zlib cannot set up a stream.
    public init?(level: Int32 = -1, memoryLevel: Int32 = 4) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard sz_deflate_init_raw(stream, level, Int32(PerMessageDeflate.serverWindowBits), memoryLevel) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
        scratch = .allocate(byteCount: 4096, alignment: 16)
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Hands `body` the compressed payload without its trailing 00 00 FF FF (borrowed for the
    /// call); nil, without calling it, when it would not be smaller than `payload` (the message
    /// then goes uncompressed).
    public func compress<Result>(
        _ payload: RawSpan, _ body: (RawSpan) throws -> Result
    ) rethrows -> Result? {
        try payload.withUnsafeBytes { payload in try compress(buffer: payload, body) }
    }

    private func compress<Result>(
        buffer payload: UnsafeRawBufferPointer, _ body: (RawSpan) throws -> Result
    ) rethrows -> Result? {
        guard !payload.isEmpty else { return nil }
        deflateReset(stream)
        // Room for the worst case plus the sync flush's empty stored block.
        let bound = Int(deflateBound(stream, UInt(payload.count))) + 16
        if scratch.count < bound {
            scratch.deallocate()
            scratch = .allocate(byteCount: bound, alignment: 16)
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: payload.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(payload.count)
        stream.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(scratch.count)
        let status = deflate(stream, Z_SYNC_FLUSH)
        let written = scratch.count - Int(stream.pointee.avail_out)
        guard status == Z_OK, stream.pointee.avail_in == 0, stream.pointee.avail_out > 0, written >= 4 else {
            return nil
        }
        let count = written - 4
        guard count < payload.count else { return nil }
        let deflated = UnsafeRawBufferPointer(rebasing: scratch[..<count])
        return try body(deflated.bytes)
    }
}
