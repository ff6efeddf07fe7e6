// swift-tools-version:6.1
import PackageDescription

// The gateway a Swift engineer would otherwise build: SwiftNIO with NIOWebSocket, the same
// protocol subset (sub, pub, msg fan-out), no Kafka. Measured against stadium-gateway by
// Benchmarks/compare.py; kept out of the root package so the products never depend on NIO.
let package = Package(
    name: "NIOReference",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "nio-reference",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
