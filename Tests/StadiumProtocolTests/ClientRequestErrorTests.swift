import Testing
@testable import StadiumProtocol

@Suite struct ClientRequestErrorTests {
    @Test(arguments: [
        ("", "invalid JSON: unexpected end of input at byte 0"),
        (#"{"op":"pub","subject":"/a","data":{"#, "invalid JSON: unexpected end of input at byte 35"),
        (#"{"op":"sub"} x"#, "invalid JSON: unexpected data after the JSON value at byte 13"),
        (#"{"op":'sub'}"#, "invalid JSON: unexpected ''', expected a JSON value at byte 6"),
        (#"{"op":"sub",}"#, "invalid JSON: unexpected '}', expected a member name string at byte 12"),
    ])
    func badJSON(_ text: String, _ message: String) {
        #expect(parseRequest(text) == .failure(.badRequest(id: nil, message: message)))
    }

    @Test func badJSONAfterTheIdStillEchoesTheId() {
        let result = parseRequest(#"{"op":"pub","id":7,"subject":"/a","data":[1,}"#)
        #expect(result == .failure(.badRequest(id: 7, message: "invalid JSON: unexpected '}', expected a JSON value at byte 44")))
    }

    @Test(arguments: ["[]", "\"sub\"", "42", "null"])
    func notAnObject(_ text: String) {
        #expect(parseRequest(text) == .failure(.badRequest(id: nil, message: "a request must be a JSON object")))
    }

    @Test(arguments: [
        (#"{"id":5,"subjects":["/a"]}"#, "missing member \"op\" (one of sub, unsub, pub, auth)"),
        (#"{"op":1,"id":5}"#, "\"op\" must be a string (one of sub, unsub, pub, auth)"),
        (#"{"op":"publish","id":5}"#, "unknown op \"publish\"; expected one of sub, unsub, pub, auth"),
        (#"{"op":"PUB","id":5}"#, "unknown op \"PUB\"; expected one of sub, unsub, pub, auth"),
        (#"{"op":"sub","id":5}"#, "missing member \"subjects\" (an array of subject strings)"),
        (#"{"op":"sub","id":5,"subjects":"/a"}"#, "\"subjects\" must be an array of subject strings"),
        (#"{"op":"sub","id":5,"subjects":[]}"#, "\"subjects\" must not be empty"),
        (#"{"op":"unsub","id":5,"subjects":["/a",7]}"#, "\"subjects\"[1] must be a string"),
        (#"{"op":"sub","id":5,"subjects":["/a"],"since":[1]}"#, "\"since\" must be an object mapping subjects to the last seq seen"),
        (#"{"op":"sub","id":5,"subjects":["/a"],"since":{"/a":-1}}"#, "\"since\" value for \"/a\" must be an integer from 0 to 9223372036854775807"),
        (#"{"op":"sub","id":5,"subjects":["/a"],"since":{"/a":"4"}}"#, "\"since\" value for \"/a\" must be an integer from 0 to 9223372036854775807"),
        (#"{"op":"pub","id":5,"data":1}"#, "missing member \"subject\" (a subject string such as \"/answer/alice\")"),
        (#"{"op":"pub","id":5,"subject":["/a"],"data":1}"#, "\"subject\" must be a string"),
        (#"{"op":"pub","id":5,"subject":"/answer/alice"}"#, "missing member \"data\" (any JSON value)"),
        (#"{"op":"auth","id":5}"#, "missing member \"token\" (a string)"),
        (#"{"op":"auth","id":5,"token":12}"#, "\"token\" must be a string"),
        (#"{"op":"auth","id":5,"token":""}"#, "\"token\" must not be empty"),
        (#"{"op":"pub","id":5,"op":"sub"}"#, "member \"op\" appears more than once"),
    ])
    func missingOrIllTypedMembers(_ text: String, _ message: String) {
        #expect(parseRequest(text) == .failure(.badRequest(id: 5, message: message)))
    }

    @Test func longUnknownOpsAreShortenedInTheMessage() {
        let op = String(repeating: "x", count: 100)
        let expected = "unknown op \"\(String(repeating: "x", count: 32))...\"; expected one of sub, unsub, pub, auth"
        #expect(parseRequest(#"{"op":""# + op + #""}"#) == .failure(.badRequest(id: nil, message: expected)))
    }

    @Test(arguments: [
        "9223372036854775808", "-9223372036854775809", "100000000000000000000000", "1.5", "1e3", "\"1\"", "null",
    ])
    func idsThatAreNotInt64(_ id: String) {
        let result = parseRequest(#"{"op":"pub","id":"# + id + #","subject":"/a","data":1}"#)
        let message = "\"id\" must be an integer from -9223372036854775808 to 9223372036854775807"
        #expect(result == .failure(.badRequest(id: nil, message: message)))
    }

    @Test func tooManySubjects() {
        let subjects = (0...ClientRequestParser.maximumSubjectsPerRequest).map { "/result/p\($0)" }
        let result = withBytes(ClientRequestEncoder.sub(id: 8, subjects: subjects)) { ClientRequestParser.parse($0.bytes) }
        #expect(result == .failure(.badRequest(id: 8, message: "too many subjects: at most 64 per request")))
    }

    @Test(arguments: [
        ("question", "a subject must start with '/'"),
        ("/", "empty segment at byte 1 (no '//' and no trailing '/')"),
        ("/result//alice", "empty segment at byte 8 (no '//' and no trailing '/')"),
        ("/result/alice/", "empty segment at byte 14 (no '//' and no trailing '/')"),
        ("/result/al ice", "byte 32 at byte 10 is not allowed; the key may use letters, digits and '.', '_', '-', '~', ':', '@'"),
        ("/result/al*ice", "'*' at byte 10 is not allowed; the key may use letters, digits and '.', '_', '-', '~', ':', '@'"),
        ("/ques:tion", "':' at byte 5 is not allowed; the topic segment may use letters, digits, '.', '_' and '-'"),
        ("/caf\u{E9}", "byte 195 at byte 4 is not allowed; the topic segment may use letters, digits, '.', '_' and '-'"),
        ("/..", "the topic segment must not be '.' or '..'"),
        ("/a/b/c/d/e/f/g/h/i", "a subject may have at most 8 segments"),
    ])
    func badSubjectInPub(_ subject: String, _ message: String) {
        let text = #"{"op":"pub","id":6,"subject":"# + "\"\(subject)\"" + #","data":{}}"#
        #expect(parseRequest(text) == .failure(.badSubject(id: 6, subject: subject, message: message)))
    }

    @Test func badSubjectInSubNamesTheSubject() {
        let result = parseRequest(#"{"op":"sub","id":2,"subjects":["/question","/result/bad subject"]}"#)
        guard case .failure(let error) = result else {
            Issue.record("accepted a bad subject")
            return
        }
        #expect(error.code == .badSubject)
        #expect(error.id == 2)
        #expect(error.message == "invalid subject \"/result/bad subject\": byte 32 at byte 11 is not allowed; the key may use letters, digits and '.', '_', '-', '~', ':', '@'")
    }

    @Test func badSubjectInSince() {
        let result = parseRequest(#"{"op":"sub","id":2,"subjects":["/question"],"since":{"question":3}}"#)
        #expect(result == .failure(.badSubject(id: 2, subject: "question", message: "a subject must start with '/'")))
    }

    @Test func tooLongSubject() {
        let subject = "/t/" + String(repeating: "k", count: 254)
        let result = parseRequest(#"{"op":"pub","subject":""# + subject + #"","data":1}"#)
        #expect(result == .failure(.badSubject(id: nil, subject: subject, message: "a subject may have at most 256 bytes, this one has 257")))
    }
}
