// swift-tools-version:5.3
import PackageDescription

let package = Package(
    name: "tauri-plugin-murmur-mic",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "tauri-plugin-murmur-mic", type: .static, targets: ["MurmurMic"]),
    ],
    dependencies: [
        .package(name: "Tauri", path: "../.tauri/tauri-api"),
    ],
    targets: [
        .target(name: "MurmurMic", dependencies: [.byName(name: "Tauri")], path: "Sources"),
    ]
)
