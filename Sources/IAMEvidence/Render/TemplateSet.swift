import Foundation
import XMLTree

/// The template folder the renderers fill: `report.xhtml`, `report.css`, `evidence.xsd`.
public struct TemplateSet: Sendable {
  /// How the folder was chosen.
  public enum Origin: String, Sendable {
    /// Named by the caller (`--templates`).
    case option = "from --templates"
    /// Named by `$IAM_EVIDENCE_TEMPLATES`.
    case environment = "from IAM_EVIDENCE_TEMPLATES"
    /// The installed templates, beside or above the executable.
    case installed
  }

  public var directory: URL
  public var origin: Origin

  public init(directory: URL, origin: Origin = .option) {
    self.directory = directory
    self.origin = origin
  }

  /// Which templates are used, for the user: `templates: /path/Templates (installed)`.
  public var summary: String { "templates: \(directory.path) (\(origin.rawValue))" }

  public var reportXHTML: URL { directory.appendingPathComponent("report.xhtml") }
  public var reportCSS: URL { directory.appendingPathComponent("report.css") }
  public var evidenceXSD: URL { directory.appendingPathComponent("evidence.xsd") }

  /// The report's template (`report.xhtml`), parsed and checked against ``TemplatePolicy`` (no
  /// scripts, event handlers or remote references; the project's Content-Security-Policy, which is
  /// written into it here whatever the template says).
  ///
  /// - Throws: ``XMLError`` when it is missing or not well-formed; ``RenderError`` naming the file,
  ///   the line and the element or attribute the policy refuses.
  func reportTemplate() throws -> XMLDocument {
    let document = try XMLDocument(contentsOfFile: reportXHTML.path)
    try TemplatePolicy.enforce(document, file: reportXHTML.path)
    return document
  }

  /// The stylesheet (`report.css`) every HTML page inlines into `<style>`: read and checked here,
  /// for all of them. A file that cannot be read is an error, never a page without styles; so is
  /// one holding `<` or `&`, which inside `<style>` would be escaped and break the rules, and one
  /// that ``TemplatePolicy`` refuses (`@import`, `url(` other than `data:`, `expression(`…).
  ///
  /// - Throws: ``RenderError`` naming the file.
  func stylesheet() throws -> String {
    let css: String
    do {
      css = try String(contentsOf: reportCSS, encoding: .utf8)
    } catch {
      throw RenderError(path: reportCSS.path, message: "cannot read the report stylesheet: \(fileErrorReason(error, path: reportCSS.path))")
    }
    if css.contains("<") || css.contains("&") {
      throw RenderError(path: reportCSS.path, message: "the report stylesheet must not contain '<' or '&' (it is inlined into <style>)")
    }
    if let problem = TemplatePolicy.cssProblem(css) { throw RenderError(path: reportCSS.path, message: problem) }
    return css
  }

  /// Finds the templates: the folder named by `explicit` (`--templates`), else by
  /// `$IAM_EVIDENCE_TEMPLATES`, else the installed ones: the first `Templates` folder holding
  /// `report.xhtml` beside or above the running executable (how `swift run` and
  /// `.build/*/iam-evidence` find the project's own).
  ///
  /// The current folder is never searched: a `./Templates` wherever the tool happens to run could
  /// otherwise put anything into the report unnoticed. A folder named by the option or the variable
  /// must hold `report.xhtml`; it is an error, not a fall-back to the installed templates. Whatever
  /// folder is used, ``summary`` says which, and its templates are checked before use
  /// (``reportTemplate()``, ``stylesheet()``).
  ///
  /// - Parameters:
  ///   - executable: The executable to search from; nil for the running one (its real path, not
  ///     `argv[0]`, which a command found on `PATH` gives as a bare name).
  public static func locate(
    explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment, executable: String? = nil
  ) throws(RenderError) -> TemplateSet {
    var named: (path: String, origin: Origin)?
    if let explicit {
      named = (explicit, .option)
    } else if let env = environment["IAM_EVIDENCE_TEMPLATES"], !env.isEmpty {
      named = (env, .environment)
    }
    if let (path, origin) = named {
      let set = TemplateSet(directory: URL(fileURLWithPath: path).standardizedFileURL, origin: origin)
      guard FileManager.default.fileExists(atPath: set.reportXHTML.path) else {
        throw RenderError(path: path, message: "no report.xhtml in the templates folder named \(origin.rawValue)")
      }
      return set
    }
    guard let start = executable.map({ URL(fileURLWithPath: $0) }) ?? runningExecutable() else {
      throw RenderError(
        path: "Templates", message: "cannot tell where the executable is; pass --templates DIR or set IAM_EVIDENCE_TEMPLATES")
    }
    var dir = start.resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<6 {
      let candidate = TemplateSet(directory: dir.appendingPathComponent("Templates"), origin: .installed)
      if FileManager.default.fileExists(atPath: candidate.reportXHTML.path) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    throw RenderError(
      path: "Templates",
      message: "no installed report templates (Templates/report.xhtml) beside or above \(start.path); "
        + "pass --templates DIR or set IAM_EVIDENCE_TEMPLATES")
  }

  /// The running executable's path: `/proc/self/exe` where there is one, else Foundation's idea.
  static func runningExecutable() -> URL? {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      return URL(fileURLWithPath: path)
    }
    return Bundle.main.executableURL
  }
}
