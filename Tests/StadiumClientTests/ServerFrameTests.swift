// Gateway messages parsed into the client's own values.
@testable import StadiumClient
import Testing

@Suite("Server frames")
struct ServerFrameTests {
    private func parse(_ text: String) -> ServerFrame? {
        try? ServerFrame.parse(Array(text.utf8)).get()
    }

    @Test("msg keeps the data's exact bytes, its seq and the retained mark")
    func msg() {
        #expect(parse(#"{"op":"msg","subject":"/question","seq":41,"data":{"a": [1, 2]},"retained":true}"#)
            == .msg(StadiumMessage(subject: "/question", seq: 41, data: Array(#"{"a": [1, 2]}"#.utf8), retained: true)))
        #expect(parse(#"{"op":"msg","subject":"/r\/x","seq":0,"data":null}"#)
            == .msg(StadiumMessage(subject: "/r/x", seq: 0, data: Array("null".utf8), retained: false)))
    }

    @Test("ok, err (also with a code the client does not know) and gap")
    func replies() {
        #expect(parse(#"{"op":"ok","id":3}"#) == .ok(id: 3))
        #expect(parse(#"{"op":"ok"}"#) == .ok(id: nil))
        #expect(parse(#"{"op":"err","id":5,"code":"forbidden","message":"no"}"#)
            == .err(id: 5, code: .forbidden, message: "no"))
        #expect(parse(#"{"op":"err","code":"brand_new","message":"later gateway"}"#)
            == .err(id: nil, code: StadiumError.Code("brand_new"), message: "later gateway"))
        #expect(parse(#"{"op":"gap","subject":"/question","from":10,"to":41}"#)
            == .gap(StadiumGap(subject: "/question", from: 10, to: 41)))
    }

    @Test("a subject without a key: msg and gap name their partition, the sub's ok its positions")
    func cursorMembers() {
        #expect(parse(#"{"op":"msg","subject":"/question","seq":41,"partition":2,"data":1}"#)
            == .msg(StadiumMessage(subject: "/question", seq: 41, partition: 2, data: Array("1".utf8), retained: false)))
        #expect(parse(#"{"op":"gap","subject":"/question","partition":1,"from":10,"to":41}"#)
            == .gap(StadiumGap(subject: "/question", partition: 1, from: 10, to: 41)))
        #expect(parse(#"{"op":"ok","id":1,"positions":{"/question":{"0":40,"1":-1}}}"#)
            == .ok(id: 1, positions: ["/question": [0: 40, 1: -1]]))
        #expect(parse(#"{"op":"msg","subject":"/question","seq":41,"partition":-1,"data":1}"#) == nil)
    }

    @Test("what is not a v1 message is refused")
    func malformed() {
        for text in ["not json", "[]", #"{"op":"msg","subject":"/q","data":1}"#, #"{"op":"hello"}"#] {
            #expect(parse(text) == nil, "\(text)")
        }
    }
}
