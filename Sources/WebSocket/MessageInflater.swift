// Inflates permessage-deflate messages (RFC 7692 section 7.2.2) with system zlib. One per
// ring thread, shared by its connections: with client_no_context_takeover no message needs
// what came before it, and a compressed message is inflated only once it is whole, so no
// connection keeps inflate state (zlib's 32 KiB window) between or inside reads.
import CZlib

public final class MessageInflater {
    /// The largest message, once inflated; one byte more in the output tells a bomb apart.
    public let limit: Int
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer

    /// `~Escapable`: the inflated bytes are the inflater's own buffer, so an outcome cannot outlive
    /// the inflater it came from; the next `inflate` writes over them.
    public enum Outcome: ~Escapable {
        case inflated(RawSpan)
        /// The message would pass `limit` once inflated (a decompression bomb, or just too big).
        case tooBig
        /// Not a valid deflate stream.
        case corrupt(String)
    }

    /// How a run of zlib ended, before the inflated bytes are lent out as a span.
    private enum Progress {
        /// This many bytes at the start of `output`.
        case inflated(Int)
        case tooBig
        case corrupt(String)
    }

    /// Nil when zlib cannot set up a stream (out of memory).
    public init?(limit: Int) {
        precondition(limit >= 0, "limit must not be negative")
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard sz_inflate_init_raw(stream, Int32(PerMessageDeflate.serverWindowBits)) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
        self.limit = limit
        output = .allocate(byteCount: limit + 1, alignment: 16)
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// The 4 bytes a sender strips from the end of each message (an empty stored block).
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// Inflates one whole message (its frames' payloads joined), with a fresh context.
    @_lifetime(borrow self)
    public func inflate(_ compressed: RawSpan) -> Outcome {
        switch compressed.withUnsafeBytes({ run($0) }) {
        case .inflated(let count):
            let buffer = UnsafeRawBufferPointer(rebasing: output[..<count])
            // The bytes are this inflater's buffer: the span lives as long as the borrow of the inflater.
            return .inflated(_overrideLifetime(RawSpan(_unsafeBytes: buffer), borrowing: self))
        case .tooBig:
            return .tooBig
        case .corrupt(let reason):
            return .corrupt(reason)
        }
    }

    private func run(_ compressed: UnsafeRawBufferPointer) -> Progress {
        inflateReset(stream)
        var produced = 0
        if let ended = feed(compressed, produced: &produced) { return ended }
        let tailOutcome = Self.tail.withUnsafeBytes { feed($0, produced: &produced) }
        if let tailOutcome { return tailOutcome }
        return .inflated(produced)
    }

    /// Runs zlib over `input`; nil when all of it was taken and more may follow.
    private func feed(_ input: UnsafeRawBufferPointer, produced: inout Int) -> Progress? {
        guard !input.isEmpty else { return nil }
        // zlib does not write through next_in; its header just lacks const here.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        while true {
            stream.pointee.next_out = (output.baseAddress! + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(output.count - produced)
            let status = CZlib.inflate(stream, Z_SYNC_FLUSH)
            produced = output.count - Int(stream.pointee.avail_out)
            if produced > limit { return .tooBig }
            switch status {
            case Z_STREAM_END:
                // A final block (BFINAL) ends the message; what follows it, the tail included, is unused.
                return .inflated(produced)
            case Z_OK, Z_BUF_ERROR:
                if stream.pointee.avail_in == 0 { return nil }
                // Output room left but input not taken and no error: zlib made no progress.
                if status == Z_BUF_ERROR { return .corrupt("deflate data does not progress") }
            case Z_NEED_DICT:
                return .corrupt("deflate data asks for a preset dictionary")
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                return .corrupt("invalid deflate data: \(message)")
            }
        }
    }
}
