import Testing
@testable import StadiumProtocol

@Suite struct ClientRequestParserTests {
    @Test func parsesSub() throws {
        let request = try parseRequest(#"{"op":"sub","id":1,"subjects":["/question","/result/alice"]}"#).get()
        #expect(request == .sub(id: 1, subjects: ["/question", "/result/alice"], since: [:]))
    }

    @Test func parsesSubWithSince() throws {
        let request = try parseRequest(#"{"op":"sub","subjects":["/question"],"since":{"/question":41,"/top/bob":0}}"#).get()
        #expect(request == .sub(id: nil, subjects: ["/question"], since: ["/question": 41, "/top/bob": 0]))
    }

    @Test func parsesUnsub() throws {
        let request = try parseRequest(#"{"op":"unsub","id":2,"subjects":["/result/alice"]}"#).get()
        #expect(request == .unsub(id: 2, subjects: ["/result/alice"]))
    }

    @Test func parsesAuth() throws {
        let request = try parseRequest(#"{"op":"auth","id":4,"token":"s3cr\u0065t"}"#).get()
        #expect(request == .auth(id: 4, token: "s3cret"))
    }

    @Test(arguments: [
        #"{"answer":2,"question":"q-17","nested":{"list":[1,2.5e3,null,true,{"x":[]}]}}"#,
        #"[1,[2,[3,"]"]],{"}":"{"}]"#,
        #""esc\"aped \\ \u00e9 \uD83D\uDE00 \n""#,
        "-0.25e+10",
        "null",
        "\"caf\u{E9} \u{1F600}\"",
    ])
    func pubDataRangeIsTheExactValueBytes(_ data: String) throws {
        let text = #"{ "op" : "pub", "id":3, "subject":"/answer/alice", "data" :  "# + data + " , \"extra\":[1] }"
        guard case .pub(let id, let subject, let range) = try parseRequest(text).get() else {
            Issue.record("not a pub")
            return
        }
        #expect(id == 3)
        #expect(subject == "/answer/alice")
        #expect(slice(text, range) == data)
    }

    @Test func membersMayComeInAnyOrderAndUnknownOnesAreIgnored() throws {
        let request = try parseRequest(#"{"data":[],"future":{"a":1},"subject":"/gettop","op":"pub"}"#).get()
        #expect(request == .pub(id: nil, subject: "/gettop", data: 8..<10))
    }

    @Test func escapedSlashesInSubjectsAreDecoded() throws {
        let request = try parseRequest(#"{"op":"sub","subjects":["\/result\/alice"]}"#).get()
        #expect(request == .sub(id: nil, subjects: ["/result/alice"], since: [:]))
    }

    @Test func acceptsTheExtremeIds() throws {
        #expect(try parseRequest(#"{"op":"auth","id":-9223372036854775808,"token":"t"}"#).get().id == Int64.min)
        #expect(try parseRequest(#"{"op":"auth","id":9223372036854775807,"token":"t"}"#).get().id == Int64.max)
    }

    @Test func acceptsExactlyTheSubjectLimit() throws {
        let subjects = (0..<ClientRequestParser.maximumSubjectsPerRequest).map { "/result/p\($0)" }
        let request = try withBytes(ClientRequestEncoder.sub(id: 9, subjects: subjects)) { ClientRequestParser.parse($0.bytes) }.get()
        #expect(request == .sub(id: 9, subjects: subjects, since: [:]))
    }
}
