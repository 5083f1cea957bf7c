import Foundation
import TestPaths
import Testing
import XMLTree

@testable import IAMEvidence

/// Templates are the installed ones unless named, and whatever folder they come from holds no
/// script, event handler, remote reference or weaker Content-Security-Policy (issue 14's
/// "templates from the current folder").
@Suite(.temporaryDirectories) struct TemplateSafetyTests {
  static let installed = TestSupport.packageRoot.appendingPathComponent("Templates")
  static let evil = "evil.example"

  /// A copy of the project's templates in a new folder, with `edit` applied to `report.xhtml` and
  /// `css` appended to `report.css`.
  static func hostileFolder(in dir: URL? = nil, xhtml edit: (String) -> String = { $0 }, css: String = "") throws -> URL {
    let folder = (try dir ?? TestSupport.temporaryDirectory()).appendingPathComponent("Templates")
    try FileManager.default.copyItem(at: installed, to: folder)
    let xhtml = folder.appendingPathComponent("report.xhtml")
    try Data(edit(try String(contentsOf: xhtml, encoding: .utf8)).utf8).write(to: xhtml)
    let sheet = folder.appendingPathComponent("report.css")
    try Data((try String(contentsOf: sheet, encoding: .utf8) + css).utf8).write(to: sheet)
    return folder
  }

  /// One hostile edit of `report.xhtml` and what the refusal must name.
  struct XHTMLCase: CustomTestStringConvertible, Sendable {
    var name: String
    var original: String
    var replacement: String
    var named: String
    var testDescription: String { name }
  }

  static let body = "<body>"
  static let head = "<meta name=\"referrer\" content=\"no-referrer\"/>"
  static let csp = #"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"/>"#
  static let svg = #"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">"#

