import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// OSCAL assessment results: valid against NIST's 1.0.6 schema, complete, deterministic.
@Suite(.temporaryDirectories) struct OSCALTests {
  static let schemaPath = TestSupport.schema("oscal-1.0.6/oscal_assessment-results_schema.xsd").path
  static let ns = ["o": XMLNamespaces.oscal]
  static let generatedAt = Timestamp(parsing: "2024-04-02T09:00:00Z")!

  /// An exception for one failing inline policy of the March snapshot, in force through 2024-09-30.
  static let register = """
    {"exceptions": [{
      "id": "EX-7", "check": "kms-full-access-inline",
      "scope": {"principal": "arn:aws:iam::479265329499:role/backup-dev-role", "policy": "AllowKMS"},
      "justification": "Nightly backup re-encrypts <all> keys & needs kms:* until the\\nkey-policy migration.",
      "approved_by": "CISO", "approved_on": "2024-03-01", "expires_on": "2024-09-30",
      "compensating_control": "CloudTrail alert on kms:ScheduleKeyDeletion", "ticket": "SEC-42"
    }]}
    """

  /// The three dev-series months as one quarter; with the register, the March assessment uses it.
  static func quarter(withExceptions: Bool = false) throws -> EvidenceModel {
    let (store, _) = try TestSupport.makeStore()
    for (month, day) in [("2024-01", "31"), ("2024-02", "29"), ("2024-03", "31")] {
      let r = try TestSupport.ingest(store, TestSupport.fixture("dev-series/\(month).json"), capturedAt: "\(month)-\(day)T23:00:00Z")
      let reg =
        withExceptions && month == "2024-03"
        ? try ExceptionRegister(bytes: Array(register.utf8), source: "exceptions.json") : ExceptionRegister.empty
      try store.workflow.assess(snapshotID: r.id, register: reg, now: TestSupport.fixedNow)
    }
    return try store.workflow.evidence(
      scope: .period(from: Timestamp(parsing: "2024-01-01")!, to: Timestamp(parsing: "2024-03-31T23:59:59Z")!), account: nil,
      generatedAt: generatedAt)
  }

  static func validated(_ bytes: [UInt8]) throws -> XMLDocument {
    let doc = try XMLDocument(bytes: bytes)
    try XMLSchema(contentsOfFile: schemaPath).validate(doc)
    return doc
  }

  @Test func uuidV5MatchesRFC4122() {
    #expect(UUIDv5.make(namespace: UUIDv5.dnsNamespace, name: "python.org") == "886313e1-3b8a-5372-9b90-0c9aee199e5d")
    #expect(UUIDv5.make(namespace: UUIDv5.dnsNamespace.uppercased(), name: "python.org") == "886313e1-3b8a-5372-9b90-0c9aee199e5d")
    #expect(OSCALAssessmentResults.controlID("A.8.2") == "a.8.2")
  }

