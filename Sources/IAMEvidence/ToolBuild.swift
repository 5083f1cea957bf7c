/// The build of the tool: its name, version and the SHA-256 of the sources it was built from
/// (``BuildInfo`` is generated at build time by `BuildInfoPlugin`). Recorded with every ingest and
/// review import, and stated in every report, package and OSCAL document: an auditor can rebuild the
/// tool from the sources whose hash it names.
public struct ToolBuild: Sendable, Hashable {
  public var name: String
  public var version: String
  /// SHA-256 (hex) of the `sha256sum` listing of `Package.swift`, `Plugins/`, `Sources/` and `Templates/`, sorted
  /// by path: `find Package.swift Plugins Sources Templates -type f -print0 | LC_ALL=C sort -z | xargs -0
  /// sha256sum | sha256sum` in the source tree recomputes it.
  public var sourceSHA256: String

  public init(name: String, version: String, sourceSHA256: String) {
    self.name = name
    self.version = version
    self.sourceSHA256 = sourceSHA256
  }

  /// This build.
  public static let current = ToolBuild(
    name: IAMEvidenceVersion.name, version: IAMEvidenceVersion.current, sourceSHA256: BuildInfo.sourceSHA256)

  /// `iam-evidence 0.1.0 (source SHA-256 3f2a…)`, the hash in full.
  public var description: String { "\(name) \(version) (source SHA-256 \(sourceSHA256))" }
}
