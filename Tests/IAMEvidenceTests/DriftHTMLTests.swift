import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// drift.html: the same Trojan-Source protection as report.html, and never a page without its
/// stylesheet.
@Suite(.temporaryDirectories) struct DriftHTMLTests {
  static let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))

  /// A user and an inline policy whose names hold bidirectional controls, changed between two
  /// snapshots, and a second such user added.
  static func hostileDrift() throws -> DriftReport {
    let (store, _) = try TestSupport.makeStore()
    let eve = DriftFiles.User(name: "eve\u{202E}gnp.exe", id: "AIDAEVE000000000001", policies: [("p\u{2066}ol", DriftFiles.harmless)])
    var changed = eve
    changed.policies = [("p\u{2066}ol", DriftFiles.kmsStar)]
    let mallory = DriftFiles.User(name: "mal\u{200F}lory", id: "AIDAMAL000000000001", policies: [("x\u{061C}y", DriftFiles.kmsStar)])
    let a = try DriftFiles.ingest(store, DriftFiles.file(users: [eve]), name: "a.json", capturedAt: "2024-01-31")
    let b = try DriftFiles.ingest(store, DriftFiles.file(users: [changed, mallory]), name: "b.json", capturedAt: "2024-02-29")
    return try store.workflow.drift(from: a.id, to: b.id)
  }

  @Test func bidirectionalControlsInNamesAreShownAsCodePoints() throws {
    let drift = try Self.hostileDrift()
    #expect(drift.policiesChanged.count == 1 && drift.principalsAdded.count == 1)
    let html = String(decoding: try DriftHTML.render(drift, templates: Self.templates), as: UTF8.self)
    #expect(!html.unicodeScalars.contains(where: XHTML.isBidiControl))
    for shown in ["eve[U+202E]gnp.exe", "p[U+2066]ol", "mal[U+200F]lory", "x[U+061C]y"] {
      #expect(html.contains(shown), "\(shown)")
    }
  }

  /// Issue 17, defect 3: new findings read as bad (red on pink), resolved ones as good (green), in the
  /// page's own stylesheet; statements added to or removed from a policy are neither.
  @Test func newFindingsReadAsBadAndResolvedOnesAsGood() throws {
    let (store, _) = try TestSupport.makeStore()
    let before = DriftFiles.User(name: "old", id: "AIDAOLD000000000001", policies: [("kms-admin", DriftFiles.kmsStar)])
    let after = DriftFiles.User(name: "new", id: "AIDANEW000000000001", policies: [("kms-admin", DriftFiles.kmsStar)])
    let a = try DriftFiles.ingest(store, DriftFiles.file(users: [before]), name: "a.json", capturedAt: "2024-01-31")
    let b = try DriftFiles.ingest(store, DriftFiles.file(users: [after]), name: "b.json", capturedAt: "2024-02-29")
    let drift = try store.workflow.drift(from: a.id, to: b.id)
    #expect(!drift.newFindings.isEmpty && !drift.resolved.isEmpty)
    let doc = try XMLDocument(bytes: try DriftHTML.render(drift, templates: Self.templates))
    let ns = ["h": XMLNamespaces.xhtml]
    func rows(_ section: String) throws -> [XMLElement] {
      try doc.nodes(matching: "//h:section[h:h2[starts-with(., '\(section) (')]]//h:tr[h:td]", namespaces: ns)
    }
    let new = try rows("New findings")
    let resolved = try rows("Resolved findings")
    #expect(new.count == drift.newFindings.count && resolved.count == drift.resolved.count)
    #expect(new.allSatisfy { $0.attribute("class") == "drift-worse" })
    #expect(resolved.allSatisfy { $0.attribute("class") == "drift-better" })
    // The colours: worse is the report's fail pink, better its pass green.
    let css = try #require(try doc.firstNode(matching: "//h:style", namespaces: ns)?.textContent)
    #expect(css.contains(".drift-worse { background: #fdecea; }") && css.contains(".drift-better { background: #e6f4ea; }"))
    #expect(!css.contains(".drift-added") && !css.contains(".drift-removed"))
    // Privileges gained are worse, principals added are only facts.
    #expect(try doc.nodes(matching: "//h:tr[@class='drift-neutral']", namespaces: ns).count == 2)
  }

  /// A template folder without a readable `report.css` (absent, or a folder by that name): the drift
  /// page is refused with the file's name, through the library and through `diff --out`, which then
  /// writes nothing.
  @Test(arguments: ["absent", "a folder"])
  func anUnreadableStylesheetFailsWithItsName(_ how: String) throws {
    let dir = try TestSupport.temporaryDirectory()
    let folder = dir.appendingPathComponent("templates")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for name in ["report.xhtml", "evidence.xsd"] {
      try FileManager.default.copyItem(at: Self.templates.directory.appendingPathComponent(name), to: folder.appendingPathComponent(name))
    }
    let css = folder.appendingPathComponent("report.css")
    if how == "a folder" { try FileManager.default.createDirectory(at: css, withIntermediateDirectories: false) }

    let drift = try Self.hostileDrift()
    let error = try #require(throws: RenderError.self) { try DriftHTML.render(drift, templates: TemplateSet(directory: folder)) }
    #expect(error.path == css.path && error.message.contains("cannot read the report stylesheet"), "\(error)")

    let db = dir.appendingPathComponent("e.sqlite").path
    for (name, user, at) in [("a.json", "alice", "2024-01-31"), ("b.json", "bob", "2024-02-29")] {
      let file = DriftFiles.file(users: [DriftFiles.User(name: user, id: "AIDA\(user.uppercased())", policies: [("k", DriftFiles.kmsStar)])]
      )
      let run = try TestSupport.run(["ingest", "--db", db, "--captured-at", at, try CheckCommandTests.write(file, to: dir, name)])
      #expect(run.status == 0, "\(run.stderr)")
    }
    let out = dir.appendingPathComponent("drift.html")
    let run = try TestSupport.run(["diff", "--db", db, "--format", "html", "--templates", folder.path, "--out", out.path, "1", "2"])
    #expect(run.status == 2)
    #expect(run.stderr.contains(css.path), "\(run.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out.path))
  }
}
