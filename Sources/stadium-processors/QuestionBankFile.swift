import Foundation
import Logging
import QuizService
import Quiz

/// Finds and loads the question bank: `--questions`, else the copy SwiftPM places next to the
/// binary, else the source tree's copy when run from the repository root.
enum QuestionBankFile {
    static let resourceBundle = "Stadium_stadium-processors.resources"
    static let sourceTreePath = "Sources/stadium-processors/Resources/questions.json"

    static func load(path: String?, logger: Logger) throws -> QuestionBank {
        let candidates = path.map { [$0] } ?? defaultCandidates()
        guard let found = candidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }),
              let data = FileManager.default.contents(atPath: found)
        else { throw ProcessorError.noQuestionBank(tried: candidates) }
        let bank = try QuestionBank(json: Array(data), source: found)
        logger.info("question bank loaded", metadata: ["file": "\(found)", "questions": "\(bank.questions.count)"])
        return bank
    }

    private static func defaultCandidates() -> [String] {
        let binaryDirectory = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .deletingLastPathComponent()
        return [
            binaryDirectory.appendingPathComponent(resourceBundle).appendingPathComponent("questions.json").path,
            sourceTreePath,
        ]
    }
}
