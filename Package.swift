// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "MetaJIT",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "metajit", targets: ["metajit"]),
        .library(name: "MetaIR", targets: ["MetaIR"]),
        .library(name: "GraphDSL", targets: ["GraphDSL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        .systemLibrary(name: "CLLVM", pkgConfig: "cllvm", providers: [.apt(["llvm-19-dev"])]),
        .target(name: "JIT", dependencies: ["CLLVM", "MetaIR"]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Distributed", dependencies: ["CMPI", "Runtime", "MetaIR"]),
        .target(name: "MetaIR"),
        .systemLibrary(name: "CMetaZlib", path: "Sources/CMetaZlib"),
        .target(
            name: "EpisodeData",
            dependencies: ["MetaIR", "CMetaZlib", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .target(name: "Plotting", dependencies: ["EpisodeData"]),
        .systemLibrary(name: "CFreeType", path: "Sources/CFreeType", pkgConfig: "freetype2", providers: [.apt(["libfreetype-dev"])]),
        .target(name: "Glyphs", dependencies: ["CFreeType", "EpisodeData"]),
        .target(name: "GraphDSL", dependencies: ["MetaIR"]),
        .target(name: "Autodiff", dependencies: ["GraphDSL", "MetaIR"]),
        .target(name: "Interpreter", dependencies: ["MetaIR"]),
        .target(name: "Passes", dependencies: ["MetaIR"]),
        .target(name: "Lowering", dependencies: ["Passes", "MetaIR"]),
        .target(name: "MetaLearning", dependencies: ["Autodiff", "GraphDSL", "MetaIR"]),
        .target(name: "Runtime", dependencies: ["MetaIR", "Interpreter", "Passes", "Lowering", "JIT"]),
        .target(name: "BenchKit"),
        .target(name: "Graphs", dependencies: ["MetaLearning", "Autodiff", "GraphDSL", "MetaIR"], path: "Graphs"),
        .executableTarget(
            name: "metajit",
            dependencies: [
                "MetaIR", "GraphDSL", "Autodiff", "Interpreter", "Passes", "Graphs", "JIT", "EpisodeData", "MetaLearning", "Runtime", "Distributed", "Plotting", "Glyphs", "BenchKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "TestSupport", dependencies: ["MetaIR"], path: "Tests/TestSupport"),
        .testTarget(name: "BenchKitTests", dependencies: ["BenchKit"]),
        .testTarget(name: "JITTests", dependencies: ["JIT", "TestSupport"]),
        .testTarget(name: "LoweringTests", dependencies: ["Lowering", "JIT", "Passes", "MetaIR", "Interpreter", "GraphDSL", "Runtime", "Graphs", "MetaLearning", "Autodiff", "EpisodeData"]),
        .testTarget(name: "EpisodeDataTests", dependencies: ["EpisodeData", "Glyphs", "TestSupport"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting", "EpisodeData", "TestSupport"]),
        .testTarget(
            name: "AutodiffTests",
            dependencies: ["Autodiff", "GraphDSL", "Interpreter", "MetaIR", "MetaLearning", "Passes", "Graphs", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "MetaLearning", "EpisodeData", "Glyphs", "Interpreter", "MetaIR", "Graphs", "GraphDSL", "Autodiff", "JIT", "TestSupport"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Runtime", "MetaLearning", "Interpreter", "MetaIR", "TestSupport"]),
        .testTarget(name: "MetaIRTests", dependencies: ["MetaIR", "GraphDSL", "Interpreter", "MetaLearning", "Graphs", "TestSupport"]),
    ]
)