  @Test func validatesAgainstNISTSchemaAndReconciles() throws {
    let model = try Self.quarter()
    let doc = try Self.validated(OSCALAssessmentResults.render(model, trend: nil))
    try XMLSchema(contentsOfFile: Self.schemaPath).validate(OSCALAssessmentResults.build(model, trend: nil))
    func count(_ xpath: String) throws -> Int { try doc.nodes(matching: xpath, namespaces: Self.ns).count }

    // One result per snapshot, then the period's own.
    #expect(try count("/o:assessment-results/o:result") == model.snapshots.count + 1)
    #expect(try count("//o:metadata/o:oscal-version[.='1.0.6']") == 1)
    #expect(try count("//o:metadata/o:last-modified[.='2024-04-02T09:00:00Z']") == 1)
    let period = model.periodFindings
    #expect(period.count > model.findings.filter { $0.status != .error }.count, "the quarter has findings resolved before March")
    #expect(try count("//o:observation") == model.results.count + model.snapshots.count + period.count)
    let controlsJudged = model.controlVerdicts.count
    #expect(controlsJudged == 3)
    #expect(try count("//o:finding") == model.findings.count + (model.snapshots.count + 1) * controlsJudged + period.count)
    let risky = model.results.filter { $0.status == .fail || $0.status == .excepted }
    #expect(try count("//o:risk") == risky.count + period.count)
    let openAtEnd = period.filter { $0.state == .open || $0.state == .error }.count
    #expect(try count("//o:risk[o:status='open']") == model.results.filter { $0.status == .fail }.count + openAtEnd)
    #expect(try count("//o:risk[o:status='closed']") == period.filter { !$0.standsAtEnd }.count)
    #expect(!model.findings.isEmpty)
    // Every subject examined is an inventory item of the current result.
    #expect(try count("/o:assessment-results/o:result[3]/o:local-definitions/o:inventory-item") > 0)
    #expect(try count("//o:observation/o:subject[@type='inventory-item']") == model.results.count)
    // Back matter: one hashed resource per snapshot (no register without exceptions).
    let hashes = try doc.nodes(matching: "//o:back-matter/o:resource/o:rlink/o:hash[@algorithm='SHA-256']", namespaces: Self.ns)
    #expect(hashes.map(\.textContent) == model.snapshots.map(\.sha256))
    // import-ap points at the methodology resource.
    let href = try #require(try doc.firstNode(matching: "//o:import-ap", namespaces: Self.ns)?.attribute("href"))
    #expect(try count("//o:back-matter/o:resource[@uuid='\(href.dropFirst())']") == 1)

    // The control-level finding of the current snapshot: A.8.2 not satisfied (the primary check fails).
    let control = try doc.nodes(
      matching: "/o:assessment-results/o:result[3]/o:finding/o:target[@type='statement-id'][@target-id='a.8.2_smt']", namespaces: Self.ns)
    #expect(control.count == 1)
    #expect(try control.first?.firstNode(matching: "o:status", namespaces: Self.ns)?.attribute("state") == "not-satisfied")
    #expect(model.verdict == .notEffective)
    #expect(try count("//o:include-control[@control-id='a.8.2']") == model.snapshots.count + 1)
    // One control-level finding per control given a verdict, in every snapshot, its state the verdict's.
    for (i, s) in model.snapshots.enumerated() {
      let verdicts = try #require(model.controlVerdicts(snapshotID: s.id))
      for a in verdicts {
        let target = try doc.nodes(
          matching:
            "/o:assessment-results/o:result[\(i + 1)]/o:finding/o:target[@type='statement-id'][@target-id='\(OSCALAssessmentResults.controlID(a.control.id))_smt']",
          namespaces: Self.ns)
        #expect(target.count == 1, "\(a.control.id) in snapshot \(s.id)")
        #expect(
          try target.first?.firstNode(matching: "o:status", namespaces: Self.ns)?.attribute("state")
            == (a.verdict == .effective ? "satisfied" : "not-satisfied"))
      }
    }
    // Earlier snapshots are summarised: one observation and the control findings each.
    #expect(try count("/o:assessment-results/o:result[1]/o:observation") == 1)
    #expect(try count("/o:assessment-results/o:result[1]/o:finding") == controlsJudged)

