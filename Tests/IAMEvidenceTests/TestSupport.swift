import Foundation
import TestPaths
import Testing

@testable import IAMEvidence

/// Paths and helpers shared by the tests.
enum TestSupport {
  /// The package root (see ``TestPaths``).
  static let packageRoot: URL = TestPaths.packageRoot

  /// `../shared/fixtures` beside the project root (never copied into the repository).
  static let fixtures: URL = TestPaths.fixtures

  /// A file under `../shared/fixtures`.
  static func fixture(_ relative: String) -> URL { TestPaths.fixture(relative) }

  /// A file under `../shared/schemas`.
  static func schema(_ relative: String) -> URL { TestPaths.schema(relative) }

  static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

  /// The built `iam-evidence` executable, next to the test bundle.
  static var binary: URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = dir.appendingPathComponent("iam-evidence")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return packageRoot.appendingPathComponent(".build/debug/iam-evidence")
  }

  /// A fresh temporary directory, removed when the test (or the suite-wide scope) that made it ends
  /// (see ``TemporaryDirectories``).
  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("iam-evidence-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    if let scope = TemporaryDirectories.current {
      scope.add(url)
    } else {
      Issue.record("a temporary directory was made outside a test scoped with .temporaryDirectories: \(url.path) outlives it")
    }
    return url
  }

  static let fixedNow = Timestamp(parsing: "2024-07-01T12:00:00Z")!

  /// A tool build that does not change with every edit of the sources (goldens, rendered documents).
  static let fixedBuild = ToolBuild(name: "iam-evidence", version: "0.1.0", sourceSHA256: String(repeating: "b", count: 64))

  /// A fixed provenance: `operatorName`, a caller identity of `account` when given (an assumed role),
  /// host `audit-host`, OS user `auditor`, ``fixedBuild``.
  static func provenance(operatorName: String? = "Olive Operator", account: String? = nil) -> SnapshotProvenance {
    SnapshotProvenance(
      operatorName: operatorName,
      callerIdentity: account.map { a in
        CallerIdentity(
          userID: "AROAEXAMPLEREADER:olive", account: a, arn: "arn:aws:sts::\(a):assumed-role/iam-evidence-reader/olive",
          source: "exports/\(a).caller.json", sha256: Digest.sha256(Array("caller \(a)".utf8)))
      }, host: "audit-host", osUser: "auditor", build: fixedBuild)
  }

  /// A new store in a temporary directory.
  static func makeStore() throws -> (EvidenceStore, URL) {
    let dir = try temporaryDirectory()
    let path = dir.appendingPathComponent("evidence.sqlite")
    return (try EvidenceStore(path: path.path, create: true, now: fixedNow), dir)
  }

  /// Ingests a fixture file, failing the test when it is not newly ingested.
  @discardableResult
  static func ingest(
    _ store: EvidenceStore, _ url: URL, account: String? = nil, capturedAt: String = "2024-06-30T00:00:00Z",
    provenance: SnapshotProvenance? = nil
  ) throws -> SnapshotRecord {
    let source = IngestSource(name: url.lastPathComponent, bytes: try bytes(url), modificationTime: nil)
    let outcome = try store.workflow.ingest(
      source,
      options: IngestOptions(account: account, capturedAt: Timestamp(parsing: capturedAt), now: fixedNow, provenance: provenance))
    guard case .ingested(let record) = outcome else {
      Issue.record("\(url.lastPathComponent) was already ingested")
      throw StoreError(path: url.path, message: "not ingested")
    }
    return record
  }

  /// Result of running the CLI.
  struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Runs the `iam-evidence` executable and waits for it.
  @discardableResult
  static func run(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil, cwd: URL? = nil) throws -> Run {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "IAM_EVIDENCE_DB")
    env.removeValue(forKey: "IAM_EVIDENCE_TEMPLATES")
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let cwd { process.currentDirectoryURL = cwd }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    // Read both pipes before waiting so a chatty child cannot block on a full pipe.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }
}

extension EvidenceStore {
  /// The service layer over this store (what the CLI calls).
  var workflow: EvidenceWorkflow { EvidenceWorkflow(store: self) }

  /// A single integer from SQL, for assertions.
  func count(_ sql: String, _ args: [any SQLiteBindableForTests] = []) throws -> Int {
    try integer(sql, args.map(\.asAny))
  }
}

/// Lets tests pass plain Swift values to ``EvidenceStore/count(_:_:)``.
protocol SQLiteBindableForTests { var asAny: Any { get } }
extension Int: SQLiteBindableForTests { var asAny: Any { self } }
extension String: SQLiteBindableForTests { var asAny: Any { self } }

/// The temporary folders made in one scope (a test, or a suite-wide setup such as the packaged
/// quarter), removed together when the scope ends, whether it passed, failed or threw.
///
/// ``TestSupport/temporaryDirectory()`` registers each folder with the innermost scope; making one
/// outside any scope is an issue, so a suite that forgets `.temporaryDirectories` fails rather than
/// leaking folders.
final class TemporaryDirectories: @unchecked Sendable {
  /// The innermost scope of the running task.
  @TaskLocal static var current: TemporaryDirectories?

  private let lock = NSLock()
  private var urls: [URL] = []

  func add(_ url: URL) { lock.withLock { urls.append(url) } }

  /// Runs `body` in a new scope, then removes every folder made in it.
  static func withScope<T>(_ body: () async throws -> T) async throws -> T {
    let scope = TemporaryDirectories()
    defer { scope.removeAll() }
    return try await $current.withValue(scope) { try await body() }
  }

  /// Removes every folder of the scope (one the test already removed is skipped).
  func removeAll() {
    for url in lock.withLock({ urls }) where (try? FileManager.default.attributesOfItem(atPath: url.path)) != nil {
      do {
        try FileManager.default.removeItem(at: url)
      } catch {
        Issue.record("could not remove the temporary directory \(url.path): \(error)")
      }
    }
  }
}

/// `.temporaryDirectories` on a suite: every test case of it runs in its own
/// ``TemporaryDirectories`` scope.
struct TemporaryDirectoriesTrait: SuiteTrait, TestTrait, TestScoping {
  var isRecursive: Bool { true }

  func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    try await TemporaryDirectories.withScope { try await function() }
  }
}

extension Trait where Self == TemporaryDirectoriesTrait {
  /// Removes the temporary folders each test makes when it ends.
  static var temporaryDirectories: Self { Self() }
}

/// A small deterministic generator (SplitMix64), so that seeded tests reproduce their failures.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  /// Uniform-ish in 0..<n (0 when n is 0).
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
  mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
  mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
