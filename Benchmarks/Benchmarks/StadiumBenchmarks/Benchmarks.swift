// Entry point the benchmark plugin looks for: every suite registers its benchmarks here.
import Benchmark

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )
    registerFrameDecodeBenchmarks()
    registerFrameEncodeBenchmarks()
    registerFanoutBenchmarks()
    registerSessionBenchmarks()
    registerQuizBenchmarks()
}
