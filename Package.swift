// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "iam-evidence",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "iam-evidence", targets: ["iam-evidence"]),
    .library(name: "IAMEvidence", targets: ["IAMEvidence"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
  ],
  targets: [
    // C boundary: module maps and shim headers only.
    .systemLibrary(
      name: "CSQLite",
      pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"])]
    ),
    .systemLibrary(
      name: "CLibXML2",
      pkgConfig: "libxml-2.0",
      providers: [.apt(["libxml2-dev"])]
    ),
    // The only importer of CSQLite.
    .target(name: "SQLiteDB", dependencies: ["CSQLite"]),
    // The only importer of CLibXML2.
    .target(name: "XMLTree", dependencies: ["CLibXML2"]),
    // The product: imports no C module (only System/ calls the C library, through Glibc); prints nothing.
    .target(
      name: "IAMEvidence",
      dependencies: [
        "SQLiteDB",
        "XMLTree",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "ZIPFoundation", package: "ZIPFoundation"),
      ],
      resources: [
        .copy("Resources/aws-actions.json"), .copy("Resources/controls.json"), .copy("Resources/escalation-methods.json"),
        .copy("Resources/Demo"),
      ],
      // BuildInfo.sourceSHA256: the SHA-256 of the sources the library is built from (see the plugin).
      plugins: ["BuildInfoPlugin"]
    ),
    .executableTarget(
      name: "iam-evidence",
      dependencies: [
        "IAMEvidence",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // Build tools: hashes Package.swift, Plugins/, Sources/ and Templates/ into the library's BuildInfo.
    .executableTarget(name: "SourceDigest"),
    .plugin(name: "BuildInfoPlugin", capability: .buildTool(), dependencies: ["SourceDigest"]),
    // Test-only: where the tests find the package and ../shared (one helper for every test target).
    .target(name: "TestPaths", path: "Tests/TestPaths"),
    .testTarget(
      name: "IAMEvidenceTests",
      dependencies: ["IAMEvidence", "SQLiteDB", "XMLTree", "TestPaths", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
      exclude: ["Golden"]
    ),
    .testTarget(name: "XMLTreeTests", dependencies: ["XMLTree", "TestPaths"]),
  ],
  swiftLanguageModes: [.v6]
)
