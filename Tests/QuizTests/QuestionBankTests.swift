import Foundation
import Testing
@testable import Quiz

@Suite struct QuestionBankTests {
    static let valid = #"{"id":"q1","question":"Q?","answers":["a","b","c","d"],"correct":2,"points":5}"#

    func load(_ json: String) throws(QuestionBankError) -> QuestionBank {
        try QuestionBank(json: Array(json.utf8), source: "bank.json")
    }

    @Test func loadsValidQuestionWithDefaultPoints() throws {
        let bank = try load(#"[\#(Self.valid), {"id":"q2","question":"R?","answers":["e","f","g","h"],"correct":0}]"#)
        #expect(bank.questions.count == 2)
        #expect(bank.questions[0] == Question(id: "q1", text: "Q?", answers: ["a", "b", "c", "d"], correctIndex: 2, points: 5))
        #expect(bank.questions[1].points == QuestionBank.defaultPoints)
    }

    @Test func rejectsInvalidJSON() {
        #expect { try load("[{") } throws: { ($0 as? QuestionBankError).map { if case .notJSON = $0 { true } else { false } } ?? false }
    }

    @Test func rejectsNonArrayAndEmptyBank() {
        #expect(throws: QuestionBankError.notAnArray(source: "bank.json")) { try load("{}") }
        #expect(throws: QuestionBankError.empty(source: "bank.json")) { try load("[]") }
    }

    @Test func reportsMissingFieldWithIndex() {
        #expect(throws: QuestionBankError.missingField(source: "bank.json", index: 1, field: "question")) {
            try load(#"[\#(Self.valid), {"id":"q2","answers":["a","b","c","d"],"correct":0}]"#)
        }
        #expect(throws: QuestionBankError.missingField(source: "bank.json", index: 0, field: "correct")) {
            try load(#"[{"id":"q2","question":"Q","answers":["a","b","c","d"]}]"#)
        }
        #expect(throws: QuestionBankError.missingField(source: "bank.json", index: 0, field: "answers")) {
            try load(#"[{"id":"q2","question":"Q","correct":1}]"#)
        }
    }

    @Test func rejectsWrongAnswerCount() {
        #expect(throws: QuestionBankError.wrongAnswerCount(source: "bank.json", index: 0, count: 3)) {
            try load(#"[{"id":"q1","question":"Q","answers":["a","b","c"],"correct":0}]"#)
        }
    }

    @Test func rejectsCorrectIndexOutOfRange() {
        #expect(throws: QuestionBankError.correctIndexOutOfRange(source: "bank.json", index: 0, correct: 4)) {
            try load(#"[{"id":"q1","question":"Q","answers":["a","b","c","d"],"correct":4}]"#)
        }
    }

    @Test func rejectsDuplicateIDs() {
        #expect(throws: QuestionBankError.duplicateID(source: "bank.json", index: 1, id: "q1", firstIndex: 0)) {
            try load("[\(Self.valid),\(Self.valid)]")
        }
    }

    @Test func rejectsEmptyTexts() {
        #expect(throws: QuestionBankError.emptyText(source: "bank.json", index: 0, field: "question")) {
            try load(#"[{"id":"q1","question":"  ","answers":["a","b","c","d"],"correct":0}]"#)
        }
        #expect(throws: QuestionBankError.emptyText(source: "bank.json", index: 0, field: "answers[2]")) {
            try load(#"[{"id":"q1","question":"Q","answers":["a","b","","d"],"correct":0}]"#)
        }
    }

    @Test func rejectsWrongTypes() {
        #expect(throws: QuestionBankError.wrongType(source: "bank.json", index: 0, field: "correct", expected: "an integer")) {
            try load(#"[{"id":"q1","question":"Q","answers":["a","b","c","d"],"correct":"1"}]"#)
        }
    }

    @Test func errorMessageNamesFileIndexAndProblem() {
        let error = QuestionBankError.wrongAnswerCount(source: "bank.json", index: 7, count: 3)
        #expect(error.description == "bank.json: question 7 has 3 answers, expected 4")
    }

    @Test func shippedBankValidates() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/stadium-processors/Resources/questions.json")
        let bank = try QuestionBank(json: Array(try Data(contentsOf: url)), source: url.lastPathComponent)
        #expect(bank.questions.count >= 60)
    }
}
