// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The per-event path (decode, encode, pipeline): release builds skip the run-time exclusivity checks, which cost
/// a thread-local lookup on every access to a class's stored property (measured by tributary-bench). Debug builds
/// and the tests keep them.
let hotPath: [SwiftSetting] = strict + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "tributary",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tributary", targets: ["tributary"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(name: "PGOutput", swiftSettings: hotPath),
        .target(name: "ChangeEvents", dependencies: ["PGOutput"], swiftSettings: hotPath),
        .target(
            name: "PostgresReplication",
            dependencies: ["CLibPQ", "PGOutput", .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: hotPath),
        .target(name: "KafkaSink", dependencies: ["CRdKafka"], swiftSettings: hotPath),
        .target(
            name: "Connector",
            dependencies: [
                "PGOutput", "ChangeEvents",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: hotPath
        ),
        .target(
            name: "SchemaRegistryClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "DebeziumMigration",
            dependencies: ["Connector"],
            swiftSettings: strict
        ),
        .target(
            name: "HealthServer",
            dependencies: [
                "Connector",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary",
            dependencies: [
                "PGOutput", "ChangeEvents", "PostgresReplication", "KafkaSink", "Connector", "DebeziumMigration", "HealthServer",
                "SchemaRegistryClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary-chaos",
            dependencies: [
                "TestSupport", "KafkaSink", "PGOutput", "PostgresReplication",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tributary-bench",
            dependencies: [
                "TestSupport", "PGOutput", "ChangeEvents", "KafkaSink", "PostgresReplication",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "PGOutput", "KafkaSink", "PostgresReplication", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PGOutputTests", dependencies: ["PGOutput"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(
            name: "ChangeEventsTests", dependencies: ["ChangeEvents", "PGOutput"], exclude: ["Golden"], swiftSettings: strict),
        .testTarget(
            name: "ConnectorTests", dependencies: ["Connector", "PGOutput", "TestSupport", "KafkaSink"], swiftSettings: strict),
        .testTarget(
            name: "DebeziumMigrationTests", dependencies: ["DebeziumMigration", "Connector", "ChangeEvents"],
            exclude: ["Fixtures"],
            swiftSettings: strict),
        .testTarget(
            name: "PostgresReplicationTests", dependencies: ["PostgresReplication", "PGOutput", "TestSupport"],
            swiftSettings: strict),
        .testTarget(name: "KafkaSinkTests", dependencies: ["KafkaSink"], swiftSettings: strict),
        .testTarget(
            name: "SchemaRegistryClientTests",
            dependencies: ["SchemaRegistryClient", "TestSupport", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport", "KafkaSink", "PGOutput"], swiftSettings: strict),
        .testTarget(
            name: "HealthServerTests",
            dependencies: [
                "HealthServer", "Connector", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TestSupport", "KafkaSink", "PostgresReplication", "tributary", .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Golden"],
            swiftSettings: strict
        ),
    ]
)
