/// One question of the bank: four answers, one of them correct.
public struct Question: Sendable, Equatable {
    public static let answerCount = 4

    public let id: String
    public let text: String
    public let answers: [String]
    public let correctIndex: Int
    public let points: Int64

    public init(id: String, text: String, answers: [String], correctIndex: Int, points: Int64) {
        self.id = id
        self.text = text
        self.answers = answers
        self.correctIndex = correctIndex
        self.points = points
    }
}
