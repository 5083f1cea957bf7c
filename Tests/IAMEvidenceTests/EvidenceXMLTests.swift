import Foundation
import SQLiteDB
import Testing
import XMLTree

@testable import IAMEvidence

/// evidence.xml: schema-valid, complete, reconciled, deterministic.
@Suite(.temporaryDirectories) struct EvidenceXMLTests {
  static let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
  static let generatedAt = Timestamp(parsing: "2024-04-02T09:00:00Z")!

  /// The three dev-series months, assessed, as one quarter.
  static func quarter() throws -> EvidenceModel {
    let (store, _) = try TestSupport.makeStore()
    for (month, day) in [("2024-01", "31"), ("2024-02", "29"), ("2024-03", "31")] {
      // January without an operator, the other months with one and the caller identity.
      let r = try TestSupport.ingest(
        store, TestSupport.fixture("dev-series/\(month).json"), capturedAt: "\(month)-\(day)T23:00:00Z",
        provenance: month == "2024-01"
          ? TestSupport.provenance(operatorName: nil) : TestSupport.provenance(account: "479265329499"))
      try store.workflow.assess(snapshotID: r.id, now: TestSupport.fixedNow)
    }
    var model = try store.workflow.evidence(
      scope: .period(from: Timestamp(parsing: "2024-01-01")!, to: Timestamp(parsing: "2024-03-31T23:59:59Z")!), account: nil,
      generatedAt: generatedAt)
    model.toolBuild = TestSupport.fixedBuild
    return model
  }

  @Test func validatesAndReconcilesWithThePopulation() throws {
    let model = try Self.quarter()
    let bytes = try EvidenceXML.render(model, templates: Self.templates)
    let doc = try XMLDocument(bytes: bytes)
    let ns = ["e": EvidenceXML.namespace]
    #expect(try doc.nodes(matching: "/e:evidence/e:scope/e:snapshot", namespaces: ns).count == 3)
    #expect(try doc.firstNode(matching: "/e:evidence/e:control", namespaces: ns)?.attribute("id") == "A.8.2")
    #expect(try doc.firstNode(matching: "/e:evidence/e:control", namespaces: ns)?.attribute("title") == "Privileged access rights")
    let results = try doc.nodes(matching: "//e:population/e:result", namespaces: ns)
    #expect(results.count == model.results.count)
    #expect(!results.isEmpty)
    // Summary counts reconcile with the population, per check and status.
    for summary in try doc.nodes(matching: "//e:summary/e:checkSummary", namespaces: ns) {
      let check = summary.attribute("check")!
      var total = 0
      for status in ResultStatus.allCases {
        let n = try doc.nodes(
          matching: "//e:population/e:result[@check='\(check)'][@status='\(status.rawValue)']", namespaces: ns
        ).count
        #expect(String(n) == summary.attribute(status.rawValue), "\(check) \(status)")
        total += n
      }
      #expect(String(total) == summary.attribute("total"))
    }
    #expect(try doc.nodes(matching: "//e:findings/e:finding", namespaces: ns).count == model.findings.count)
    #expect(try doc.nodes(matching: "//e:history/e:row", namespaces: ns).count == 3 * CheckCatalog.all.count)
    // The primary check's failures carry their offending statements.
    let primary = try doc.nodes(matching: "//e:finding[@check='kms-full-access-inline'][@status='fail']", namespaces: ns)
    #expect(!primary.isEmpty)
    for f in primary { #expect(try !f.nodes(matching: "e:statement", namespaces: ns).isEmpty) }
  }

  @Test func aBrokenDocumentIsRejectedByTheSchema() throws {
    let model = try Self.quarter()
    let doc = EvidenceXML.build(model)
    let schema = try XMLSchema(contentsOfFile: Self.templates.evidenceXSD.path)
    try schema.validate(doc)
    // A result with a status outside the vocabulary, and a snapshot without its hash.
    let result = try #require(try doc.firstNode(matching: "//e:population/e:result", namespaces: ["e": EvidenceXML.namespace]))
    result.setAttribute("status", "maybe")
    #expect(throws: XMLError.self) { try schema.validate(doc) }
    result.setAttribute("status", "pass")
    try schema.validate(doc)
    let snapshot = try #require(try doc.firstNode(matching: "//e:scope/e:snapshot", namespaces: ["e": EvidenceXML.namespace]))
    snapshot.removeAttribute("sha256")
    #expect { try schema.validate(doc) } throws: { "\($0)".contains("sha256") }
  }

  /// Golden file: the same database gives byte-identical evidence. Library versions vary by machine
  /// and are masked; set IAM_EVIDENCE_UPDATE_GOLDEN=1 to rewrite the file after a deliberate change.
  @Test func matchesTheGoldenFile() throws {
    let bytes = try EvidenceXML.render(try Self.quarter(), templates: Self.templates)
    let again = try EvidenceXML.render(try Self.quarter(), templates: Self.templates)
    #expect(bytes == again)
    var text = String(decoding: bytes, as: UTF8.self)
    text = text.replacingOccurrences(of: "sqliteVersion=\"\(sqliteVersionForTests)\"", with: "sqliteVersion=\"X\"")
    text = text.replacingOccurrences(of: "libxml2Version=\"\(libxml2Version)\"", with: "libxml2Version=\"X\"")
    let golden = TestSupport.packageRoot.appendingPathComponent("Tests/IAMEvidenceTests/Golden/evidence-dev-series.xml")
    if ProcessInfo.processInfo.environment["IAM_EVIDENCE_UPDATE_GOLDEN"] == "1" {
      try Data(text.utf8).write(to: golden)
    }
    let expected = try String(contentsOf: golden, encoding: .utf8)
    #expect(text == expected)
  }
}

let sqliteVersionForTests = SQLiteDB.sqliteVersion
