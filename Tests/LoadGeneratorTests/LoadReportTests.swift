import Foundation
import Histogram
import LoadGenerator
import Testing

@Suite struct LoadReportTests {
    private func sampleReport() -> LoadReport {
        let recorder = LatencyRecorder()
        for microseconds in [500, 1_000, 2_000, 40_000] as [Int64] {
            recorder.record(.delivery, microseconds: microseconds)
        }
        var loss = LossSummary()
        var tally = DeliveryTally()
        tally.record(0)
        loss.add(tally, published: 3)
        return LoadReport(
            mode: "fanout", url: "ws://127.0.0.1:8080/", connections: 1, rate: 100, rings: 1, boundSources: true,
            durationSeconds: 12.3456, rampSeconds: 0.5, counters: ["probes_received": 1],
            latencies: LatencyRecorder.merged([recorder]), loss: loss, rounds: [sampleRound()],
            timeline: [ProgressSample(seconds: 5.0004, open: 1, subscribed: 1, received: 0)])
    }

    private func sampleRound() -> RoundTally {
        var round = RoundTally(questionIDJSON: Array(#""q017-r42""#.utf8))
        round.deliveries = 2_000
        round.answers = 1_990
        round.acks = 1_990
        round.results = 1_990
        return round
    }

    @Test func writesJSONThatReadsBack() throws {
        let report = sampleReport()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("load-report-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try report.write(to: path)
        #expect(try LoadReport.read(from: path) == report)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        #expect(object?["connects_per_second"] as? Double == 2)
        #expect((object?["latencies"] as? [String: Any])?.keys.sorted() == ["delivery"])
        let round = (object?["rounds"] as? [[String: Any]])?.first
        #expect(round?["question_id"] as? String == #""q017-r42""#)
        #expect(round?["deliveries"] as? Int == 2_000)
        #expect((object?["timeline"] as? [[String: Any]])?.first?["seconds"] as? Double == 5)
    }

    @Test func summarisesPercentilesInMilliseconds() {
        let delivery = sampleReport().latencies["delivery"]
        #expect(delivery?.count == 4)
        #expect(delivery?.p50Ms == 1)
        #expect((39.9...40.1).contains(delivery?.maxMs ?? 0))
    }

    @Test func theTableNamesLossAndEveryMeasuredLatency() {
        let table = sampleReport().table
        #expect(table.contains("delivery"))
        #expect(table.contains("loss: 2 of 3 expected deliveries missing"))
        #expect(table.contains("round \"q017-r42\": question reached 2000 bot(s)"))
    }

    @Test func theVerdictAndThePlayersAreInTheJSONAndTheTable() throws {
        var report = sampleReport()
        var tally = PlayerTally()
        tally.question(number: 1, contiguous: true)
        tally.question(number: 1, contiguous: true)
        var players = PlayerSummary()
        players.add(tally, stoppedEarly: false)
        report.players = players
        report.verdict = RunVerdict(
            counters: report.counters, neverConnected: 0, loss: report.loss, players: players, tolerances: Tolerances())
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("load-report-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try report.write(to: path)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let verdict = object?["verdict"] as? [String: Any]
        #expect(verdict?["passed"] as? Bool == false)
        #expect(verdict?["lost"] as? Int == 2)
        #expect(verdict?["duplicates"] as? Int == 1)
        #expect((object?["players"] as? [String: Any])?["question_duplicates"] as? Int == 1)
        #expect(report.table.contains("verdict: FAILED: 2 lost, 0 tolerated; 1 duplicate(s), 0 tolerated"))
    }

    @Test func aRoundFromAReportOlderThanDuplicateCountingReads() throws {
        let json = #"{"question_id":"\"q1\"","deliveries":3,"slowest_delivery_ms":9,"answers":3,"acks":3,"results":3,"correct":1}"#
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let round = try decoder.decode(RoundTally.self, from: Data(json.utf8))
        #expect(round.deliveries == 3 && round.duplicates == 0)
    }
}
