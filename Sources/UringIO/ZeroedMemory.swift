// Tables sized for every connection at start, whose pages cost memory only once written.
#if canImport(Glibc)
import Glibc
#endif

enum ZeroedMemory {
    /// `count` elements of all-zero bits (calloc: large blocks come straight from the kernel's
    /// zero pages, so slots never used are never resident). Only for types whose zero bits are
    /// a valid value (integers, Bool, optional pointers, enums whose first case is 0);
    /// free with `free(_:)`.
    static func allocate<Element: ~Copyable>(_ type: Element.Type, count: Int) -> UnsafeMutablePointer<Element> {
        guard let memory = calloc(max(1, count), MemoryLayout<Element>.stride) else {
            fatalError("out of memory allocating \(count) x \(Element.self)")
        }
        return memory.bindMemory(to: Element.self, capacity: count)
    }

    static func free<Element: ~Copyable>(_ pointer: UnsafeMutablePointer<Element>) {
        Glibc.free(pointer)
    }
}
