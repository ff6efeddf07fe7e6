import Foundation
import Testing
@testable import StadiumProtocol

@Suite struct JSONScannerTests {
    @Test(arguments: [
        "{}", "[]", "0", "-0", "12.5e-3", "1E+2", "true", "false", "null", "\"\"",
        " { \"a\" : [1, 2, {\"b\": null}], \"c\": \"x\\u00e9\\uD83D\\uDE00\\n\" } ",
        "\"caf\u{E9} \u{1F600}\"", "[[[[]]]]", "-123456789012345678901234567890",
    ])
    func acceptsValidJSON(_ text: String) throws {
        let span = try withSpan(text) { try JSONScanner.validateDocument($0) }
        #expect(slice(text, span.range) == text.trimmingCharacters(in: .whitespaces))
    }

    @Test(arguments: [
        ("", JSONSyntaxError.Reason.unexpectedEndOfInput),
        ("{", .unexpectedEndOfInput),
        ("{\"a\":1", .unexpectedEndOfInput),
        ("[1,]", .unexpectedByte(UInt8(ascii: "]"), expected: "a JSON value")),
        ("{\"a\":1,}", .unexpectedByte(UInt8(ascii: "}"), expected: "a member name string")),
        ("{a:1}", .unexpectedByte(UInt8(ascii: "a"), expected: "a member name string")),
        ("[1 2]", .unexpectedByte(UInt8(ascii: "2"), expected: "',' or ']'")),
        ("{} x", .trailingData),
        ("{}{}", .trailingData),
        ("01", .trailingData),
        ("1.", .unexpectedEndOfInput),
        ("-", .unexpectedEndOfInput),
        ("1.e5", .invalidNumber),
        ("+1", .unexpectedByte(UInt8(ascii: "+"), expected: "a JSON value")),
        ("tru", .unexpectedEndOfInput),
        ("trux", .invalidLiteral),
        ("nul!", .invalidLiteral),
        ("\"abc", .unexpectedEndOfInput),
        ("\"a\\x\"", .invalidEscape),
        ("\"\\u12G4\"", .invalidEscape),
        ("\"\\uD83D\"", .unpairedSurrogate),
        ("\"\\uDE00\"", .unpairedSurrogate),
        ("\"\\uD83D\\u0041\"", .unpairedSurrogate),
        ("\"a\u{01}\"", .controlCharacterInString),
        ("\"tab\there\"", .controlCharacterInString),
    ])
    func rejectsInvalidJSON(_ text: String, _ reason: JSONSyntaxError.Reason) {
        let error = withSpan(text) { bytes -> JSONSyntaxError? in
            do throws(JSONSyntaxError) {
                _ = try JSONScanner.validateDocument(bytes)
                return nil
            } catch {
                return error
            }
        }
        #expect(error?.reason == reason)
    }

    @Test(arguments: [
        [0x22, 0xC3, 0x22] as [UInt8],  // truncated 2-byte sequence
        [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8 encoded surrogate
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0xFF, 0x22],
    ])
    func rejectsInvalidUTF8InStrings(_ bytes: [UInt8]) {
        let error = withSpan(bytes) { bytes -> JSONSyntaxError? in
            do throws(JSONSyntaxError) {
                _ = try JSONScanner.validateDocument(bytes)
                return nil
            } catch {
                return error
            }
        }
        #expect(error == JSONSyntaxError(offset: 1, reason: .invalidUTF8))
    }

    @Test func limitsNestingDepth() throws {
        let deepest = String(repeating: "[", count: JSONScanner.maximumDepth) + String(repeating: "]", count: JSONScanner.maximumDepth)
        _ = try withSpan(deepest) { try JSONScanner.validateDocument($0) }
        let tooDeep = "[" + deepest + "]"
        #expect(throws: JSONSyntaxError(offset: JSONScanner.maximumDepth, reason: .nestingTooDeep(limit: 64))) {
            try withSpan(tooDeep) { try JSONScanner.validateDocument($0) }
        }
    }

    @Test func errorDescriptionNamesTheByteAndWhatWasExpected() {
        let error = JSONSyntaxError(offset: 7, reason: .unexpectedByte(UInt8(ascii: "}"), expected: "a JSON value"))
        #expect(error.description == "unexpected '}', expected a JSON value at byte 7")
    }

    @Test func iteratesMembersWithExactValueRanges() throws {
        let text = #"{"a": {"x": [1, "}"]}, "b\u0041" : "q\"\\" , "c":-1.5e3}"#
        var found: [(String, String)] = []
        try withSpan(text) { bytes in
            var scanner = JSONScanner(bytes)
            #expect(try scanner.beginObject())
            while let member = try scanner.nextMember() {
                found.append((member.name.string(in: bytes) ?? "?", slice(text, member.value.range)))
            }
            try scanner.expectEndOfInput()
        }
        #expect(found.map(\.0) == ["a", "bA", "c"])
        #expect(found.map(\.1) == [#"{"x": [1, "}"]}"#, #""q\"\\""#, "-1.5e3"])
    }

    @Test func decodesEscapesIncludingSurrogatePairs() throws {
        let text = #""a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\uD83D\uDE00""#
        let decoded = try withSpan(text) { bytes in
            try JSONScanner.validateDocument(bytes).string(in: bytes)
        }
        #expect(decoded == "a\"b\\c/d\u{08}\u{0C}\n\r\t\u{E9}\u{20AC}\u{1F600}")
    }

    @Test func aStringEndsOrFailsExactlyWhereItsFirstSpecialByteIsWhateverItsOffset() throws {
        for offset in 0..<40 {
            let before = String(repeating: "x", count: offset)
            let after = String(repeating: "y", count: 40 - offset)
            // A quote ends the string there; what follows is trailing data.
            let quoted = "\"" + before + "\"" + after + "\""
            #expect(throws: JSONSyntaxError(offset: offset + 2, reason: .trailingData)) {
                try withSpan(quoted) { try JSONScanner.validateDocument($0) }
            }
            // An escape is found and marked; a two-byte character is taken whole.
            let escaped = try withSpan("\"" + before + "\\n" + after + "\"") { try JSONScanner.validateDocument($0) }
            #expect(escaped.hasEscapes && escaped.range == 0..<44)
            let accented = try withSpan("\"" + before + "\u{E9}" + after + "\"") { try JSONScanner.validateDocument($0) }
            #expect(!accented.hasEscapes && accented.range == 0..<44)
            // A raw control byte or a byte that is not UTF-8 fails at its own offset.
            for (byte, reason) in [(UInt8(0x01), JSONSyntaxError.Reason.controlCharacterInString), (0xFF, .invalidUTF8)] {
                let bytes = Array(("\"" + before).utf8) + [byte] + Array((after + "\"").utf8)
                #expect(throws: JSONSyntaxError(offset: offset + 1, reason: reason)) {
                    try withSpan(bytes) { try JSONScanner.validateDocument($0) }
                }
            }
        }
    }
}
