/// Why a value is not the quiz record it was read as.
public enum QuizRecordError: Error, Equatable, Sendable {
    /// Not exactly one valid JSON object.
    case notJSON
    /// A required field is absent or of the wrong type.
    case missingField(String)
}
