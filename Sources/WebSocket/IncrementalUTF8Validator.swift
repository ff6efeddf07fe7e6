/// UTF-8 validation that can be fed a message in chunks (fragments) and keeps a
/// single byte of state between them: the kind of continuation bytes still due.
public struct IncrementalUTF8Validator: Hashable, Sendable {
    /// What the next byte must be. Raw values are kept small so the state is one byte.
    @usableFromInline
    enum State: UInt8, Sendable {
        case expectingLead
        case oneMore             // 80..BF, then lead
        case twoMore             // 80..BF, then oneMore
        case threeMore           // 80..BF, then twoMore
        case afterE0             // A0..BF (no overlong 3-byte forms)
        case afterED             // 80..9F (no UTF-16 surrogates)
        case afterF0             // 90..BF (no overlong 4-byte forms)
        case afterF4             // 80..8F (nothing above U+10FFFF)
        case invalid
    }

    @usableFromInline
    var state: State = .expectingLead

    public init() {}

    /// True once any byte seen so far made the text invalid; stays true.
    public var isInvalid: Bool { state == .invalid }

    /// True when the bytes seen so far end on a character boundary and are valid.
    public var isComplete: Bool { state == .expectingLead }

    public mutating func reset() {
        state = .expectingLead
    }

    /// Feeds the next chunk. Returns false as soon as the text is known to be
    /// invalid; an unfinished sequence at the end of the chunk is not an error yet.
    @inlinable
    @discardableResult
    public mutating func feed(_ bytes: RawSpan) -> Bool {
        bytes.withUnsafeBytes { feed(buffer: $0) }
    }

    @inlinable
    @discardableResult
    mutating func feed(buffer bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        var current = state
        while index < count {
            if current == .expectingLead {
                // ASCII fast path: skip sixteen, then eight bytes at a time while none has the high bit.
                while index + 16 <= count,
                    (bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        | bytes.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)) & 0x8080_8080_8080_8080 == 0
                {
                    index += 16
                }
                if index + 8 <= count,
                    bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index += 8
                }
                // The short ASCII tail byte by byte, without the state machine.
                while index < count, bytes[index] < 0x80 {
                    index += 1
                }
                if index == count { break }
            }
            current = Self.step(current, bytes[index])
            if current == .invalid {
                state = .invalid
                return false
            }
            index += 1
        }
        state = current
        return true
    }

    /// Validates one complete text in one go.
    public static func isValid(_ bytes: RawSpan) -> Bool {
        bytes.withUnsafeBytes { isValid(buffer: $0) }
    }

    static func isValid(buffer bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = IncrementalUTF8Validator()
        return validator.feed(buffer: bytes) && validator.isComplete
    }

    @inlinable
    static func step(_ state: State, _ byte: UInt8) -> State {
        switch state {
        case .expectingLead:
            switch byte {
            case 0x00...0x7F: return .expectingLead
            case 0xC2...0xDF: return .oneMore
            case 0xE0: return .afterE0
            case 0xED: return .afterED
            case 0xE1...0xEF: return .twoMore
            case 0xF0: return .afterF0
            case 0xF1...0xF3: return .threeMore
            case 0xF4: return .afterF4
            default: return .invalid
            }
        case .oneMore: return (0x80...0xBF).contains(byte) ? .expectingLead : .invalid
        case .twoMore: return (0x80...0xBF).contains(byte) ? .oneMore : .invalid
        case .threeMore: return (0x80...0xBF).contains(byte) ? .twoMore : .invalid
        case .afterE0: return (0xA0...0xBF).contains(byte) ? .oneMore : .invalid
        case .afterED: return (0x80...0x9F).contains(byte) ? .oneMore : .invalid
        case .afterF0: return (0x90...0xBF).contains(byte) ? .twoMore : .invalid
        case .afterF4: return (0x80...0x8F).contains(byte) ? .twoMore : .invalid
        case .invalid: return .invalid
        }
    }
}
