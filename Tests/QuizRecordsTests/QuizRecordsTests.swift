import QuizRecords
import Testing

@Suite struct QuizRecordsTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func aQuestionIsWrittenAsDocumentedAndReadBack() throws {
        let question = QuestionRecord(
            id: "q001-r7", round: 7, question: "Which \"planet\"?", answers: ["Venus", "Mercury", "Mars", "Earth"],
            publishedMs: 1_732_400_000_000, deadlineMs: 1_732_400_010_000, points: 100)
        #expect(text(question.encoded()) == #"{"id":"q001-r7","round":7,"question":"Which \"planet\"?","answers":["Venus","Mercury","Mars","Earth"],"published_ms":1732400000000,"deadline_ms":1732400010000,"points":100}"#)
        #expect(try QuestionRecord(json: question.encoded()) == question)
    }

    @Test func aResultIsWrittenAsDocumentedAndReadBack() throws {
        let result = ResultRecord(questionID: "q001-r7", answer: 1, correctAnswer: 1, points: 100, total: 350, late: false, sequence: 4711)
        #expect(text(result.encoded()) == #"{"question_id":"q001-r7","answer":1,"correct_answer":1,"points":100,"total":350,"late":false,"seq":4711}"#)
        #expect(try ResultRecord(json: result.encoded()) == result)
        let late = ResultRecord(questionID: "q-r1", answer: 2, correctAnswer: 0, points: 0, total: 0, late: true, sequence: 1)
        #expect(try ResultRecord(json: late.encoded()) == late)
        #expect(!late.isCorrect)
    }

    @Test func aTopIsWrittenAsDocumentedAndReadBack() throws {
        let top = TopRecord(score: 350, top: [.init(name: "bot-3", score: 900), .init(name: "alice", score: 350)])
        #expect(text(top.encoded()) == #"{"score":350,"top":[{"name":"bot-3","score":900},{"name":"alice","score":350}]}"#)
        #expect(try TopRecord(json: top.encoded()) == top)
        #expect(try TopRecord(json: TopRecord(score: 0, top: []).encoded()) == TopRecord(score: 0, top: []))
    }

    @Test func aTopFromAnEncodedListIsTheSameBytes() {
        let rows: [([UInt8], Int64)] = [(Array("é\"x".utf8), 5), (Array("b".utf8), 3)]
        let top = TopRecord(score: 3, top: [.init(name: "é\"x", score: 5), .init(name: "b", score: 3)])
        #expect(TopRecord.encoded(score: 3, encodedTop: TopRecord.encodedTop(rows)) == top.encoded())
    }

    @Test func aGetTopRequestIsWrittenAsDocumentedAndReadBack() throws {
        let request = GetTopRequest(userID: "al\"ice")
        #expect(text(request.encoded()) == #"{"user_id":"al\"ice"}"#)
        #expect(try GetTopRequest(json: request.encoded()) == request)
        #expect(try GetTopRequest(json: Array(#"{"user_id":"a\u00e9"}"#.utf8)).userID == "aé")
    }

    @Test func otherFieldsWhitespaceAndFieldOrderDoNotMatter() throws {
        let json = #" { "seq" : 3, "extra" : {"a":[1,{"b":"}"}]}, "late":true, "total":9, "points":0, "correct_answer":2, "answer":1, "question_id":"x" } "#
        #expect(try ResultRecord(json: Array(json.utf8))
            == ResultRecord(questionID: "x", answer: 1, correctAnswer: 2, points: 0, total: 9, late: true, sequence: 3))
    }

    @Test func aRecordThatIsNotOneJSONObjectIsNotJSON() {
        for value in ["", "x", "[1]", #"{"user_id":"a"} trailing"#, #"{"user_id":"a""#, "{\"user_id\":\"\u{01}\"}"] {
            #expect(throws: QuizRecordError.notJSON, "\(value)") { try GetTopRequest(json: Array(value.utf8)) }
        }
        #expect(throws: QuizRecordError.notJSON) { try GetTopRequest(json: [UInt8(ascii: "{"), 0x22, 0xFF, 0x22, UInt8(ascii: "}")]) }
    }

    @Test func aMissingOrMistypedFieldIsNamed() {
        #expect(throws: QuizRecordError.missingField("user_id")) { try GetTopRequest(json: Array(#"{"user":"x"}"#.utf8)) }
        #expect(throws: QuizRecordError.missingField("user_id")) { try GetTopRequest(json: Array(#"{"user_id":""}"#.utf8)) }
        #expect(throws: QuizRecordError.missingField("total")) { try ResultRecord(json: Array(#"{"question_id":"q"}"#.utf8)) }
        #expect(throws: QuizRecordError.missingField("seq")) {
            try ResultRecord(json: Array(#"{"question_id":"q","total":1,"seq":-1}"#.utf8))
        }
        #expect(throws: QuizRecordError.missingField("answers")) {
            try QuestionRecord(json: Array(#"{"id":"q","round":1,"question":"?","answers":[1],"published_ms":1,"deadline_ms":2,"points":3}"#.utf8))
        }
        #expect(throws: QuizRecordError.missingField("round")) {
            try QuestionRecord(json: Array(#"{"id":"q","round":1.5,"question":"?","answers":[],"published_ms":1,"deadline_ms":2,"points":3}"#.utf8))
        }
        #expect(throws: QuizRecordError.missingField("top")) { try TopRecord(json: Array(#"{"score":1,"top":[{"name":"a"}]}"#.utf8)) }
    }
}
