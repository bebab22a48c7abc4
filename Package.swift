// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// `GIGS_RELAY_FUZZ=1` (set by `Tests/Fuzz/run.sh`): the library and the fuzz target are built for
/// libFuzzer with AddressSanitizer and their dependencies as usual, so the fuzz build reuses the
/// packages the normal build already compiled instead of building every one again instrumented.
let fuzzing = Context.environment["GIGS_RELAY_FUZZ"] == "1"
let fuzzSettings: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer,address"]), .define("FUZZING")] : []
let fuzzLinkerSettings: [LinkerSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer,address"])] : []

/// `GIGS_RELAY_TSAN=1` (set by `Tests/Sanitizers/run-thread.sh`): gigs-relay's own modules (the library,
/// the binary, the test support and the tests) are built for ThreadSanitizer in the normal `.build`
/// folder, against the dependencies the normal build compiled. Their locks are pthread mutexes the
/// sanitizer intercepts, and the Swift concurrency runtime reports its task hand-offs to it.
let threadSanitizing = Context.environment["GIGS_RELAY_TSAN"] == "1"
let ownSettings: [SwiftSetting] =
    swiftSettings + fuzzSettings + (threadSanitizing ? [.unsafeFlags(["-sanitize=thread"])] : [])
let ownLinkerSettings: [LinkerSetting] =
    fuzzLinkerSettings + (threadSanitizing ? [.unsafeFlags(["-sanitize=thread"])] : [])

let package = Package(
    name: "gigs-relay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gigs-relay", targets: ["gigs-relay"]),
        .library(name: "GigsRelay", targets: ["GigsRelay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        // Traces over OTLP/HTTP only: the gRPC exporter would add grpc-swift to every build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        // The attribute names only, without their typed span extensions (less to compile).
        .package(
            url: "https://github.com/swift-otel/swift-otel-semantic-conventions.git", from: "1.44.0", traits: []),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CRelayMalloc"),
        .systemLibrary(name: "CRelayPosix"),
        .systemLibrary(
            name: "CRelayOpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CRelaySQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CRelaySystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "GigsRelay",
            dependencies: [
                "CRelayMalloc",
                "CRelayOpenSSL",
                "CRelayPosix",
                "CRelaySQLite",
                "CRelaySystemd",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "OTelSemanticConventions", package: "swift-otel-semantic-conventions"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: ownSettings
        ),
        .executableTarget(
            name: "gigs-relay",
            dependencies: [
                "GigsRelay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: ownSettings,
            linkerSettings: ownLinkerSettings
        ),
        .executableTarget(
            name: "gigs-relay-fuzz",
            dependencies: [
                "GigsRelay",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: ownSettings + [.unsafeFlags(["-parse-as-library"])],
            linkerSettings: ownLinkerSettings
        ),
        .target(
            name: "GigsRelayTesting",
            dependencies: [
                "GigsRelay",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: ownSettings,
            linkerSettings: ownLinkerSettings
        ),
        .testTarget(
            name: "GigsRelayTests",
            dependencies: [
                "GigsRelay",
                "GigsRelayTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: ownSettings,
            linkerSettings: ownLinkerSettings
        ),
    ]
)
