// The user-space half of the gateway's fan-out, as GatewayRing.loopWoken runs it for one
// delivered message: walk the subject's subscribers and queue the shared frame on each
// connection; the io_uring send is left out, its completions are `dropAll` here.
import Benchmark
import Gateway
import UringIO

/// One ring's tables with `subscribers` connections all subscribed to one subject.
final class FanoutFixture {
    let subscribers: Int
    let subject = SubjectID(rawValue: 0)
    let connections: ConnectionSlots
    var table: SubscriptionTable
    let encode = EncodeFixture()
    /// The gateway's defaults (GatewayConfiguration.sendQueueBytes, sendQueueFrames).
    let byteLimit = 1 << 20
    var version: UInt64 = 0

    init(subscribers: Int) {
        self.subscribers = subscribers
        connections = ConnectionSlots(count: subscribers, queueDepth: 16)
        table = SubscriptionTable(slots: subscribers)
        for slot in 0..<subscribers {
            table.add(UInt32(slot), to: subject)
        }
    }

    deinit {
        connections.deallocate()
    }

    /// Encodes one message and queues it on every subscriber; returns how many took it.
    func deliverOne() -> Int {
        let frame = encode.encodeMessage()
        let handle = frame.handle
        version += 1
        let connections = connections
        let frames = encode.frames
        let byteLimit = byteLimit
        var queued = 0
        table.forEachSubscriber(of: subject, version: version) { slot in
            guard connections.enqueue(Int(slot), frame: handle, frames: frames, byteLimit: byteLimit) else { return false }
            queued += 1
            return true
        }
        // The send queues hold their own references; the encoder's goes with `frame`.
        _ = consume frame
        return queued
    }

    /// Completes every queued send, releasing the frame references.
    func drainAll() {
        for slot in 0..<subscribers {
            connections.dropAll(slot, frames: encode.frames)
        }
    }
}

func registerFanoutBenchmarks() {
    let fanout = FanoutFixture(subscribers: 10_000)

    Benchmark("Fan-out: one msg to 10,000 subscribers (encode, enqueue, drain)") { benchmark in
        fanout.drainAll()
        benchmark.startMeasurement()
        let queued = fanout.deliverOne()
        fanout.drainAll()
        benchmark.stopMeasurement()
        precondition(queued == fanout.subscribers, "only \(queued) of \(fanout.subscribers) queued")
    }

    Benchmark("Fan-out: one msg to 10,000 subscribers (encode, enqueue only)") { benchmark in
        fanout.drainAll()
        benchmark.startMeasurement()
        let queued = fanout.deliverOne()
        benchmark.stopMeasurement()
        fanout.drainAll()
        precondition(queued == fanout.subscribers, "only \(queued) of \(fanout.subscribers) queued")
    }
}
