import Foundation
import Synchronization
import Testing
import UringIO

#if canImport(Glibc)
import Glibc
#endif

/// Echoes every received byte back and records which slots opened and closed.
private final class EchoHandler: RingLoopHandler, @unchecked Sendable {
    private let state = Mutex<(open: Set<UInt32>, everOpened: Set<UInt32>, closed: Int, received: Int)>(([], [], 0, 0))
    private let changed = DispatchSemaphore(value: 0)

    func connectionOpened(_ loop: RingLoop, slot: UInt32) {
        state.withLock { _ = $0.open.insert(slot); _ = $0.everOpened.insert(slot) }
        changed.signal()
    }

    func connectionReceived(_ loop: RingLoop, slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        state.withLock { $0.received += bytes.count }
        guard let frame = try? loop.frames.acquire(bytes: bytes.count) else { return bytes.count }
        loop.frames.writableBytes(frame).copyMemory(from: UnsafeRawBufferPointer(bytes))
        loop.frames.setLength(frame, bytes.count)
        _ = loop.send(slot: slot, frame: frame)
        loop.frames.release(frame)
        return bytes.count
    }

    func connectionClosed(_ loop: RingLoop, slot: UInt32) {
        state.withLock { _ = $0.open.remove(slot); $0.closed += 1 }
        changed.signal()
    }

    func loopWoken(_ loop: RingLoop) {}
    func loopTicked(_ loop: RingLoop) {}
    func loopStopping(_ loop: RingLoop) {}

    var open: Set<UInt32> { state.withLock { $0.open } }
    var everOpened: Set<UInt32> { state.withLock { $0.everOpened } }
    var closed: Int { state.withLock { $0.closed } }
    var received: Int { state.withLock { $0.received } }

    /// Waits (at most 10 s) until `condition` holds.
    func wait(until condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            if ContinuousClock.now >= deadline { return false }
            _ = changed.wait(timeout: .now() + .milliseconds(100))
        }
        return true
    }
}

@Suite struct RingLoopTests {
    /// A started loop that echoes, on a listener of its own; the caller stops and joins it.
    private func startEchoLoop(_ configuration: RingConfiguration, frames: Int) throws -> (RingLoop, Listener, EchoHandler) {
        let listener = try Listener(address: SocketAddress(host: "127.0.0.1", port: 0))
        let loop = try RingLoop(index: 0, configuration: configuration, frames: FramePool(capacity: frames), listener: listener)
        let handler = EchoHandler()
        loop.handler = handler
        try loop.start()
        return (loop, listener, handler)
    }

    /// `count` bytes from the socket (fewer if it closes or 10 s pass).
    private func read(_ descriptor: Int32, count: Int) -> String {
        var buffer = [UInt8](repeating: 0, count: count)
        var received = 0
        while received < count {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + received, count - received) }
            if got <= 0 { break }
            received += got
        }
        return String(decoding: buffer[..<received], as: UTF8.self)
    }

    @Test("one thread runs several rings: connections land in every ring's table, are served and their slots reused")
    func severalRingsOnOneThread() throws {
        // 300 slots, 100 per ring: three rings on the loop's one thread.
        let configuration = RingConfiguration(slots: 300, slotsPerRing: 100)
        #expect(configuration.rings == 3)
        let (loop, listener, handler) = try startEchoLoop(configuration, frames: 256)
        defer {
            loop.stop()
            loop.join()
        }
        for round in 0..<2 {
            // A ring keeps 4 slots back from accepting (an accept into a full table drops the
            // peer), so 250 connections need all three rings.
            var clients: [Int32] = []
            for _ in 0..<250 { clients.append(try BlockingClient.connect(listener.address.port)) }
            #expect(handler.wait { handler.open.count == 250 })
            // All write before any reads: each ring has far more than the kernel's batch of
            // deferred completions (20) to hand over at once.
            for (number, client) in clients.enumerated() { BlockingClient.send(client, "round \(round) client \(number)") }
            for (number, client) in clients.enumerated() {
                #expect(read(client, count: "round \(round) client \(number)".utf8.count) == "round \(round) client \(number)")
            }
            for client in clients { close(client) }
            #expect(handler.wait { handler.open.isEmpty })
        }
        #expect(handler.closed == 500)
        // Every ring's table was used (ring r holds slots 100r..<100r+100).
        #expect(Set(handler.everOpened.map { $0 / 100 }) == [0, 1, 2])
        #expect(handler.everOpened.allSatisfy { $0 < 300 })
    }

    @Test("thousands of connections with bytes waiting and 32 receive buffers: receives short of buffers are re-armed and every byte arrives")
    func receivesShortOfBuffers() throws {
        // 5,000 registered slots and 4,500 client sockets.
        guard raiseDescriptorLimit() >= 10_000 else {
            Issue.record("needs an open-file limit of 10,000 (ulimit -n)")
            return
        }
        // Far more connections with bytes waiting than buffers, and a small submission queue, so
        // receives end with ENOBUFS and are re-armed while the buffers come back.
        var configuration = RingConfiguration(slots: 5_000, slotsPerRing: 5_000)
        configuration.receiveBufferCount = 32
        configuration.submissionEntries = 64
        let (loop, listener, handler) = try startEchoLoop(configuration, frames: 8_192)
        defer {
            loop.stop()
            loop.join()
        }
        let count = 4_500
        var clients: [Int32] = []
        for _ in 0..<count { clients.append(try BlockingClient.connect(listener.address.port)) }
        #expect(handler.wait { handler.open.count == count })
        let message = String(repeating: "x", count: 200)
        for client in clients { BlockingClient.send(client, message) }
        #expect(handler.wait { handler.received == count * message.utf8.count })
        #expect(loop.counters.receiveBufferShortages.load(ordering: .relaxed) > 0)
        #expect(read(clients[count - 1], count: message.utf8.count) == message)
        for client in clients { close(client) }
        #expect(handler.wait { handler.open.isEmpty })
    }
}
