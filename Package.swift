// swift-tools-version:6.0
// The package graph is the architecture diagram (shared/DESIGN.md): dependencies point one way,
// the core (XenABI, GuestMemory, Hypervisor) never sees an engine or the toolstack.
import PackageDescription

let package = Package(
    name: "Petrel",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "petrel", targets: ["petrel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        .target(name: "CKVM"),
        .target(name: "CHostOS"),
        .target(name: "XenABI"),
        .target(name: "HostOS", dependencies: [
            "CHostOS",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "GuestMemory", dependencies: ["HostOS", "XenABI", .product(name: "Atomics", package: "swift-atomics")]),
        .target(name: "Hypervisor", dependencies: [
            "XenABI", "GuestMemory", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "XenStore", dependencies: [
            "XenABI",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "EngineKVM", dependencies: ["Hypervisor", "GuestMemory", "HostOS", "XenABI", "CKVM"]),
        .target(name: "Toolstack", dependencies: [
            "Hypervisor", "EngineKVM", "GuestMemory", "HostOS", "XenABI", "XenStore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "petrel", dependencies: [
            "Toolstack", "HostOS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Test support: Xen's own headers compiled by C, so layout tests compare against them.
        .target(name: "CXenLayout", path: "Tests/CXenLayout"),
        .testTarget(name: "XenABITests", dependencies: ["XenABI", "CXenLayout"]),
        .testTarget(name: "HostOSTests", dependencies: ["HostOS"]),
        .testTarget(name: "GuestMemoryTests", dependencies: ["GuestMemory", "XenABI"]),
        .testTarget(name: "HypervisorTests", dependencies: ["Hypervisor", "GuestMemory", "XenABI"]),
        .testTarget(name: "ToolstackTests", dependencies: [
            "Toolstack", "XenABI", "GuestMemory", "Hypervisor", "XenStore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "XenStoreTests", dependencies: ["XenStore", "XenABI"]),
        // The CLI's own parsing (the executable target, imported @testable).
        .testTarget(name: "PetrelCLITests", dependencies: [
            "petrel", "Toolstack", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "IntegrationTests", dependencies: ["Toolstack", "EngineKVM", "HostOS"]),
    ]
)
