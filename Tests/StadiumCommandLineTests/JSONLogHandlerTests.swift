// --log-format json: what a log shipper parses.
import Foundation
import Logging
import Testing

@testable import StadiumCommandLine

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test("strings are escaped as JSON: quotes, backslashes, newlines and other control characters")
    func escaping() throws {
        let quoted = JSONLogHandler.quoted("a \"b\" \\ c\nd\u{1}é")
        #expect(quoted == #""a \"b\" \\ c\nd\u0001é""#)
        let decoded = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed) as? String
        #expect(decoded == "a \"b\" \\ c\nd\u{1}é")
    }

    @Test("metadata of every shape becomes JSON")
    func metadata() throws {
        let value: Logger.Metadata.Value = .dictionary([
            "list": .array([.string("x"), .stringConvertible(3)]), "name": .string("hall \"3\""),
        ])
        let object = try JSONSerialization.jsonObject(with: Data(JSONLogHandler.json(value).utf8)) as? [String: Any]
        #expect(object?["name"] as? String == "hall \"3\"")
        #expect(object?["list"] as? [String] == ["x", "3"])
    }

    @Test("the time is UTC with milliseconds, as ISO 8601")
    func timestamp() throws {
        let time = JSONLogHandler.timestamp()
        let pattern = try Regex(#"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#)
        #expect(time.wholeMatch(of: pattern) != nil, "\(time)")
    }
}
