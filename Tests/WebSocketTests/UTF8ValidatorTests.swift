/// UTF-8 validation: multibyte text, the forbidden forms (overlong, surrogates,
/// beyond U+10FFFF), and sequences split across chunks.
import Testing
import WebSocket

@Suite struct UTF8ValidatorTests {
    func isValid(_ data: [UInt8]) -> Bool {
        IncrementalUTF8Validator.isValid(data.span.bytes)
    }

    @Test func validMultibyteText() {
        #expect(isValid(bytes("κόσμε, ascii, 日本語, 🏟️ and \u{10FFFF}")))
        #expect(isValid(Array(repeating: 0x41, count: 100)))
        #expect(isValid([]))
    }

    @Test(arguments: [
        [UInt8(0xC0), 0xAF],  // overlong "/"
        [0xC1, 0xBF],  // overlong 2-byte
        [0xE0, 0x80, 0xAF],  // overlong 3-byte
        [0xF0, 0x80, 0x80, 0xAF],  // overlong 4-byte
        [0xED, 0xA0, 0x80],  // surrogate U+D800
        [0xED, 0xBF, 0xBF],  // surrogate U+DFFF
        [0xF4, 0x90, 0x80, 0x80],  // U+110000
        [0xF5, 0x80, 0x80, 0x80],
        [0xFF],
        [0x80],  // lone continuation
        [0xE2, 0x28, 0xA1],  // missing continuation
    ])
    func forbiddenSequencesAreInvalid(sequence: [UInt8]) {
        #expect(!isValid(sequence))
        #expect(!isValid(bytes("padding to pass the ascii fast path") + sequence))
    }

    @Test func truncatedSequenceIsIncompleteNotInvalid() {
        var validator = IncrementalUTF8Validator()
        let accepted = validator.feed([UInt8](bytes("euro ") + [0xE2, 0x82]).span.bytes)
        #expect(accepted)
        #expect(!validator.isComplete)
        #expect(!validator.isInvalid)
        #expect(!isValid([0xE2, 0x82]))
    }

    @Test func sequenceSplitAcrossEveryChunkBoundary() {
        let text = bytes("a€b😀c")
        for split in 0...text.count {
            var validator = IncrementalUTF8Validator()
            let first = validator.feed(Array(text[..<split]).span.bytes)
            let second = validator.feed(Array(text[split...]).span.bytes)
            #expect(first && second && validator.isComplete, "split at \(split)")
        }
    }

    @Test func aNonASCIIByteIsFoundWhereverTheFastPathsLeaveOff() {
        // The validator skips 16, then 8 ASCII bytes at a time, then single bytes: a bad byte or
        // a character at any offset of a text of any length must still be found.
        for length in 1...40 {
            for position in 0..<length {
                var bad = Array(repeating: UInt8(ascii: "a"), count: length)
                bad[position] = 0xFF
                #expect(!isValid(bad), "0xFF at \(position) of \(length)")
                var good = Array(repeating: UInt8(ascii: "a"), count: length) + [0xE2, 0x82, 0xAC]
                good.insert(contentsOf: [0xC3, 0xA9], at: position)
                #expect(isValid(good), "é at \(position) of \(length)")
            }
        }
    }

    @Test func invalidityIsSticky() {
        var validator = IncrementalUTF8Validator()
        _ = validator.feed([UInt8(0xFF)].span.bytes)
        let later = validator.feed(bytes("fine").span.bytes)
        #expect(!later)
        #expect(validator.isInvalid)
    }

    @Test func textSplitAcrossFragmentsInTheReader() {
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        let wire = clientFrame(.text, [0x41, euro[0]], fin: false) + clientFrame(.continuation, [euro[1]], fin: false)
            + clientFrame(.continuation, [euro[2]])
        #expect(read(wire).events == [.text("A€")])
    }
}
