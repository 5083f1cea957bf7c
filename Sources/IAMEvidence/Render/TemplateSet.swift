import Foundation

/// The template folder the renderers fill: `report.xhtml`, `report.css`, `evidence.xsd`.
public struct TemplateSet: Sendable {
  public var directory: URL

  public init(directory: URL) { self.directory = directory }

  public var reportXHTML: URL { directory.appendingPathComponent("report.xhtml") }
  public var reportCSS: URL { directory.appendingPathComponent("report.css") }
  public var evidenceXSD: URL { directory.appendingPathComponent("evidence.xsd") }

  /// Finds the templates: an explicit folder, else `$IAM_EVIDENCE_TEMPLATES`, else `./Templates`, else
  /// a `Templates` folder beside or above the executable (how `swift run` and `.build/*/iam-evidence`
  /// find the project's own).
  public static func locate(explicit: String?, executable: String = CommandLine.arguments.first ?? "") throws(RenderError) -> TemplateSet {
    var candidates: [URL] = []
    if let explicit {
      candidates = [URL(fileURLWithPath: explicit)]
    } else {
      if let env = ProcessInfo.processInfo.environment["IAM_EVIDENCE_TEMPLATES"], !env.isEmpty {
        candidates.append(URL(fileURLWithPath: env))
      }
      candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Templates"))
      var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
      for _ in 0..<6 {
        candidates.append(dir.appendingPathComponent("Templates"))
        dir = dir.deletingLastPathComponent()
      }
    }
    for c in candidates where FileManager.default.fileExists(atPath: c.appendingPathComponent("report.xhtml").path) {
      return TemplateSet(directory: c)
    }
    throw RenderError(
      path: explicit ?? "Templates", message: "no report templates found (report.xhtml); pass --templates DIR or set IAM_EVIDENCE_TEMPLATES"
    )
  }
}
