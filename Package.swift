// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "absLRP-Swift",
    products: [
        .library(name: "AbsLRPCore", targets: ["AbsLRPCore"]),
        .library(name: "GAE", targets: ["GAE"]),
        .executable(name: "abslrp", targets: ["absLRPTool"]),
        .executable(name: "abslrp-fuzz", targets: ["AbsLRPFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        .target(
            name: "CImageIO",
            linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg")]
        ),
        .target(
            name: "CVectorMath",
            linkerSettings: [.linkedLibrary("mvec"), .linkedLibrary("m")]
        ),
        .systemLibrary(
            name: "CRsvg",
            pkgConfig: "librsvg-2.0",
            providers: [.apt(["librsvg2-dev", "libcairo2-dev"])]
        ),
        .target(
            name: "AbsLRPCore",
            dependencies: ["CBLAS", "CDNNL", "CImageIO", "CVectorMath", "CRsvg"],
            resources: [.copy("Resources/timm_models.json"), .copy("Resources/Weights"), .copy("Resources/Samples")]
        ),
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "GAE",
            dependencies: ["AbsLRPCore", "CZlib"]
        ),
        .target(
            name: "AbsLRPCommands",
            dependencies: [
                "AbsLRPCore", "GAE",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "absLRPTool",
            dependencies: ["AbsLRPCommands"]
        ),
        // The parsers as fuzzing entry points, and libFuzzer's driver over
        // them (scripts/fuzz.sh builds it with -sanitize=fuzzer -DFUZZING).
        .target(
            name: "FuzzTargets",
            dependencies: ["AbsLRPCore", "GAE"]
        ),
        .executableTarget(
            name: "AbsLRPFuzz",
            dependencies: ["FuzzTargets"],
            path: "Sources/FuzzMain"
        ),
        .target(
            name: "TestFixtures",
            path: "Tests/TestFixtures"
        ),
        .target(
            name: "FigureTesting",
            dependencies: ["AbsLRPCore"],
            path: "Tests/FigureTesting"
        ),
        .testTarget(
            name: "AbsLRPCoreTests",
            dependencies: ["AbsLRPCore", "FigureTesting", "TestFixtures"]
        ),
        .testTarget(
            name: "DeploymentTests",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .testTarget(
            name: "AbsLRPCommandsTests",
            dependencies: ["AbsLRPCommands", "AbsLRPCore", "GAE", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            exclude: ["Snapshots"]
        ),
        .testTarget(
            name: "GAETests",
            dependencies: ["GAE", "AbsLRPCore", "FigureTesting", "TestFixtures"]
        ),
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["FuzzTargets"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
