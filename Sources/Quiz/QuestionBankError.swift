/// Why a question bank was rejected; `source` is the file name given to the loader and
/// `index` the zero-based position of the question in the file's array.
public enum QuestionBankError: Error, Equatable, CustomStringConvertible {
    case notJSON(source: String, detail: String)
    case notAnArray(source: String)
    case empty(source: String)
    case notAnObject(source: String, index: Int)
    case missingField(source: String, index: Int, field: String)
    case wrongType(source: String, index: Int, field: String, expected: String)
    case emptyText(source: String, index: Int, field: String)
    case wrongAnswerCount(source: String, index: Int, count: Int)
    case correctIndexOutOfRange(source: String, index: Int, correct: Int)
    case pointsNotPositive(source: String, index: Int, points: Int)
    case duplicateID(source: String, index: Int, id: String, firstIndex: Int)

    public var description: String {
        switch self {
        case .notJSON(let source, let detail):
            return "\(source): not valid JSON (\(detail))"
        case .notAnArray(let source):
            return "\(source): expected a JSON array of questions at the top level"
        case .empty(let source):
            return "\(source): the question bank holds no questions"
        case .notAnObject(let source, let index):
            return "\(source): question \(index) is not a JSON object"
        case .missingField(let source, let index, let field):
            return "\(source): question \(index) has no \"\(field)\" field"
        case .wrongType(let source, let index, let field, let expected):
            return "\(source): question \(index) field \"\(field)\" must be \(expected)"
        case .emptyText(let source, let index, let field):
            return "\(source): question \(index) field \"\(field)\" is empty"
        case .wrongAnswerCount(let source, let index, let count):
            return "\(source): question \(index) has \(count) answers, expected \(Question.answerCount)"
        case .correctIndexOutOfRange(let source, let index, let correct):
            return "\(source): question \(index) has \"correct\": \(correct), expected 0...\(Question.answerCount - 1)"
        case .pointsNotPositive(let source, let index, let points):
            return "\(source): question \(index) has \"points\": \(points), expected a positive number"
        case .duplicateID(let source, let index, let id, let firstIndex):
            return "\(source): question \(index) repeats id \"\(id)\" first used by question \(firstIndex)"
        }
    }
}
