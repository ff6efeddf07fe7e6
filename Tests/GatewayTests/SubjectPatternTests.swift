import Testing
@testable import Gateway

@Suite struct SubjectPatternTests {
    private func matches(_ pattern: String, _ subject: String, user: String = "alice") throws -> Bool {
        try SubjectPattern(pattern, user: user).matches(subject)
    }

    @Test func literalPatternsMatchExactly() throws {
        #expect(try matches("/question", "/question"))
        #expect(try !matches("/question", "/questions"))
        #expect(try !matches("/question", "/question/1"))
        #expect(try !matches("/question/1", "/question"))
    }

    @Test func userIsTheTokenSubject() throws {
        #expect(try matches("/answer/{user}", "/answer/alice"))
        #expect(try !matches("/answer/{user}", "/answer/bob"))
        #expect(try !matches("/answer/{user}", "/answer/alice2"))
        #expect(try matches("/room/{user}/inbox", "/room/bob/inbox", user: "bob"))
    }

    @Test func starStaysWithinOneSegment() throws {
        #expect(try matches("/top/*", "/top/alice"))
        #expect(try !matches("/top/*", "/top/alice/x"))
        #expect(try !matches("/top/*", "/top"))
        #expect(try matches("/result/team-*", "/result/team-red"))
        #expect(try !matches("/result/team-*", "/result/red"))
        #expect(try matches("/a*b/c", "/aXYb/c"))
        #expect(try !matches("/a*b/c", "/aX/Yb/c"))
        #expect(try matches("/*/x*y*z", "/t/x1y2y3z"))
    }

    @Test func trailingDoubleStarMatchesDeeperSubjects() throws {
        #expect(try matches("/room/**", "/room/1"))
        #expect(try matches("/room/**", "/room/1/seat:7"))
        #expect(try !matches("/room/**", "/room"))
        #expect(try !matches("/room/**", "/rooms/1"))
    }

    @Test func invalidPatternsAreRefused() {
        #expect(throws: SubjectPattern.Invalid.notAbsolute("question")) { try SubjectPattern("question", user: "a") }
        #expect(throws: SubjectPattern.Invalid.misplacedDoubleStar("/a/**/b")) { try SubjectPattern("/a/**/b", user: "a") }
        #expect(throws: SubjectPattern.Invalid.forbiddenByte("/a b", UInt8(ascii: " "))) { try SubjectPattern("/a b", user: "a") }
    }
}
