// The Swift quiz bot of docs/CLIENTS.md is the example program the package builds, so the
// documented code compiles; StadiumClientKafkaTests runs it against the whole stack.
import Foundation
import Testing

@Suite("Docs example")
struct DocsExampleTests {
    private static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The swift code block under `heading` in docs/CLIENTS.md.
    static func documentedBot(heading: String = "### A quiz bot in Swift") throws -> String {
        let text = try String(contentsOf: repository.appendingPathComponent("docs/CLIENTS.md"), encoding: .utf8)
        let section = try #require(text.range(of: heading).map { text[$0.upperBound...] }, "no \(heading) in docs/CLIENTS.md")
        let start = try #require(section.range(of: "```swift\n"), "no swift block under \(heading)")
        let end = try #require(section[start.upperBound...].range(of: "```"))
        return String(section[start.upperBound..<end.lowerBound])
    }

    @Test("the quiz bot in docs/CLIENTS.md is Examples/QuizBot/main.swift, as built")
    func docsShowTheBuiltExample() throws {
        let program = try String(contentsOf: Self.repository.appendingPathComponent("Examples/QuizBot/main.swift"), encoding: .utf8)
        #expect(try Self.documentedBot() == program)
    }

    @Test("the quiz bot's code is about ten lines")
    func aboutTenLines() throws {
        let code = try Self.documentedBot().split(separator: "\n").filter { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("import ") && !trimmed.hasPrefix("struct ")
        }
        #expect(code.count <= 10, "\(code.count) lines besides imports and record types")
    }
}
