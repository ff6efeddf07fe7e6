/// Measures one UTF-8 sequence the way Unicode's "maximal subpart" practice does,
/// so the scanner (which rejects) and the string escaper (which replaces) agree.
public enum UTF8Sequence {
    /// Whether all of `bytes` is well-formed UTF-8 (what the scanner accepts inside strings).
    public static func isValid(_ bytes: RawSpan) -> Bool {
        bytes.withUnsafeBytes { isValid(buffer: $0) }
    }

    static func isValid(buffer bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            let length = measure(bytes, at: index, end: bytes.count)
            if length < 0 { return false }
            index += length
        }
        return true
    }

    /// The length of the valid sequence starting at `index`, or the negated length of
    /// its maximal invalid subpart (at least 1) when the bytes there are not valid UTF-8.
    @inline(__always)
    static func measure(_ bytes: UnsafeRawBufferPointer, at index: Int, end: Int) -> Int {
        let lead = bytes[index]
        if lead < 0x80 { return 1 }
        let length: Int
        var secondLow: UInt8 = 0x80
        var secondHigh: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondLow = 0xA0  // overlong
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondHigh = 0x9F  // UTF-16 surrogates
        case 0xF0: length = 4; secondLow = 0x90  // overlong
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondHigh = 0x8F  // above U+10FFFF
        default: return -1
        }
        var consumed = 1
        while consumed < length {
            let position = index + consumed
            guard position < end else { return -consumed }
            let byte = bytes[position]
            let low = consumed == 1 ? secondLow : 0x80
            let high = consumed == 1 ? secondHigh : 0xBF
            guard byte >= low && byte <= high else { return -consumed }
            consumed += 1
        }
        return length
    }
}
