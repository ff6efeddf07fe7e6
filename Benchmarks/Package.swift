// swift-tools-version:6.1
import PackageDescription

// Hot-path benchmarks of the root package, kept in their own package so the benchmark
// dependency never reaches the products. Run with `swift package benchmark`.
let package = Package(
    name: "StadiumBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Stadium", path: ".."),
        // Only the malloc interposer trait: malloc counts without jemalloc.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.0.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "StadiumBenchmarks",
            dependencies: [
                .product(name: "StadiumCore", package: "Stadium"),
                .product(name: "StadiumQuiz", package: "Stadium"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/StadiumBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
