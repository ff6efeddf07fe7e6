// swift-tools-version:6.1
import PackageDescription

// Swift 5 language mode: the I/O threads share state through locks and atomics that
// strict concurrency checking cannot see.
let package = Package(
    name: "Stadium",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stadium-gateway", targets: ["stadium-gateway"]),
        .executable(name: "stadium-kafka", targets: ["stadium-kafka"]),
        .executable(name: "stadium-processors", targets: ["stadium-processors"]),
        .executable(name: "stadium-load", targets: ["stadium-load"]),
        .library(name: "StadiumCore", targets: ["UringIO", "WebSocket", "StadiumProtocol", "Gateway"]),
        .library(name: "StadiumClient", targets: ["StadiumClient"]),
        // The quiz engine without Kafka, for the Benchmarks package.
        .library(name: "StadiumQuiz", targets: ["Quiz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
    ],
    targets: [
        // C shims: headers expose plain C types only, so liburing and librdkafka never meet.
        .target(
            name: "CUring",
            path: "CShims/CUring",
            linkerSettings: [.linkedLibrary("uring")]
        ),
        .systemLibrary(
            name: "CRdKafka",
            path: "CShims/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // OpenSSL's headers stay in their own module, seen by StadiumTLS only.
        .systemLibrary(
            name: "COpenSSL",
            path: "CShims/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),

        // zlib for permessage-deflate, seen by the WebSocket module only.
        .systemLibrary(
            name: "CZlib",
            path: "CShims/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // Libraries, one job each.
        .target(name: "UringIO", dependencies: ["CUring"]),
        // `Lifetimes` lets `WebSocketEvent` and the inflater's outcome be ~Escapable: they cannot outlive the bytes they lend.
        .target(
            name: "WebSocket",
            dependencies: ["CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: [.enableExperimentalFeature("Lifetimes")]
        ),
        .target(
            name: "KafkaClient",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")]
        ),
        // `Lifetimes` lets a reply be ~Escapable: a pong's payload cannot outlive the ping it answers.
        .target(
            name: "Gateway",
            dependencies: [
                "UringIO", "WebSocket", "StadiumProtocol", "KafkaClient", "StadiumTLS", "RingTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: [.enableExperimentalFeature("Lifetimes")]
        ),
        // `Lifetimes` lets the JSON scanner and `MessageData` be ~Escapable: they cannot outlive the span they read.
        .target(name: "StadiumProtocol", swiftSettings: [.enableExperimentalFeature("Lifetimes")]),
        // The client library for Swift apps and bots: its own WebSocket transport (SwiftNIO), so
        // it runs wherever NIO does, not only on io_uring.
        .target(
            name: "StadiumClient",
            dependencies: [
                "StadiumProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // TLS without I/O: handshakes over memory BIOs, then TLS 1.3 records with keys only.
        .target(name: "StadiumTLS", dependencies: ["COpenSSL"]),
        // TLS on a ring's connections (either role): stages per slot, frames sealed as they are written.
        .target(name: "RingTLS", dependencies: ["UringIO", "StadiumTLS"]),
        // What the executables share: --version, --config, --log-format, and stopping on SIGTERM/SIGINT.
        .target(
            name: "StadiumCommandLine",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The quiz's client-facing records (question, result, top, gettop): one codec for the
        // processors and the bots.
        .target(name: "QuizRecords", dependencies: ["StadiumProtocol"]),
        .target(name: "Quiz", dependencies: ["QuizRecords", "StadiumProtocol"]),
        // The processors' runtime: the engine against Kafka, alone or in a consumer group.
        .target(
            name: "QuizService",
            dependencies: [
                "Quiz", "KafkaClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "LoadGenerator",
            dependencies: [
                "UringIO", "WebSocket", "StadiumProtocol", "QuizRecords", "StadiumTLS", "RingTLS",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Thin executables: argument parsing and wiring only.
        .executableTarget(
            name: "stadium-gateway",
            dependencies: [
                "StadiumCommandLine",
                "Gateway",
                "StadiumTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "stadium-kafka",
            dependencies: [
                "StadiumCommandLine",
                "KafkaClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "stadium-processors",
            dependencies: [
                "StadiumCommandLine",
                "Quiz", "QuizService", "KafkaClient", "UringIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/questions.json")]
        ),
        // Handshakes per second and memory per connection of StadiumTLS (Benchmarks/RESULTS.md).
        .executableTarget(name: "stadium-tls-bench", dependencies: ["StadiumTLS"]),
        .executableTarget(
            name: "stadium-load",
            dependencies: [
                "StadiumCommandLine",
                "LoadGenerator",
                "StadiumTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The quiz bot of docs/CLIENTS.md, built so the example keeps compiling and run by its test.
        .executableTarget(
            name: "stadium-quiz-bot-example",
            dependencies: ["StadiumClient"],
            path: "Examples/QuizBot",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),

        .testTarget(name: "UringIOTests", dependencies: ["UringIO"]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket"]),
        .testTarget(name: "StadiumProtocolTests", dependencies: ["StadiumProtocol"]),
        .testTarget(name: "StadiumTLSTests", dependencies: ["StadiumTLS", "COpenSSL", "StadiumTestSupport"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "WebSocket", "UringIO", "StadiumTLS", "RingTLS", "StadiumTestSupport", "KafkaClient",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "KafkaClientTests", dependencies: ["KafkaClient", "StadiumTestSupport"]),
        .testTarget(name: "QuizRecordsTests", dependencies: ["QuizRecords"]),
        .testTarget(name: "QuizTests", dependencies: ["Quiz", "QuizRecords"]),
        .testTarget(name: "QuizServiceTests", dependencies: ["QuizService", "Quiz"]),
        .testTarget(name: "StadiumCommandLineTests", dependencies: ["StadiumCommandLine"]),
        .testTarget(name: "LoadGeneratorTests", dependencies: ["LoadGenerator"]),
        .testTarget(
            name: "StadiumClientTests",
            dependencies: ["StadiumClient", "StadiumTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "WebSocket", "StadiumProtocol", "KafkaClient", "StadiumTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(name: "ProcessorsEndToEndTests", dependencies: ["KafkaClient", "StadiumTestSupport"]),
        // Child-process handling shared by the end-to-end test targets.
        .target(name: "StadiumTestSupport", path: "Tests/StadiumTestSupport"),
    ],
    swiftLanguageModes: [.v5]
)
