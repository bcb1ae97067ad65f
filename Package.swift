// swift-tools-version:6.0
import PackageDescription

// One package: the host (library modules + the `docket` executable), the plugins shipped with
// Docket (each its own dynamic library, loaded through include/docket like any third party's),
// the benchmarks and the tests. Tests never depend on plugin targets: they load the .so files
// that `swift build` / `swift test` leave beside the test binary.
let package = Package(
    name: "docket",
    products: [
        .executable(name: "docket", targets: ["DocketCLI"]),
        .executable(name: "docket-supervisor", targets: ["DocketSupervisor"]),
        .executable(name: "docket-bench", targets: ["DocketBench"]),
        .library(name: "DocketExecutorProcess", type: .dynamic, targets: ["DocketExecutorProcess"]),
        .library(name: "DocketPolicyFIFO", type: .dynamic, targets: ["DocketPolicyFIFO"]),
        .library(name: "DocketExecutorDocker", type: .dynamic, targets: ["DocketExecutorDocker"]),
        .library(name: "DocketExecutorGPU", type: .dynamic, targets: ["DocketExecutorGPU"]),
        .library(name: "DocketPolicyFairShare", type: .dynamic, targets: ["DocketPolicyFairShare"]),
        .library(name: "DocketPolicyQuota", type: .dynamic, targets: ["DocketPolicyQuota"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // The C plugin ABI: header-only module over include/ (never copied).
        .target(name: "CDocketPlugin", path: "include", publicHeadersPath: "."),

        .target(name: "DocketCore"),
        .target(name: "DocketStore", dependencies: [
            "DocketCore", .product(name: "GRDB", package: "GRDB.swift"),
            // sqlite3_bind_* for the bulk inserts of a commit (RowInserter).
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        // The scheduler's actor state is checked for exclusive access in debug builds (tests);
        // release builds skip the dynamic checks on its hot path.
        .target(name: "DocketScheduler", dependencies: ["DocketCore"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        .target(name: "DocketPluginHost", dependencies: [
            "DocketCore", "CDocketPlugin", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "DocketAPI", dependencies: [
            "DocketCore", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "DocketServer", dependencies: [
            "DocketCore", "DocketStore", "DocketScheduler", "DocketPluginHost", "DocketAPI",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "DocketCLI", dependencies: [
            "DocketCore", "DocketServer", "DocketPluginHost", "DocketAPI", "DocketSimulator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "DocketBench", dependencies: [
            "DocketCore", "DocketScheduler", "DocketPluginHost", "DocketServer", "DocketStore", "CDocketPlugin", "DocketFIFOQueue", "DocketDockerEngine", "DocketGPUPlacement", "DocketFairShareCore", "DocketQuotaCore",
            // The api benchmark's floors: a Hummingbird server answering a fixed body, and one
            // synchronous=FULL INSERT through GRDB (the store's own pool does not run FULL).
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),

        // Plugins shipped with Docket.
        .target(name: "DocketExecutorProcess", dependencies: ["CDocketPlugin"],
                path: "plugins/executor-process", exclude: ["supervisor", "README.md", "example-config.json"],
                sources: ["executor_process.c"], publicHeadersPath: "."),
        // The supervisor forks every job, so its size is on every job's path: link it
        // statically, without the Swift runtime SwiftPM would otherwise load into this C program.
        .executableTarget(name: "DocketSupervisor", path: "plugins/executor-process/supervisor",
                          cSettings: [.unsafeFlags(["-O2"])],
                          linkerSettings: [.unsafeFlags(["-static-executable"])]),
        // The FIFO ordering is its own module so the benchmark can call it directly, beside the
        // same code called through the C ABI.
        // What the policies' pure-Swift modules share: the job-key map and the settings' JSON
        // reader. No Foundation: the FIFO plugin loads none.
        .target(name: "DocketPolicySupport", path: "plugins/policy-support"),
        .target(name: "DocketFIFOQueue", dependencies: ["DocketPolicySupport"], path: "plugins/policy-fifo/Queue"),
        // The C-string helpers both Swift plugins need at the ABI boundary.
        .target(name: "DocketSwiftPluginSupport", dependencies: ["CDocketPlugin"], path: "plugins/swift-support"),
        .target(name: "DocketPolicyFIFO", dependencies: ["CDocketPlugin", "DocketFIFOQueue", "DocketSwiftPluginSupport"],
                path: "plugins/policy-fifo", exclude: ["Queue", "README.md", "example-config.json"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "nodelete"])]),

        // Fair-share ordering is its own module so the benchmark and the unit tests reach it
        // directly, beside the same code called through the C ABI.
        .target(name: "DocketFairShareCore", dependencies: ["DocketPolicySupport"], path: "plugins/policy-fairshare/Core"),
        .target(name: "DocketPolicyFairShare", dependencies: ["CDocketPlugin", "DocketFairShareCore", "DocketSwiftPluginSupport"],
                path: "plugins/policy-fairshare", exclude: ["Core", "README.md", "example-config.json"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "nodelete"])]),
        .target(name: "DocketQuotaCore", dependencies: ["DocketPolicySupport"], path: "plugins/policy-quota/Core"),
        .target(name: "DocketPolicyQuota", dependencies: ["CDocketPlugin", "DocketQuotaCore", "DocketSwiftPluginSupport"],
                path: "plugins/policy-quota", exclude: ["Core", "README.md", "example-config.json"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "nodelete"])]),
        // The simulator: the real scheduler and the real policy plugins on a virtual clock.
        .target(name: "DocketSimulator", dependencies: ["DocketCore", "DocketScheduler", "DocketPluginHost", "DocketServer",
                                                        .product(name: "Logging", package: "swift-log")]),

        // The Docker Engine API client is its own module so the benchmark's direct-API baseline
        // uses the same wire code as the plugin, and the unit tests can reach it.
        .target(name: "DocketDockerEngine", path: "plugins/executor-docker/Engine"),
        .target(name: "DocketExecutorDocker", dependencies: ["CDocketPlugin", "DocketDockerEngine", "DocketSwiftPluginSupport"],
                path: "plugins/executor-docker", exclude: ["Engine", "README.md", "example-config.json"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "nodelete"])]),

        .testTarget(name: "DocketCoreTests", dependencies: ["DocketCore"]),
        .testTarget(name: "DocketAPITests", dependencies: [
            "DocketAPI", "DocketCore", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "DocketStoreTests", dependencies: ["DocketStore", "DocketCore"]),
        .testTarget(name: "DocketSchedulerTests", dependencies: ["DocketScheduler", "DocketCore", "DocketPluginHost", "DocketServer"]),
        .testTarget(name: "DocketPluginHostTests", dependencies: ["DocketPluginHost", "DocketCore", "CDocketPlugin"],
                    exclude: ["Fixtures"]),
        // The GPU executor: placement (which free GPUs a job gets) and inventory (which GPUs the
        // machine has, from nvidia-smi, recorded outputs or a static list) are modules of their
        // own so the unit tests and the benchmark reach them directly.
        .target(name: "DocketGPUPlacement", path: "plugins/executor-gpu/Placement"),
        .target(name: "DocketGPUInventory", dependencies: ["DocketGPUPlacement"], path: "plugins/executor-gpu/Inventory"),
        .target(name: "DocketExecutorGPU", dependencies: ["CDocketPlugin", "DocketGPUInventory", "DocketGPUPlacement", "DocketSwiftPluginSupport"],
                path: "plugins/executor-gpu", exclude: ["Placement", "Inventory", "README.md", "example-config.json"],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "nodelete"])]),

        .testTarget(name: "DocketDockerEngineTests", dependencies: ["DocketDockerEngine"]),
        .testTarget(name: "DocketGPUPlacementTests", dependencies: ["DocketGPUPlacement"]),
        .testTarget(name: "DocketGPUInventoryTests", dependencies: ["DocketGPUInventory", "DocketGPUPlacement"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DocketFairShareTests", dependencies: ["DocketFairShareCore"]),
        .testTarget(name: "DocketQuotaTests", dependencies: ["DocketQuotaCore"]),
        .testTarget(name: "DocketSimulatorTests", dependencies: ["DocketSimulator", "DocketCore", "DocketScheduler"]),
        .testTarget(name: "EndToEndTests", dependencies: ["DocketCore"]),
    ]
)
