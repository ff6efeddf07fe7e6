// Assertions shared by the tests: the gateway still serves others after bad input, and
// /metrics counts that input under the right kind.
import Foundation
import Testing

enum MetricsText {
    /// The value of the sample named exactly `series` (name plus labels), e.g.
    /// `stadium_errors_total{kind="bad_request"}`.
    static func value(of series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard line.hasPrefix(series + " ") else { continue }
            return Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

/// Polls until `condition` holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    repeat {
        if try condition() { return true }
    } while ContinuousClock.now < deadline
    return false
}

extension GatewayProcess {
    func metrics() throws -> String {
        let response = try HTTPTestClient.request(port: port, path: "/metrics")
        #expect(response.status == 200, "GET /metrics: \(response)")
        return response.body
    }

    func errorCount(kind: String) throws -> Double? {
        MetricsText.value(of: "stadium_errors_total{kind=\"\(kind)\"}", in: try metrics())
    }

    /// /metrics shows exactly one error of `kind` (this test's gateway saw one bad input).
    func expectOneErrorCounted(kind: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var last: Double?
        let counted = try eventually {
            last = try errorCount(kind: kind)
            return (last ?? 0) > 0
        }
        #expect(counted, "stadium_errors_total{kind=\"\(kind)\"} stayed at \(last.map { "\($0)" } ?? "absent")", sourceLocation: sourceLocation)
        #expect(last == 1, "stadium_errors_total{kind=\"\(kind)\"} is \(last.map { "\($0)" } ?? "absent"), expected 1", sourceLocation: sourceLocation)
    }

    /// A fresh client can still subscribe, publish and receive its own message.
    func expectStillServing(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let client = try WebSocketTestClient(port: port)
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/health/probe"]}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 1), sourceLocation: sourceLocation)
        try client.send(text: #"{"op":"pub","id":2,"subject":"/health/probe","data":"still here"}"#)
        var received: [ReceivedMessage.Kind] = []
        while received.count < 2 {
            received.append(try client.receiveMessage().kind)
        }
        #expect(received.contains(.ok(id: 2)), "no ok for the probe pub: \(received)", sourceLocation: sourceLocation)
        let delivered = received.contains { kind in
            if case .msg(subject: "/health/probe", seq: _, data: #""still here""#, retained: false) = kind { return true }
            return false
        }
        #expect(delivered, "probe message not delivered: \(received)", sourceLocation: sourceLocation)
    }
}
