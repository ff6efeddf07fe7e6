import Testing
import StadiumProtocol

@Suite struct JSONRecordAccessTests {
    private func members(_ json: String) -> [String: String]? {
        let bytes = Array(json.utf8)
        let span = bytes.span.bytes
        var found: [String: String] = [:]
        let isObject = JSONScanner.forEachMember(of: span, range: 0..<span.byteCount) { member in
            found[member.name.string(in: span)!] = String(decoding: bytes[member.value.range], as: UTF8.self)
        }
        return isObject ? found : nil
    }

    @Test func membersOfExactlyOneObject() {
        #expect(members(#" {"a":1, "b":{"c":[2]}} "#) == ["a": "1", "b": #"{"c":[2]}"#])
        #expect(members("{}") == [:])
        for bad in ["", "[1]", #"{"a":1} {}"#, #"{"a":01}"#, #"{"a":"\ud800"}"#, "{\"a\":1"] {
            #expect(members(bad) == nil, "\(bad)")
        }
    }

    @Test func typedValues() {
        let bytes = Array(#"[7,-9223372036854775808,1.5,9223372036854775808,true,false,"x"]"#.utf8)
        let span = bytes.span.bytes
        var spans: [JSONValueSpan] = []
        var scanner = JSONScanner(span)
        let whole = try! scanner.scanValue()
        #expect(whole.forEachElement(in: span) { spans.append($0) })
        #expect(spans.map { $0.int64(in: span) } == [7, Int64.min, nil, nil, nil, nil, nil])
        #expect(spans.map { $0.bool(in: span) } == [nil, nil, nil, nil, true, false, nil])
        #expect(!spans[6].forEachElement(in: span) { _ in })
    }

    @Test func appendJSONWritesWhatTheWriterWrites() {
        var bytes = Array("prefix:".utf8)
        bytes.appendJSON { writer in
            writer.append("{\"s\":")
            writer.appendString("a\"\u{1}é")
            writer.append(",\"n\":")
            writer.append(Int64(-42))
            writer.append(UInt8(ascii: "}"))
        }
        #expect(String(decoding: bytes, as: UTF8.self) == #"prefix:{"s":"a\"\u0001é","n":-42}"#)
    }

    @Test func utf8Validity() {
        let cases: [([UInt8], Bool)] = [
            (Array("héllo €".utf8), true), ([], true), ([0xFF], false), ([0xC3], false),
            ([0xED, 0xA0, 0x80], false), ([0xC0, 0x80], false), ([0xF4, 0x90, 0x80, 0x80], false),
        ]
        for (bytes, valid) in cases {
            #expect(UTF8Sequence.isValid(bytes.span.bytes) == valid, "\(bytes)")
        }
    }
}
