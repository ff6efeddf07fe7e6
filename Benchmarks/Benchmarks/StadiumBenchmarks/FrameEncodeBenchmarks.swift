// Building one `msg` frame from a Kafka record into a pooled buffer, and parsing a client pub.
import Benchmark
import Gateway
import StadiumProtocol
import UringIO

/// The record and subject as raw bytes, plus a writer over a small pool.
final class EncodeFixture {
    let frames = FramePool(capacity: 1_024)
    let writer: FrameWriter
    let record: UnsafeMutableRawBufferPointer
    let subject: UnsafeMutableRawBufferPointer
    var seq: Int64 = 0

    init() {
        writer = FrameWriter(frames: frames)
        record = EncodeFixture.copy(SampleMessages.record)
        subject = EncodeFixture.copy(Array("/quiz/question".utf8))
    }

    private static func copy(_ bytes: [UInt8]) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return buffer
    }

    deinit {
        record.deallocate()
        subject.deallocate()
    }

    /// What the Kafka fan-out does per record: classify the value, encode the live frame (it
    /// goes back to the pool with its owner).
    func encodeMessage() -> OwnedFrame {
        seq += 1
        let value = UnsafeRawBufferPointer(record)
        let data = MessageData(recordValue: value.bytes)
        do {
            return try writer.message(subject: UnsafeRawBufferPointer(subject).bytes, seq: seq, data: data, retained: false)
        } catch {
            fatalError("encoding failed: \(error)")
        }
    }
}

func registerFrameEncodeBenchmarks() {
    let encode = EncodeFixture()
    Benchmark(
        "Frame encode: 150-byte JSON record into a pooled msg frame, then release",
        configuration: .init(scalingFactor: .kilo)
    ) { benchmark in
        _ = encode.encodeMessage()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let frame = encode.encodeMessage()
            blackHole(frame.bytes.count)
        }
    }

    let request = SampleMessages.pubRequest
    Benchmark(
        "Request parse: 150-byte pub",
        configuration: .init(scalingFactor: .kilo)
    ) { benchmark in
        request.withUnsafeBytes { bytes in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                guard case .success(.pub(_, let subject, let data)) = ClientRequestParser.parse(bytes.bytes) else {
                    fatalError("the sample pub did not parse")
                }
                blackHole(subject)
                blackHole(data)
            }
        }
    }
}