  static let refusedXHTML: [XHTMLCase] = [
    XHTMLCase(name: "script", original: body, replacement: "<body><script>alert(1)</script>", named: "<script>"),
    XHTMLCase(name: "SVG script", original: body, replacement: "<body>\(svg)<script>alert(1)</script></svg>", named: "<script>"),
    XHTMLCase(name: "iframe", original: body, replacement: "<body><iframe src=\"#x\"></iframe>", named: "<iframe>"),
    XHTMLCase(name: "object", original: body, replacement: "<body><object data=\"#x\"></object>", named: "<object>"),
    XHTMLCase(name: "embed", original: body, replacement: "<body><embed src=\"#x\"/>", named: "<embed>"),
    XHTMLCase(name: "base", original: head, replacement: head + "<base href=\"https://\(evil)/\"/>", named: "<base>"),
    XHTMLCase(
      name: "stylesheet link", original: head, replacement: head + "<link rel=\"stylesheet\" href=\"https://\(evil)/x.css\"/>",
      named: "<link>"),
    XHTMLCase(
      name: "meta refresh", original: head, replacement: head + "<meta http-equiv=\"refresh\" content=\"0;url=https://\(evil)/\"/>",
      named: "http-equiv=\"refresh\""),
    XHTMLCase(
      name: "META HTTP-EQUIV refresh", original: head,
      replacement: head + "<meta HTTP-EQUIV=\"Refresh\" content=\"0;url=https://\(evil)/\"/>", named: "http-equiv=\"Refresh\""),
    XHTMLCase(
      name: "a second CSP content in capitals", original: csp,
      replacement:
        #"<meta http-equiv="Content-Security-Policy" CONTENT="default-src *" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"/>"#,
      named: "is repeated"),
    XHTMLCase(name: "onload", original: body, replacement: "<body onload=\"alert(1)\">", named: "attribute onload on <body>"),
    XHTMLCase(name: "ONCLICK", original: body, replacement: "<body><p ONCLICK=\"alert(1)\">x</p>", named: "attribute ONCLICK on <p>"),
    XHTMLCase(name: "remote href", original: "href=\"#summary\"", replacement: "href=\"https://\(evil)/\"", named: "attribute href on <a>"),
    XHTMLCase(
      name: "javascript: href", original: "href=\"#summary\"", replacement: "href=\"javascript:alert(1)\"", named: "attribute href on <a>"),
    XHTMLCase(
      name: "javascript: with a tab", original: "href=\"#summary\"", replacement: "href=\" java&#9;script:alert(1)\"",
      named: "attribute href on <a>"),
    XHTMLCase(
      name: "remote image", original: body, replacement: "<body><img src=\"https://\(evil)/pixel.png\" alt=\"\"/>",
      named: "attribute src on <img>"),
    XHTMLCase(
      name: "SVG data image", original: body, replacement: "<body><img src=\"data:image/svg+xml,%3Csvg%3E\" alt=\"\"/>",
      named: "attribute src on <img>"),
    XHTMLCase(
      name: "srcset", original: body, replacement: "<body><img src=\"#x\" srcset=\"https://\(evil)/a.png 2x\" alt=\"\"/>",
      named: "attribute srcset on <img>"),
    XHTMLCase(
      name: "xlink:href", original: body, replacement: "<body>\(svg)<use xlink:href=\"https://\(evil)/s.svg#x\"/></svg>",
      named: "attribute xlink:href on <use>"),
    XHTMLCase(
      name: "SVG animation", original: body,
      replacement: "<body>\(svg)<a><animate attributeName=\"href\" values=\"javascript:alert(1)\"/></a></svg>", named: "<animate>"),
    XHTMLCase(
      name: "form action", original: body, replacement: "<body><form action=\"https://\(evil)/\"></form>",
      named: "attribute action on <form>"),
    XHTMLCase(
      name: "formaction", original: body, replacement: "<body><form><button formaction=\"https://\(evil)/\">x</button></form>",
      named: "attribute formaction on <button>"),
    XHTMLCase(
      name: "style attribute url()", original: body, replacement: "<body style=\"background: url(https://\(evil)/x.png)\">",
      named: "attribute style on <body>: url(https://\(evil)"),
    XHTMLCase(
      name: "SVG fill url()", original: body, replacement: "<body>\(svg)<rect fill=\"url(https://\(evil)/g.svg#g)\"/></svg>",
      named: "attribute fill on <rect>: url(https://\(evil)"),
    XHTMLCase(
      name: "style element @import", original: head, replacement: head + "<style>@import url(https://\(evil)/x.css);</style>",
      named: "<style>: @import"),
    XHTMLCase(
      name: "CDATA section", original: body, replacement: "<body><p><![CDATA[ a><script>alert(1)</script>]]></p>",
      named: "a CDATA section in <p>"),
    XHTMLCase(
      name: "processing instruction", original: body, replacement: "<body><p><?x a><script>alert(1)</script>?></p>",
      named: "a processing instruction in <p>"),
    XHTMLCase(
      name: "comment that HTML ends at once", original: body, replacement: "<body><!--><script>alert(1)</script>-->",
      named: "a comment in <body> starting with '>'"),
    XHTMLCase(name: "no CSP", original: csp, replacement: "", named: "no Content-Security-Policy"),
    XHTMLCase(
      name: "weakened CSP", original: csp, replacement: #"<meta http-equiv="Content-Security-Policy" content="default-src *"/>"#,
      named: "must be exactly"),
    XHTMLCase(name: "CSP in the body", original: csp, replacement: "", named: "must be in <head>"),
    XHTMLCase(name: "two CSPs", original: csp, replacement: csp + csp, named: "not several"),
  ]

  @Test(arguments: refusedXHTML)
  func aHostileReportTemplateIsRefused(_ c: XHTMLCase) throws {
    let folder = try Self.hostileFolder(xhtml: { text in
      #expect(text.contains(c.original), "\(c.name): the template no longer holds \(c.original)")
      var edited = text.replacingOccurrences(of: c.original, with: c.replacement)
      if c.name == "CSP in the body" { edited = edited.replacingOccurrences(of: Self.body, with: Self.body + Self.csp) }
      return edited
    })
    let templates = TemplateSet(directory: folder)
    let error = try #require(throws: RenderError.self) { try templates.reportTemplate() }
    #expect(error.path == templates.reportXHTML.path, "\(error)")
    #expect(error.message.contains(c.named), "\(c.name): \(error)")
    if c.name != "no CSP" { #expect(error.message.contains("line "), "\(c.name): \(error)") }
  }

  /// What a template may still do: link within the page, show a data: raster image, and write its
  /// policy with other spacing (the rendered page then carries the policy exactly).
  @Test func aTemplateMayLinkWithinThePageAndShowDataImages() throws {
    let spaced =
      #"<meta http-equiv="Content-Security-Policy" content="  default-src 'none';   style-src 'unsafe-inline';&#10; img-src data:"/>"#
    let folder = try Self.hostileFolder(xhtml: {
      $0.replacingOccurrences(of: Self.csp, with: spaced)
        .replacingOccurrences(
          of: Self.body, with: "<body><img src=\" data:image/png;base64,iVBORw0KGgo=\" alt=\"\"/><a href=\"#custody\">c</a>")
    })
    let document = try TemplateSet(directory: folder).reportTemplate()
    let policy = try #require(
      try document.firstNode(matching: "//h:meta[@http-equiv='Content-Security-Policy']", namespaces: HTMLReport.namespaces))
    #expect(policy.attribute("content") == XHTML.contentSecurityPolicy)
  }

