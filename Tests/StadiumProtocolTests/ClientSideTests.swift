import Foundation
import Testing
@testable import StadiumProtocol

/// The bots' and load generator's half: requests they encode, messages they parse.
@Suite struct ClientSideTests {
    @Test func encodedRequestsParseBackOnTheGateway() throws {
        let sub = ClientRequestEncoder.sub(id: 1, subjects: ["/question", "/result/alice"], since: ["/question": 41, "/result/alice": 2])
        #expect(String(decoding: sub, as: UTF8.self)
            == #"{"op":"sub","id":1,"subjects":["/question","/result/alice"],"since":{"/question":41,"/result/alice":2}}"#)
        #expect(try withBytes(sub) { ClientRequestParser.parse($0.bytes) }.get()
            == .sub(id: 1, subjects: ["/question", "/result/alice"], since: ["/question": 41, "/result/alice": 2]))

        let unsub = ClientRequestEncoder.unsub(id: nil, subjects: ["/result/alice"])
        #expect(String(decoding: unsub, as: UTF8.self) == #"{"op":"unsub","subjects":["/result/alice"]}"#)
        #expect(try withBytes(unsub) { ClientRequestParser.parse($0.bytes) }.get() == .unsub(id: nil, subjects: ["/result/alice"]))

        let auth = ClientRequestEncoder.auth(id: 4, token: "tok\"en")
        #expect(try withBytes(auth) { ClientRequestParser.parse($0.bytes) }.get() == .auth(id: 4, token: "tok\"en"))
        _ = try foundationObject(auth)
    }

    @Test func pubWrittenIntoABufferCarriesTheDataVerbatim() throws {
        let data = #"{"question":"q-17","answer":2}"#
        let encoded = withSpan(data) { data in
            encode(length: ClientRequestEncoder.pubLength(id: 3, subject: "/answer/alice", data: data)) {
                ClientRequestEncoder.writePub(id: 3, subject: "/answer/alice", data: data, into: $0)
            }
        }
        #expect(encoded.text == #"{"op":"pub","id":3,"subject":"/answer/alice","data":{"question":"q-17","answer":2}}"#)
        #expect(encoded.shortBufferRefused)
        guard case .pub(3, "/answer/alice", let range) = try withBytes(encoded.bytes, { ClientRequestParser.parse($0.bytes) }).get() else {
            Issue.record("not the pub that was encoded")
            return
        }
        #expect(slice(encoded.text, range) == data)
        #expect(ClientRequestEncoder.pub(id: 3, subject: "/answer/alice", data: Array(data.utf8)) == encoded.bytes)
    }

    @Test func parsesEveryServerMessage() throws {
        #expect(try parseServer(#"{"op":"ok","id":3}"#) == .ok(id: 3))
        #expect(try parseServer(#"{"op":"ok"}"#) == .ok(id: nil))
        #expect(try parseServer(#"{"op":"err","id":3,"code":"forbidden","message":"no \"way\""}"#)
            == .err(id: 3, code: "forbidden", message: "no \"way\""))
        #expect(try parseServer(#"{"op":"gap","subject":"/question","from":10,"to":41}"#)
            == .gap(subject: "/question", from: 10, to: 41))
    }

    @Test func parsesMsgWithTheDataRange() throws {
        let text = #"{"op":"msg","subject":"/result/alice","seq":41,"data":{"points":[1,{"x":"}"}]},"retained":true}"#
        try withBytes(text) { bytes in
            guard case .msg(let subject, let seq, let data, let retained) = try ServerMessageParser.parse(bytes.bytes).get() else {
                Issue.record("not a msg")
                return
            }
            let isAlice = subject.isString("/result/alice", in: bytes.bytes)
            let isPrefix = subject.isString("/result/alic", in: bytes.bytes)
            #expect(isAlice)
            #expect(!isPrefix)
            #expect(subject.string(in: bytes.bytes) == "/result/alice")
            #expect(seq == 41)
            #expect(slice(text, data) == #"{"points":[1,{"x":"}"}]}"#)
            #expect(retained)
        }
    }

    @Test func encodedServerMessagesParseBack() throws {
        let error = ProtocolError.badRequest(id: 12, message: "unknown op \"x\"")
        let err = encode(length: ServerMessageEncoder.errLength(for: error)) { ServerMessageEncoder.writeErr(for: error, into: $0) }
        #expect(try parseServer(err.text) == .err(id: 12, code: "bad_request", message: "unknown op \"x\""))
        let msg = withBytes("not json \u{FF}") { record in
            let data = MessageData(recordValue: record.bytes)
            return encode(length: ServerMessageEncoder.msgLength(subject: "/question", seq: 5, data: data, retained: false)) {
                ServerMessageEncoder.writeMsg(subject: "/question", seq: 5, data: data, retained: false, into: $0)
            }
        }
        try withBytes(msg.bytes) { bytes in
            guard case .msg(_, 5, let data, false) = try ServerMessageParser.parse(bytes.bytes).get() else {
                Issue.record("not the msg that was encoded")
                return
            }
            let dataBytes = bytes.bytes.extracting(data)
            let value = try JSONScanner.validateDocument(dataBytes)
            #expect(value.string(in: dataBytes) == "not json \u{FF}")
        }
    }

    @Test(arguments: [
        ("{\"op\":\"msg\",\"subject\":\"/q\",\"data\":1}", "\"seq\" must be an integer"),
        ("{\"op\":\"msg\",\"seq\":1,\"data\":1}", "msg without a string \"subject\""),
        ("{\"op\":\"msg\",\"subject\":\"/q\",\"seq\":1}", "msg without \"data\""),
        ("{\"op\":\"msg\",\"subject\":\"/q\",\"seq\":1,\"data\":1,\"retained\":1}", "\"retained\" must be true or false"),
        ("{\"op\":\"err\",\"message\":\"m\"}", "err without a string \"code\""),
        ("{\"op\":\"nope\"}", "unknown op \"nope\""),
        ("{\"id\":1}", "missing string member \"op\""),
        ("[]", "not a JSON object"),
        ("{\"op\":\"ok\"", "invalid JSON: unexpected end of input at byte 10"),
    ])
    func rejectsMalformedServerMessages(_ text: String, _ message: String) {
        #expect(withBytes(text) { ServerMessageParser.parse($0.bytes) } == .failure(MalformedServerMessage(message)))
    }

    private func parseServer(_ text: String) throws -> ServerMessage {
        try withBytes(text) { try ServerMessageParser.parse($0.bytes).get() }
    }
}
