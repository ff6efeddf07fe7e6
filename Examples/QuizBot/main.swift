import Foundation
import StadiumClient

struct Question: Decodable { let id: String; let answers: [String]; let deadline_ms: Double }
struct Answer: Encodable { let question_id: String; let answer: Int }
struct Result: Decodable { let points: Int; let total: Int }

let name = "bot-ada", url = CommandLine.arguments.dropFirst().first ?? "ws://127.0.0.1:8080/"
let client = try StadiumClient(url: url, onStatus: { print($0.state) })
let results = await client.subscribe("/result/\(name)")
Task { for try await case .message(let result) in results { let r = try result.decode(Result.self); print("\(r.points) points, total \(r.total)") } }
for try await case .message(let message) in await client.subscribe("/question") {
    let question = try message.decode(Question.self)
    if message.retained && question.deadline_ms <= Date().timeIntervalSince1970 * 1000 { continue } // an old question, replayed on subscribing
    do { try await client.publish("/answer/\(name)", Answer(question_id: question.id, answer: .random(in: 0..<question.answers.count))) } catch { print(error) }
}
