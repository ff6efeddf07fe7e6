import COpenSSL

/// A handshake's SSL allocates tens of KiB and frees them when the handshake ends, but glibc keeps
/// the freed pages in its arenas: after a burst of handshakes a process holds the burst's peak
/// although each established TLS 1.3 connection keeps only its record state. The owner calls this
/// after bursts.
public enum HandshakeMemory {
    /// Hands the heap's free pages back to the kernel (malloc_trim); holds the allocator's locks
    /// while it walks the arenas, so callers space the calls out.
    public static func returnFreedPages() {
        st_return_freed_pages()
    }
}
