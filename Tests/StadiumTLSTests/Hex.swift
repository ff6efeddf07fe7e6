/// Hex strings as the RFCs print them (spaces and line breaks ignored).
func hex(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { $0.properties.isASCIIHexDigit }.map { UInt8($0.value) }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    func value(_ digit: UInt8) -> UInt8 {
        switch digit {
        case 48...57: digit - 48
        case 65...70: digit - 55
        default: digit - 87
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
}
