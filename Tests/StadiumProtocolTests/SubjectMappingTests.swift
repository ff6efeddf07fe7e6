import Testing
@testable import StadiumProtocol

@Suite struct SubjectMappingTests {
    @Test(arguments: [
        ("/question", "question", nil),
        ("/answer/alice", "answer", "alice"),
        ("/result/alice", "result", "alice"),
        ("/gettop", "gettop", nil),
        ("/top/bob", "top", "bob"),
        ("/room/42/seat:7", "room", "42/seat:7"),
        ("/a.b_c-d/user@example.com", "a.b_c-d", "user@example.com"),
    ] as [(String, String, String?)])
    func mapsBothWays(_ subject: String, _ topic: String, _ key: String?) {
        #expect(SubjectSyntax.isValid(subject))
        let mapped = SubjectMapping.topicAndKey(for: subject)
        #expect(mapped.topic == topic)
        #expect(mapped.key == key)
        #expect(SubjectMapping.subject(topic: topic, key: key) == subject)
        let written = withSpan(topic) { topicBytes in
            var buffer = [UInt8](repeating: 0, count: SubjectSyntax.maximumLength)
            let count = buffer.withUnsafeMutableBytes { output in
                if let key {
                    return withSpan(key) { SubjectMapping.writeSubject(topic: topicBytes, key: $0, into: output) }
                }
                return SubjectMapping.writeSubject(topic: topicBytes, key: nil, into: output)
            }
            return count.map { String(decoding: buffer[0..<$0], as: UTF8.self) }
        }
        #expect(written == subject)
    }

    @Test(arguments: [
        ("result", "alice smith"),
        ("result", ""),
        ("result", "caf\u{E9}"),
        ("a/b", "c"),
        ("..", "x"),
    ] as [(String, String)])
    func recordsNoClientCanSubscribeToHaveNoSubject(_ topic: String, _ key: String) {
        #expect(SubjectMapping.subject(topic: topic, key: key) == nil)
        let count = withSpan(topic) { topicBytes in
            withSpan(key) { keyBytes in
                var buffer = [UInt8](repeating: 0, count: 64)
                return buffer.withUnsafeMutableBytes { SubjectMapping.writeSubject(topic: topicBytes, key: keyBytes, into: $0) }
            }
        }
        #expect(count == nil)
    }

    @Test func writeSubjectRefusesAShortBuffer() {
        let count = withSpan("question") { topic in
            var buffer = [UInt8](repeating: 0, count: 5)
            return buffer.withUnsafeMutableBytes { SubjectMapping.writeSubject(topic: topic, key: nil, into: $0) }
        }
        #expect(count == nil)
    }

    @Test func subjectSyntaxLimits() {
        let longest = "/t/" + String(repeating: "k", count: SubjectSyntax.maximumLength - 3)
        #expect(SubjectSyntax.isValid(longest))
        #expect(SubjectSyntax.violation(in: longest + "k") == .tooLong(length: 257))
        #expect(SubjectSyntax.isValid("/a/b/c/d/e/f/g/h"))
        #expect(SubjectSyntax.violation(in: "/a/b/c/d/e/f/g/h/i") == .tooManySegments)
        #expect(SubjectSyntax.violation(in: "/" + String(repeating: "t", count: 250)) == .topicTooLong(length: 250))
        #expect(SubjectSyntax.violation(in: "") == .empty)
        #expect(SubjectSyntax.isValid("/..a/~:@._-"))
        #expect(SubjectSyntax.violation(in: "/./x") == .reservedTopicName)
    }
}
