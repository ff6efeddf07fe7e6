/// Reads JSON numbers that protocol fields require to be whole and to fit in `Int64`.
enum JSONInteger {
    /// The value of a scanned number span written without fraction or exponent, or nil
    /// when it has one or lies outside `Int64`.
    static func int64(_ bytes: UnsafeRawBufferPointer, _ span: JSONValueSpan) -> Int64? {
        guard span.kind == .number else { return nil }
        var index = span.range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var magnitude: UInt64 = 0
        while index < span.range.upperBound {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflowA && !overflowB else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}
