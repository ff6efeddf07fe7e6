import Histogram
import LoadGenerator
import Testing

@Suite struct FanoutKeysTests {
    @Test func oneKeyKeepsEveryoneOnTheSubject() {
        let settings = FanoutSettings(subject: "/fanout", messages: 2, intervalMilliseconds: 1000)
        #expect((0..<3).map(settings.subject(forConnection:)) == ["/fanout", "/fanout", "/fanout"])
    }

    @Test func keysSpreadConnectionsRoundRobinWithTheProducersKeyNames() {
        let settings = FanoutSettings(subject: "/sustained", messages: 2, intervalMilliseconds: 1000, keys: 3, externalPublisher: true)
        #expect((0..<5).map(settings.subject(forConnection:))
            == ["/sustained/k0", "/sustained/k1", "/sustained/k2", "/sustained/k0", "/sustained/k1"])
        #expect(FanoutSettings.keyName(2) == "k2")
    }

    @Test func deliveriesAreReportedPerWindowOfProbesAsWellAsInTotal() {
        let first = LatencyRecorder(), second = LatencyRecorder()
        first.recordDelivery(ofProbe: 0, milliseconds: 5)
        first.recordDelivery(ofProbe: 9, milliseconds: 7)
        second.recordDelivery(ofProbe: 10, milliseconds: 300)
        let report = LoadReport(
            mode: "fanout", url: "ws://127.0.0.1:8080/", connections: 2, rate: 0, rings: 2, boundSources: false,
            durationSeconds: 1, rampSeconds: nil, counters: [:], latencies: LatencyRecorder.merged([first, second]), loss: nil,
            deliveryWindows: LatencyRecorder.mergedDeliveryWindows([first, second]))
        #expect(report.latencies["delivery"]?.count == 3)
        let windows = report.deliveryWindows ?? []
        #expect(windows.map(\.firstProbe) == [0, LatencyRecorder.probesPerWindow])
        #expect(windows.map(\.latency.count) == [2, 1])
        #expect(windows.last?.latency.p50Ms == 300)
    }
}
