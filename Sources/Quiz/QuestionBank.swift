import Foundation

/// The validated question bank. File format: a JSON array of
/// `{"id": "q001", "question": "...", "answers": ["a","b","c","d"], "correct": 0..3, "points": 100}`;
/// `points` is optional (default 100). Reading the file is the caller's job: Quiz does no I/O.
public struct QuestionBank: Sendable, Equatable {
    public static let defaultPoints: Int64 = 100

    public let questions: [Question]

    public init(questions: [Question]) {
        self.questions = questions
    }

    /// Parses and validates a bank; `source` names the file in error messages.
    public init(json: [UInt8], source: String) throws(QuestionBankError) {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw .notJSON(source: source, detail: "\(error)")
        }
        guard let entries = root as? [Any] else { throw .notAnArray(source: source) }
        guard !entries.isEmpty else { throw .empty(source: source) }
        var questions: [Question] = []
        var firstIndexByID: [String: Int] = [:]
        for (index, entry) in entries.enumerated() {
            let question = try Self.question(from: entry, source: source, index: index)
            if let firstIndex = firstIndexByID[question.id] {
                throw .duplicateID(source: source, index: index, id: question.id, firstIndex: firstIndex)
            }
            firstIndexByID[question.id] = index
            questions.append(question)
        }
        self.questions = questions
    }

    private static func question(from entry: Any, source: String, index: Int) throws(QuestionBankError) -> Question {
        guard let object = entry as? [String: Any] else { throw .notAnObject(source: source, index: index) }

        func text(_ field: String) throws(QuestionBankError) -> String {
            guard let value = object[field] else { throw .missingField(source: source, index: index, field: field) }
            guard let string = value as? String else {
                throw .wrongType(source: source, index: index, field: field, expected: "a string")
            }
            guard !string.allSatisfy(\.isWhitespace) else { throw .emptyText(source: source, index: index, field: field) }
            return string
        }

        func integer(_ field: String) throws(QuestionBankError) -> Int? {
            guard let value = object[field] else { return nil }
            // Booleans also arrive as NSNumber; their Objective-C type code is "c".
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
                  number.doubleValue == Double(number.intValue)
            else {
                throw .wrongType(source: source, index: index, field: field, expected: "an integer")
            }
            return number.intValue
        }

        let id = try text("id")
        let questionText = try text("question")
        guard let rawAnswers = object["answers"] else { throw .missingField(source: source, index: index, field: "answers") }
        guard let answerValues = rawAnswers as? [Any] else {
            throw .wrongType(source: source, index: index, field: "answers", expected: "an array of strings")
        }
        guard answerValues.count == Question.answerCount else {
            throw .wrongAnswerCount(source: source, index: index, count: answerValues.count)
        }
        var answers: [String] = []
        for (answerIndex, value) in answerValues.enumerated() {
            let field = "answers[\(answerIndex)]"
            guard let answer = value as? String else {
                throw .wrongType(source: source, index: index, field: field, expected: "a string")
            }
            guard !answer.allSatisfy(\.isWhitespace) else { throw .emptyText(source: source, index: index, field: field) }
            answers.append(answer)
        }
        guard let correct = try integer("correct") else { throw .missingField(source: source, index: index, field: "correct") }
        guard (0..<Question.answerCount).contains(correct) else {
            throw .correctIndexOutOfRange(source: source, index: index, correct: correct)
        }
        let points = try integer("points") ?? Int(defaultPoints)
        guard points > 0 else { throw .pointsNotPositive(source: source, index: index, points: points) }
        return Question(id: id, text: questionText, answers: answers, correctIndex: correct, points: Int64(points))
    }
}
