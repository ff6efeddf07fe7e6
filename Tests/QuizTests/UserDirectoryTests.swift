import Testing
@testable import Quiz

@Suite struct UserDirectoryTests {
    @Test func internKeepsIdsStableAcrossGrowth() {
        var directory = UserDirectory(initialCapacity: 4)
        let names = (0..<10_000).map { Array("user-\($0)".utf8) }
        let ids = names.map { directory.intern($0) }
        #expect(ids == Array(0..<10_000))
        #expect(names.map { directory.intern($0) } == ids)
        #expect(directory.id(of: Array("user-9999".utf8)) == 9_999)
        #expect(directory.id(of: Array("user-10000".utf8)) == nil)
        #expect(directory.count == 10_000)
    }

    @Test func refusedNewNameIsNotStored() {
        var directory = UserDirectory()
        #expect(directory.intern([1, 2], admit: { _ in false }) == nil)
        #expect(directory.count == 0)
    }
}

@Suite struct AnswerParsingTests {
    @Test func extraFieldsWhitespaceAndEscapesAreTolerated() {
        var engine = Fixtures.engineWithOpenQuestion()
        let value = #" { "meta" : {"a":[1,{"b":"}"}]}, "question_id" : "alpha-r1" , "ok":true, "answer" : "a\u0031" } "#
        let outcome = engine.answerRecord(key: Fixtures.bytes("zoe"), value: Fixtures.bytes(value), kafkaTimestampMs: 0)
        #expect(Fixtures.result(outcome)?["answer"] as? Int == 1)
    }
}
