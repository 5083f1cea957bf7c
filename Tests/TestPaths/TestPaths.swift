import Foundation

/// Where the tests find the package and the shared folder beside it: the one way every test target
/// locates `../shared` (fixtures, schemas, data), which is read in place and never copied into the
/// repository.
public enum TestPaths {
  /// The package root, found from this file's location (`Tests/TestPaths/TestPaths.swift`).
  public static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// `../shared`, beside the package root.
  public static let shared: URL = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

  /// `../shared/fixtures`: IAM snapshots and their ground truth.
  public static let fixtures: URL = shared.appendingPathComponent("fixtures")

  /// `../shared/schemas`: schemas the tool does not ship (NIST OSCAL).
  public static let schemas: URL = shared.appendingPathComponent("schemas")

  /// `../shared/data`.
  public static let data: URL = shared.appendingPathComponent("data")

  /// A file under `../shared/fixtures`.
  public static func fixture(_ relative: String) -> URL { fixtures.appendingPathComponent(relative) }

  /// A file under `../shared/schemas`.
  public static func schema(_ relative: String) -> URL { schemas.appendingPathComponent(relative) }
}
