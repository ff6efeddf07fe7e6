import Foundation
@testable import StadiumProtocol

/// Runs `body` over the UTF-8 bytes of `text`.
func withBytes<Result>(_ text: String, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    try withBytes(Array(text.utf8), body)
}

func withBytes<Result>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    try bytes.withUnsafeBytes { try body($0) }
}

/// Runs `body` over the UTF-8 bytes of `text` as a borrowed span, as received bytes reach parsers.
func withSpan<Result>(_ text: String, _ body: (RawSpan) throws -> Result) rethrows -> Result {
    try withSpan(Array(text.utf8), body)
}

func withSpan<Result>(_ bytes: [UInt8], _ body: (RawSpan) throws -> Result) rethrows -> Result {
    try body(bytes.span.bytes)
}

/// The text of `range` within `text`'s UTF-8 bytes.
func slice(_ text: String, _ range: Range<Int>) -> String {
    String(decoding: Array(text.utf8)[range], as: UTF8.self)
}

func parseRequest(_ text: String) -> Result<ClientRequest, ProtocolError> {
    withBytes(text) { ClientRequestParser.parse($0.bytes) }
}

/// Encodes with a `...Length`/`write...` pair, checking that both agree and that a buffer
/// one byte short is refused.
func encode(
    length: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int?
) -> (text: String, bytes: [UInt8], shortBufferRefused: Bool) {
    var bytes = [UInt8](repeating: 0, count: length + 8)
    let written = bytes.withUnsafeMutableBytes { write($0) }
    var short = [UInt8](repeating: 0, count: max(length - 1, 0))
    let shortResult = short.withUnsafeMutableBytes { write($0) }
    let result = Array(bytes[0..<(written ?? 0)])
    precondition(written == length, "write returned \(String(describing: written)), length said \(length)")
    return (String(decoding: result, as: UTF8.self), result, shortResult == nil)
}

/// Foundation's reading of JSON bytes, to prove our output is valid JSON.
func foundationObject(_ bytes: [UInt8]) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    guard let dictionary = object as? [String: Any] else {
        throw CocoaError(.coderReadCorrupt)
    }
    return dictionary
}
