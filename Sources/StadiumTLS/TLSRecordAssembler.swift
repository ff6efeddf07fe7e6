/// Cuts received bytes into whole records for a connection. Whole records are handed on
/// where they lie in the receive buffer (and decrypted there); only a record split across
/// reads is copied, into a buffer that exists while it is incomplete.
public struct TLSRecordAssembler: Sendable {
    private var partial: [UInt8]? = nil

    public init() {}

    /// Bytes held for a record not yet whole.
    public var pendingCount: Int { partial?.count ?? 0 }

    /// Calls `record` with each whole record in `received`, in order; keeps an incomplete tail.
    public mutating func receive(
        _ received: UnsafeMutableRawBufferPointer,
        record: (UnsafeMutableRawBufferPointer) throws(TLSRecordError) -> Void
    ) throws(TLSRecordError) {
        var offset = 0
        if var held = partial {
            partial = nil
            // Complete the held record first: at most its header's length from this read.
            while true {
                let parsed = try TLSRecordHeader.parse(held.span.bytes)
                switch parsed {
                case .complete(_, let length):
                    try held.withUnsafeMutableBytes { bytes in
                        Result { () throws(TLSRecordError) in
                            try record(UnsafeMutableRawBufferPointer(rebasing: bytes[..<length]))
                        }
                    }.get()
                case .incomplete(let needed):
                    let take = min(needed - held.count, received.count - offset)
                    held.append(contentsOf: UnsafeRawBufferPointer(rebasing: received[offset..<(offset + take)]))
                    offset += take
                    if held.count < needed {
                        partial = held
                        return
                    }
                    continue
                }
                break
            }
        }
        while offset < received.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: received[offset...])
            switch try TLSRecordHeader.parse(buffer: UnsafeRawBufferPointer(rest)) {
            case .complete(_, let length):
                try record(UnsafeMutableRawBufferPointer(rebasing: rest[..<length]))
                offset += length
            case .incomplete(let needed):
                var held = [UInt8]()
                held.reserveCapacity(needed)
                held.append(contentsOf: UnsafeRawBufferPointer(rest))
                partial = held
                return
            }
        }
    }
}
