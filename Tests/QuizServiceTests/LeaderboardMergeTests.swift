import Quiz
import QuizService
import Testing

@Suite struct LeaderboardMergeTests {
    @Test func theBestOfEveryPartitionInRankOrder() {
        let first = [RankedEntry(name: "a", score: 300, reached: 5), RankedEntry(name: "b", score: 100, reached: 2)]
        let second = [RankedEntry(name: "c", score: 200, reached: 9), RankedEntry(name: "d", score: 100, reached: 1)]
        let merged = LeaderboardMerge.merge([first, second], count: 3)
        #expect(merged.map(\.name) == ["a", "c", "d"], "equal scores: who reached them first")
    }

    @Test func aUserInTwoTopsCountsOnceWithTheBetterEntry() {
        // A partition that moved: the old owner's last top and the new owner's.
        let stale = [RankedEntry(name: "a", score: 100, reached: 1)]
        let fresh = [RankedEntry(name: "a", score: 200, reached: 7), RankedEntry(name: "b", score: 150, reached: 3)]
        let merged = LeaderboardMerge.merge([stale, fresh], count: 10)
        #expect(merged == [RankedEntry(name: "a", score: 200, reached: 7), RankedEntry(name: "b", score: 150, reached: 3)])
    }

    @Test func tiesOnScoreAndSequenceGoByName() {
        let merged = LeaderboardMerge.merge([[RankedEntry(name: "z", score: 1, reached: 1)], [RankedEntry(name: "y", score: 1, reached: 1)]], count: 2)
        #expect(merged.map(\.name) == ["y", "z"])
    }

    @Test func aPartitionTopSurvivesItsEncoding() {
        let top = PartitionTop(partition: 4, entries: [RankedEntry(name: "zoë \"q\"", score: 1_200, reached: 1 << 50)])
        #expect(PartitionTop(value: top.encoded()) == top)
    }

    @Test func badPartitionTopsAreRefused() {
        for bad in ["", "[]", "{\"partition\":-1,\"top\":[]}", "{\"partition\":1,\"top\":[{\"name\":2}]}", "{\"top\":[]}"] {
            #expect(PartitionTop(value: Array(bad.utf8)) == nil, "\(bad)")
        }
    }
}

@Suite struct GetTopRouteTests {
    @Test func theOwnerAnswers() {
        #expect(GetTopRoute.choose(userPartition: 2, ownsUserPartition: true, forwarded: false) == .answer)
        #expect(GetTopRoute.choose(userPartition: 2, ownsUserPartition: true, forwarded: true) == .answer)
    }

    @Test func aRequestFromAGatewayGoesToTheOwner() {
        #expect(GetTopRoute.choose(userPartition: 5, ownsUserPartition: false, forwarded: false) == .forward(partition: 5))
    }

    @Test func aForwardedRequestIsNeverForwardedAgain() {
        #expect(GetTopRoute.choose(userPartition: 5, ownsUserPartition: false, forwarded: true) == .answerFromTop)
    }
}
