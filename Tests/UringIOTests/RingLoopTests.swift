import Foundation
import Synchronization
import Testing
import UringIO

#if canImport(Glibc)
import Glibc
#endif

/// Echoes every received byte back and records which slots opened and closed.
private final class EchoHandler: RingLoopHandler, @unchecked Sendable {
    private let state = Mutex<(open: Set<UInt32>, everOpened: Set<UInt32>, closed: Int)>(([], [], 0))
    private let changed = DispatchSemaphore(value: 0)

    func connectionOpened(_ loop: RingLoop, slot: UInt32) {
        state.withLock { _ = $0.open.insert(slot); _ = $0.everOpened.insert(slot) }
        changed.signal()
    }

    func connectionReceived(_ loop: RingLoop, slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
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
    /// A blocking client socket connected to `port` (reads give up after 10 s instead of hanging a test).
    private func connect(_ port: UInt16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        return descriptor
    }

    private func echo(_ descriptor: Int32, _ text: String) -> String {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        var buffer = [UInt8](repeating: 0, count: bytes.count)
        var received = 0
        while received < bytes.count {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + received, bytes.count - received) }
            if count <= 0 { break }
            received += count
        }
        return String(decoding: buffer[..<received], as: UTF8.self)
    }

    @Test("one thread runs several rings: connections land in every ring's table, are served and their slots reused")
    func severalRingsOnOneThread() throws {
        let listener = try Listener(address: SocketAddress(host: "127.0.0.1", port: 0))
        // 24 slots, 8 per ring: three rings on the loop's one thread.
        let configuration = RingConfiguration(slots: 24, slotsPerRing: 8)
        #expect(configuration.rings == 3)
        let loop = try RingLoop(index: 0, configuration: configuration, frames: FramePool(capacity: 256), listener: listener)
        let handler = EchoHandler()
        loop.handler = handler
        try loop.start()
        defer {
            loop.stop()
            loop.join()
        }
        for round in 0..<2 {
            // A ring keeps 4 slots back from accepting (an accept into a full table drops the
            // peer), so 10 connections need all three rings.
            var clients: [Int32] = []
            for _ in 0..<10 { clients.append(try connect(listener.address.port)) }
            #expect(handler.wait { handler.open.count == 10 })
            for (number, client) in clients.enumerated() {
                #expect(echo(client, "round \(round) client \(number)") == "round \(round) client \(number)")
            }
            for client in clients { close(client) }
            #expect(handler.wait { handler.open.isEmpty })
        }
        #expect(handler.closed == 20)
        // Every ring's table was used (ring r holds slots 8r..<8r+8).
        #expect(Set(handler.everOpened.map { $0 / 8 }) == [0, 1, 2])
    }
}
