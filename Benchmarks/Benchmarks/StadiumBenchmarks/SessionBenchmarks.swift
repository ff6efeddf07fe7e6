// The gateway's receive path above the ring: masked pub frames through a ConnectionSession
// (frame reader, request parser, trust) to its publish action, with a sink that only counts.
import Benchmark
import Gateway
import UringIO
import WebSocket

/// Takes what a session asks for and drops it; counts publishes so the work cannot be skipped.
struct CountingSink: SessionSink {
    let frames: FramePool
    var publishes = 0
    var preciseNow: Int64 { 0 }
    var unixNow: Int64 { 0 }
    var isOpen: Bool { true }
    var acceptsPublishes: Bool { true }
    mutating func send(_ frame: consuming OwnedFrame, final: Bool) {}
    mutating func close(_ mode: CloseMode) { preconditionFailure("the session closed: \(mode)") }
    mutating func compressionAgreed() {}
    mutating func count(_ event: SessionCount) {}
    mutating func trustCheckMoved() {}
    mutating func respond(to head: HTTPRequestHead) -> [UInt8] { [] }
    mutating func publish(id: Int64?, subject: String, data: RawSpan, user: String) { publishes += data.byteCount > 0 ? 1 : 0 }
    mutating func subscribe(names: [String], limit: Int) -> [String: [Int32: Int64]]? { [:] }
    mutating func startDelivery(since: [String: Int64], cursors: [String: [Int32: Int64]]) {}
    mutating func unsubscribe(names: [String]) {}
}

/// An upgraded session and a receive buffer of `frameCount` masked pubs.
final class SessionFixture {
    let decode: DecodeFixture
    let rules: SessionRules
    var session: ConnectionSession
    var sink: CountingSink

    init(frameCount: Int) {
        decode = DecodeFixture(frameCount: frameCount)
        var configuration = GatewayConfiguration(listen: try! SocketAddress(parsing: "127.0.0.1:0"))
        configuration.publishRate = nil  // no budget: every pub is published
        let frames = FramePool(capacity: 64)
        rules = SessionRules(configuration, frames: frames)
        session = ConnectionSession(now: 0, rules: rules)
        sink = CountingSink(frames: frames)
        var upgrade = Array(SampleMessages.upgradeRequest.utf8)
        let used = upgrade.withUnsafeMutableBytes { Self.feed($0, to: &session, rules: rules, sink: &sink) }
        precondition(used == upgrade.count && session.phase == .webSocket, "the upgrade failed")
    }

    /// Hands bytes to the session as the ring does, as a span borrowed for the call.
    private static func feed(
        _ bytes: UnsafeMutableRawBufferPointer, to session: inout ConnectionSession, rules: SessionRules,
        sink: inout CountingSink
    ) -> Int {
        var span = bytes.mutableBytes
        return session.received(&span, now: 0, rules: rules, into: &sink)
    }

    /// Feeds the whole buffer and checks every byte was used and every pub published.
    func receiveAll(expecting frameCount: Int) {
        decode.input.copyMemory(from: UnsafeRawBufferPointer(decode.pristine))
        let before = sink.publishes
        let used = Self.feed(decode.input, to: &session, rules: rules, sink: &sink)
        precondition(used == decode.input.count && sink.publishes - before == frameCount, "receive failed")
    }
}

func registerSessionBenchmarks() {
    let single = SessionFixture(frameCount: 1)
    Benchmark(
        "Session: one masked 150-byte pub to its publish",
        configuration: .init(scalingFactor: .kilo)
    ) { benchmark in
        single.receiveAll(expecting: 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            single.receiveAll(expecting: 1)
        }
        blackHole(single.sink.publishes)
    }

    let batch = SessionFixture(frameCount: 100)
    Benchmark("Session: 100 masked 150-byte pubs in one buffer to their publishes") { benchmark in
        batch.receiveAll(expecting: 100)
        benchmark.startMeasurement()
        batch.receiveAll(expecting: 100)
        blackHole(batch.sink.publishes)
    }
}
