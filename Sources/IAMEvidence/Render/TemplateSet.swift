import Foundation
import XMLTree

/// The template folder the renderers fill: `report.xhtml`, `report.css`, `evidence.xsd`.
public struct TemplateSet: Sendable {
  public var directory: URL

  public init(directory: URL) { self.directory = directory }

  public var reportXHTML: URL { directory.appendingPathComponent("report.xhtml") }
  public var reportCSS: URL { directory.appendingPathComponent("report.css") }
  public var evidenceXSD: URL { directory.appendingPathComponent("evidence.xsd") }

  /// The report's template (`report.xhtml`), parsed.
  ///
  /// - Throws: ``XMLError`` when it is missing or not well-formed.
  func reportTemplate() throws -> XMLDocument {
    try XMLDocument(contentsOfFile: reportXHTML.path)
  }

  /// The stylesheet (`report.css`) every HTML page inlines into `<style>`: read and checked here,
  /// for all of them. A file that cannot be read is an error, never a page without styles; so is
  /// one holding `<` or `&`, which inside `<style>` would be escaped and break the rules.
  ///
  /// - Throws: ``StoreError`` naming the file.
  func stylesheet() throws -> String {
    let css: String
    do {
      css = try String(contentsOf: reportCSS, encoding: .utf8)
    } catch {
      throw StoreError(path: reportCSS.path, message: "cannot read the report stylesheet: \(error.localizedDescription)")
    }
    if css.contains("<") || css.contains("&") {
      throw StoreError(path: reportCSS.path, message: "the report stylesheet must not contain '<' or '&' (it is inlined into <style>)")
    }
    return css
  }

  /// Finds the templates: an explicit folder, else `$IAM_EVIDENCE_TEMPLATES`, else `./Templates`, else
  /// a `Templates` folder beside or above the executable (how `swift run` and `.build/*/iam-evidence`
  /// find the project's own).
  public static func locate(explicit: String?, executable: String = CommandLine.arguments.first ?? "") throws(StoreError) -> TemplateSet {
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
    throw StoreError(
      path: explicit ?? "Templates", message: "no report templates found (report.xhtml); pass --templates DIR or set IAM_EVIDENCE_TEMPLATES"
    )
  }
}
