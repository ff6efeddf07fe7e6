import COpenSSL

/// The first error on this thread's OpenSSL error queue (the cause; later ones are context),
/// with the queue emptied so the next call starts clean.
struct OpenSSLError: Sendable {
    let library: Int32
    let reason: Int32
    let text: String

    static func take() -> OpenSSLError? {
        let first = ERR_get_error()
        guard first != 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(first, &buffer, buffer.count)
        while ERR_get_error() != 0 {}
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return OpenSSLError(library: ERR_GET_LIB(first), reason: ERR_GET_REASON(first), text: text)
    }

    static func describe(_ what: String) -> String {
        take().map { "\(what): \($0.text)" } ?? what
    }
}

/// Appends everything a memory BIO holds (what OpenSSL wrote for the peer) to `output`.
func drainMemoryBIO(_ bio: OpaquePointer, into output: inout [UInt8]) {
    let pending = Int(BIO_ctrl_pending(bio))
    guard pending > 0 else { return }
    let start = output.count
    output.append(contentsOf: repeatElement(0, count: pending))
    let read = output.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress! + start, Int32(pending)) }
    output.removeLast(pending - Int(max(read, 0)))
}