  static let refusedCSS: [(String, String)] = [
    ("@import url(https://\(evil)/x.css);", "@import"),
    (#"@\69mport "https://\#(evil)/x.css";"#, "@import"),
    ("body { background: url(https://\(evil)/x.png) }", "url(https://\(evil)"),
    ("body { background: URL( \"javascript:alert(1)\" ) }", "url(javascript:alert(1)"),
    (#"body { background: \75rl(https://\#(evil)/x.png) }"#, "url(https://\(evil)"),
    ("@font-face { font-family: x; src: url(//\(evil)/f.woff) }", "url(//\(evil)"),
    ("body { width: expression(alert(1)) }", "expression("),
    ("body { background-image: image-set(\"https://\(evil)/x.png\" 1x) }", "image-set("),
  ]

  @Test(arguments: refusedCSS)
  func aHostileStylesheetIsRefused(_ css: String, _ named: String) throws {
    let templates = TemplateSet(directory: try Self.hostileFolder(css: "\n" + css + "\n"))
    let error = try #require(throws: RenderError.self) { try templates.stylesheet() }
    #expect(error.path == templates.reportCSS.path && error.message.contains(named), "\(error)")
  }

  @Test func aStylesheetMayUseDataURIs() throws {
    let css = "\n.a { background: url(data:image/png;base64,iVBORw0KGgo=) }\n.b { background: url( 'data:image/gif;base64,R0lGOD' ) }\n"
    let templates = TemplateSet(directory: try Self.hostileFolder(css: css))
    #expect(try templates.stylesheet().hasSuffix(css))
  }

  /// The renderers go through the checks: the HTML report, and drift.html for the stylesheet.
  @Test func renderersRefuseHostileTemplates() throws {
    let scripted = TemplateSet(
      directory: try Self.hostileFolder(xhtml: { $0.replacingOccurrences(of: Self.body, with: "<body><script/>") }))
    let model = try HTMLReportTests.demoModel()
    #expect(throws: RenderError.self) { try HTMLReport.render(model, templates: scripted) }
    let imported = TemplateSet(directory: try Self.hostileFolder(css: "@import url(https://\(Self.evil)/x.css);"))
    let (store, _) = try TestSupport.makeStore()
    let alice = DriftFiles.User(name: "alice", id: "AIDAALICE0000000001", policies: [("k", DriftFiles.kmsStar)])
    let a = try DriftFiles.ingest(store, DriftFiles.file(users: [alice]), name: "a.json", capturedAt: "2024-01-31")
    let bob = DriftFiles.User(name: "bob", id: "AIDABOB000000000001", policies: [("k", DriftFiles.harmless)])
    let b = try DriftFiles.ingest(store, DriftFiles.file(users: [alice, bob]), name: "b.json", capturedAt: "2024-02-29")
    let drift = try store.workflow.drift(from: a.id, to: b.id)
    let error = try #require(throws: RenderError.self) { try DriftHTML.render(drift, templates: imported) }
    #expect(error.path == imported.reportCSS.path && error.message.contains("@import"))
  }

  // MARK: Locating

  @Test func onlyTheOptionOrTheVariableSelectAnotherFolder() throws {
    let dir = try TestSupport.temporaryDirectory()
    let other = try Self.hostileFolder(in: dir)
    let executable = TestPaths.packageRoot.appendingPathComponent(".build/debug/iam-evidence").path
    let installed = try TemplateSet.locate(explicit: nil, environment: [:], executable: executable)
    let installedPath = Self.installed.resolvingSymlinksInPath().path
    #expect(installed.origin == .installed && installed.directory.path == installedPath)
    #expect(installed.summary == "templates: \(installedPath) (installed)")
    let option = try TemplateSet.locate(explicit: other.path, environment: ["IAM_EVIDENCE_TEMPLATES": "/nowhere"], executable: executable)
    #expect(option.origin == .option && option.directory.path == other.path)
    let variable = try TemplateSet.locate(explicit: nil, environment: ["IAM_EVIDENCE_TEMPLATES": other.path], executable: executable)
    #expect(variable.origin == .environment && variable.directory.path == other.path)
    // A named folder without report.xhtml is an error, not a fall-back to the installed templates.
    let empty = dir.appendingPathComponent("empty")
    try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
    for (explicit, environment) in [(empty.path, [String: String]()), (nil, ["IAM_EVIDENCE_TEMPLATES": empty.path])] {
      let error = try #require(throws: RenderError.self) {
        try TemplateSet.locate(explicit: explicit, environment: environment, executable: executable)
      }
      #expect(error.path == empty.path && error.message.contains("no report.xhtml"), "\(error)")
    }
    // An executable with no Templates above it has no installed templates.
    let lonely = dir.appendingPathComponent("a/b/c/d/e/f/g/iam-evidence")
    #expect(throws: RenderError.self) { try TemplateSet.locate(explicit: nil, environment: [:], executable: lonely.path) }
  }

  /// The attack: the tool run from a folder that holds a hostile `Templates/`. Every command that
  /// renders uses the installed templates and says so on standard error.
  @Test func aTemplatesFolderInTheCurrentDirectoryIsIgnored() throws {
    let cwd = try TestSupport.temporaryDirectory()
    _ = try Self.hostileFolder(
      in: cwd,
      xhtml: {
        $0.replacingOccurrences(
          of: Self.body, with: "<body><script>alert('pwned')</script><img src=\"https://\(Self.evil)/p.png\" alt=\"\"/>")
      }, css: "@import url(https://\(Self.evil)/x.css);")
    let db = cwd.appendingPathComponent("e.sqlite").path
    for m in Series.months {
      let run = try TestSupport.run(["ingest", "--db", db, "--captured-at", Series.capturedAt(m), Series.url(m).path], cwd: cwd)
      #expect(run.status == 0, "\(run.stderr)")
    }
    let installedLine = "templates: \(Self.installed.resolvingSymlinksInPath().path) (installed)"
    let runs: [(args: [String], output: String)] = [
      (["report", "--db", db, "--out", "out", "--generated-at", "2099-04-02T09:00:00Z"], "out/report.html"),
      (["diff", "--db", db, "--format", "html", "--out", "drift.html", "1", "3"], "drift.html"),
      (["diff", "--db", db, "--format", "xml", "--out", "drift.xml", "1", "3"], "drift.xml"),
      (
        ["package", "--db", db, "--from", "2024-01-01", "--to", "2024-03-31", "--out", "q1.zip", "--generated-at", "2099-04-02T09:00:00Z"],
        "q1.zip"
      ),
      (["demo", "--db", "demo/demo.sqlite"], "demo/report/report.html"),
    ]
    for (args, output) in runs {
      let run = try TestSupport.run(args, cwd: cwd)
      #expect(run.status == 0, "\(args): \(run.stderr)")
      #expect(run.stderr.split(separator: "\n").contains { $0 == installedLine }, "\(args): \(run.stderr)")
      let written = try TestSupport.bytes(cwd.appendingPathComponent(output))
      if output.hasSuffix(".zip") {
        let members = try PackageSupport.zipMembers(cwd.appendingPathComponent(output))
        for member in members where member.name.hasSuffix(".html") {
          let text = String(decoding: member.bytes, as: UTF8.self)
          #expect(!text.contains(Self.evil) && !text.contains("<script"), "\(member.name)")
        }
      } else {
        let text = String(decoding: written, as: UTF8.self)
        #expect(!text.contains(Self.evil) && !text.contains("<script") && !text.contains("pwned"), "\(output)")
      }
    }
    // Named on purpose, the same folder is checked and refused, and nothing is written.
    let named = try TestSupport.run(["report", "--db", db, "--out", "named", "--templates", "Templates"], cwd: cwd)
    #expect(named.status == 2)
    let file = cwd.resolvingSymlinksInPath().appendingPathComponent("Templates/report.xhtml").path
    #expect(named.stderr.contains(file) && named.stderr.contains("<script>"), "\(named.stderr)")
    #expect(!FileManager.default.fileExists(atPath: cwd.appendingPathComponent("named").path))
  }
}
