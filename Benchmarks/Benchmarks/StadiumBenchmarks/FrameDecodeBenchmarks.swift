// WebSocketReader on masked client frames: the reader unmasks in place, so each run first
// copies the pristine masked bytes back into the receive buffer (a memcpy, no allocation).
import Benchmark
import WebSocket

/// A receive buffer holding `frameCount` copies of the masked pub frame, and the pristine copy.
final class DecodeFixture {
    let pristine: UnsafeMutableRawBufferPointer
    let input: UnsafeMutableRawBufferPointer
    var reader = WebSocketReader(role: .server, maxMessageBytes: 65_536)
    var messages = 0

    init(frameCount: Int) {
        let frame = SampleMessages.maskedPubFrame
        pristine = .allocate(byteCount: frame.count * frameCount, alignment: 16)
        input = .allocate(byteCount: frame.count * frameCount, alignment: 16)
        frame.withUnsafeBytes { bytes in
            for index in 0..<frameCount {
                UnsafeMutableRawBufferPointer(rebasing: pristine[(index * frame.count)...]).copyMemory(from: bytes)
            }
        }
    }

    deinit {
        pristine.deallocate()
        input.deallocate()
    }

    /// Decodes the whole buffer and checks every byte was used, so a broken frame cannot pass.
    func decodeAll() {
        input.copyMemory(from: UnsafeRawBufferPointer(pristine))
        let outcome = reader.consume(input) { event in
            if case .text(let payload) = event { self.messages += payload.isEmpty ? 0 : 1 }
        }
        precondition(outcome == .consumed(input.count), "decode failed: \(outcome)")
    }
}

func registerFrameDecodeBenchmarks() {
    let single = DecodeFixture(frameCount: 1)
    Benchmark(
        "Frame decode: one masked 150-byte pub",
        configuration: .init(scalingFactor: .kilo)
    ) { benchmark in
        single.decodeAll()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            single.decodeAll()
        }
        blackHole(single.messages)
    }

    let batch = DecodeFixture(frameCount: 100)
    Benchmark("Frame decode: 100 masked 150-byte pubs in one buffer") { benchmark in
        batch.decodeAll()
        benchmark.startMeasurement()
        batch.decodeAll()
        blackHole(batch.messages)
    }
}