    // References resolve: observations of findings and risks exist.
    let observationUUIDs = Set(try doc.nodes(matching: "//o:observation", namespaces: Self.ns).compactMap { $0.attribute("uuid") })
    for ref in try doc.nodes(matching: "//o:related-observation", namespaces: Self.ns) {
      #expect(observationUUIDs.contains(ref.attribute("observation-uuid") ?? ""))
    }
    let riskUUIDs = Set(try doc.nodes(matching: "//o:risk", namespaces: Self.ns).compactMap { $0.attribute("uuid") })
    for ref in try doc.nodes(matching: "//o:associated-risk", namespaces: Self.ns) {
      #expect(riskUUIDs.contains(ref.attribute("risk-uuid") ?? ""))
    }
  }

  @Test func uuidsAreVersion5AndUnique() throws {
    let doc = try Self.validated(OSCALAssessmentResults.render(try Self.quarter(withExceptions: true), trend: nil))
    let pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    var defined: [String] = []
    for e in try doc.nodes(matching: "//*[@uuid]", namespaces: Self.ns) { defined.append(e.attribute("uuid")!) }
    #expect(defined.count > 100)
    #expect(Set(defined).count == defined.count)
    for u in defined { #expect(u.wholeMatch(of: pattern) != nil, "\(u)") }
    for e in try doc.nodes(matching: "//o:party-uuid", namespaces: Self.ns) { #expect(e.textContent.wholeMatch(of: pattern) != nil) }
  }

  @Test func anExceptionBecomesADeviationApprovedRisk() throws {
    let model = try Self.quarter(withExceptions: true)
    let excepted = model.results.filter { $0.status == .excepted }
    #expect(excepted.count == 1)
    let doc = try Self.validated(OSCALAssessmentResults.render(model, trend: nil))
    // In the current snapshot's result (the period's result has its own, for the finding of the period).
    let risks = try doc.nodes(
      matching: "/o:assessment-results/o:result[o:prop[@name='current'][@value='yes']]/o:risk[o:status='deviation-approved']",
      namespaces: Self.ns)
    #expect(risks.count == 1)
    #expect(
      try doc.nodes(
        matching: "/o:assessment-results/o:result[o:prop[@name='period']]/o:risk[o:status='deviation-approved']", namespaces: Self.ns
      ).count == 1)
    let risk = try #require(risks.first)
    #expect(try risk.firstNode(matching: "o:deadline", namespaces: Self.ns)?.textContent == "2024-09-30T23:59:59Z")
    let planned = try #require(try risk.firstNode(matching: "o:response[@lifecycle='planned']", namespaces: Self.ns))
    let text = planned.textContent
    #expect(text.contains("EX-7") && text.contains("CISO") && text.contains("Nightly backup re-encrypts <all> keys & needs kms:*"))
    #expect(try risk.nodes(matching: "o:mitigating-factor", namespaces: Self.ns).count == 1)
    #expect(try risk.firstNode(matching: "o:risk-log/o:entry/o:status-change", namespaces: Self.ns)?.textContent == "deviation-approved")
    // The register is in the back matter with its hash, and the risk links to it.
    let sha = try #require(model.assessment?.exceptionsSHA256)
    let hashes = try doc.nodes(matching: "//o:back-matter/o:resource/o:rlink/o:hash", namespaces: Self.ns).map(\.textContent)
    #expect(hashes == model.snapshots.map(\.sha256) + [sha])
    let link = try #require(try risk.firstNode(matching: "o:link", namespaces: Self.ns)?.attribute("href"))
    #expect(
      try doc.nodes(matching: "//o:back-matter/o:resource[@uuid='\(link.dropFirst())']/o:rlink/o:hash[.='\(sha)']", namespaces: Self.ns)
        .count == 1)
    // Its finding (not satisfied) and the control-level finding are associated with the risk.
    let riskUUID = try #require(risk.attribute("uuid"))
    let findings = try doc.nodes(matching: "//o:finding[o:associated-risk/@risk-uuid='\(riskUUID)']/o:target", namespaces: Self.ns)
    #expect(findings.map { $0.attribute("type") } == ["statement-id", "objective-id"])
    #expect(try findings.last?.firstNode(matching: "o:status", namespaces: Self.ns)?.attribute("state") == "not-satisfied")
  }

  @Test func reRenderingIsByteIdentical() throws {
    let a = OSCALAssessmentResults.render(try Self.quarter(withExceptions: true), trend: nil)
    let b = OSCALAssessmentResults.render(try Self.quarter(withExceptions: true), trend: nil)
    #expect(a == b)
  }

  @Test func trendAddsLifetimesAndStaysValid() throws {
    let (store, _) = try TestSupport.makeStore()
    for (month, day) in [("2024-01", "31"), ("2024-03", "31")] {
      let r = try TestSupport.ingest(store, TestSupport.fixture("dev-series/\(month).json"), capturedAt: "\(month)-\(day)T23:00:00Z")
      try store.workflow.assess(snapshotID: r.id, now: TestSupport.fixedNow)
    }
    let from = Timestamp(parsing: "2024-01-01")!
    let to = Timestamp(parsing: "2024-03-31T23:59:59Z")!
    let model = try store.workflow.evidence(scope: .period(from: from, to: to), account: nil, generatedAt: Self.generatedAt)
    let trend = try store.workflow.trend(account: nil, from: from, to: to)
    let doc = try Self.validated(OSCALAssessmentResults.render(model, trend: trend))
    #expect(try !doc.nodes(matching: "//o:finding/o:prop[@name='first-seen']", namespaces: Self.ns).isEmpty)
    #expect(try doc.nodes(matching: "//o:result/o:prop[@name='coverage-gap']", namespaces: Self.ns).count == trend.gaps.count)
    #expect(!trend.gaps.isEmpty)
  }

  @Test func hostileStringsStayValid() throws {
    var model = try Self.quarter()
    let hostile = "  <evil attr=\"x\">&amp;\n\t\u{0}\u{202E}]]>  "
    model.account = hostile
    model.snapshots[0].sourceName = hostile
    model.snapshots[1].sourceName = ""
    model.current.sourceName = " \n "
    model.snapshots[2].sourceName = " \n "
    model.toolVersion = "\n"
    model.results[0].why = hostile
    model.results[0].principal?.name = hostile
    model.results[0].policy?.name = ""
    model.results[0].reasons = ["", hostile]
    model.current.capturedAt = Timestamp(epochSeconds: -99_999_999_999)
    let bytes = OSCALAssessmentResults.render(model, trend: nil)
    let doc = try Self.validated(bytes)
    #expect(!String(decoding: bytes, as: UTF8.self).contains("<evil"))
    #expect(try doc.nodes(matching: "//o:back-matter/o:resource/o:title", namespaces: Self.ns).count >= 4)
  }

  @Test func aBrokenDocumentIsRejected() throws {
    let doc = OSCALAssessmentResults.build(try Self.quarter(), trend: nil)
    let schema = try XMLSchema(contentsOfFile: Self.schemaPath)
    try schema.validate(doc)
    try #require(try doc.firstNode(matching: "/o:assessment-results/o:metadata", namespaces: Self.ns)).remove()
    #expect { try schema.validate(doc) } throws: { "\($0)".contains("import-ap") || "\($0)".contains("metadata") }
    let broken = OSCALAssessmentResults.build(try Self.quarter(), trend: nil)
    try #require(try broken.firstNode(matching: "//o:finding/o:target/o:status", namespaces: Self.ns)).setAttribute(
      "state", "not satisfied")
    #expect(throws: XMLError.self) { try schema.validate(broken) }
  }
}
