import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// Issue 17, "defects in what the package says": every finding of the period (not only those of its
/// last snapshot), the verdict for the period, drift for each consecutive pair, and what report,
/// evidence.xml, OSCAL and README.txt say about them agreeing.
@Suite(.temporaryDirectories) struct PeriodEvidenceTests {
  static let templates = HTMLReportTests.templates
  static let generatedAt = Timestamp(parsing: "2024-07-02T09:00:00Z")!
  static let oscal = OSCALTests.ns
  static let evidenceNS = ["e": EvidenceXML.namespace]

  static func t(_ s: String) -> Timestamp { Timestamp(parsing: s)! }

  /// The demo account's three months (March, April, May 2024), ingested and assessed.
  static func demoStore() throws -> EvidenceStore {
    let (store, _) = try TestSupport.makeStore()
    for (url, capturedAt) in try DemoData.snapshots() {
      let source = IngestSource(name: "demo/" + url.lastPathComponent, bytes: try TestSupport.bytes(url), modificationTime: nil)
      _ = try store.workflow.ingestAndAssess(
        source, options: IngestOptions(capturedAt: capturedAt, label: "demo", now: TestSupport.fixedNow))
    }
    return store
  }

  /// The package of [from, to] of `store`, as its members by name.
  static func package(_ store: EvidenceStore, from: String, to: String) throws -> [String: [UInt8]] {
    let zip = try TestSupport.temporaryDirectory().appendingPathComponent("q.zip")
    _ = try store.workflow.package(
      PackageRequest(
        account: nil, from: t(from), to: t(to), register: nil, includeSnapshots: false, signingKey: nil, templates: templates,
        generatedAt: generatedAt, cadenceDays: 31),
      to: zip, now: { TestSupport.fixedNow })
    return Dictionary(uniqueKeysWithValues: try PackageSupport.zipMembers(zip).map { ($0.name, $0.bytes) })
  }

  static func text(_ bytes: [UInt8]?) -> String { String(decoding: bytes ?? [], as: UTF8.self) }

  // MARK: Defect 1: short-lived access

  /// carol.contractor exists only in April, with an inline `NotAction: iam:*` policy. The quarter's
  /// package must show her findings in every file, with their sightings and their state at the end,
  /// and drift must cover March → April and April → May.
  @Test func carolContractorIsInEveryFileOfTheQuarter() throws {
    let store = try Self.demoStore()
    let model = try store.workflow.evidence(
      scope: .period(from: Self.t("2024-03-01T00:00:00Z"), to: Self.t("2024-05-31T23:59:59Z")), account: nil,
      generatedAt: Self.generatedAt)
    let april = try #require(model.snapshots.first { $0.capturedAt.dateString == "2024-04-30" })
    let may = try #require(model.snapshots.last)
    #expect(!model.results.contains { $0.principal?.name == "carol.contractor" }, "she is gone by May")
    let carol = model.periodFindings.filter { $0.result.principal?.name == "carol.contractor" }
    #expect(
      Set(carol.map(\.checkID)) == [
        "kms-full-access-inline", "kms-decrypt-all-keys", "kms-key-destruction-all-keys", "kms-full-access-identity",
        "user-direct-policies", "privilege-escalation-policy", "privilege-escalation-identity",
      ])
    for f in carol {
      #expect(f.lifetime.firstSeen == april.capturedAt && f.lifetime.lastSeen == april.capturedAt, "\(f.identity)")
      #expect(f.lifetime.firstSnapshotID == april.id && f.lifetime.lastSnapshotID == april.id)
      #expect(f.state == .resolved && f.lifetime.resolvedAt == may.capturedAt)
      #expect(f.result.status == .fail && !f.result.why.isEmpty)
    }
    // Every finding still open at the end is one of the current snapshot's.
    let open = Set(model.findings.filter { $0.status == .fail || $0.status == .excepted }.map(\.findingIdentity))
    #expect(Set(model.periodFindings.filter { $0.state == .open || $0.state == .excepted }.map(\.identity)) == open)

    let files = try Self.package(store, from: "2024-03-01T00:00:00Z", to: "2024-05-31T23:59:59Z")
    // report.html: in the period's findings, with both sightings and the state.
    let html = try HTMLReportTests.parse(try #require(files["report.html"]))
    let rows = try html.nodes(
      matching: "//h:div[@id='period-findings']//h:tr[.//h:strong[.='carol.contractor']]", namespaces: HTMLReportTests.ns)
    #expect(rows.count == carol.count)
    for row in rows {
      #expect(row.textContent.contains("resolved") && row.textContent.contains("2024-04-30") && row.textContent.contains("by 2024-05-31"))
    }
    // evidence.xml (valid against the packaged schema when written).
    let evidence = try XMLDocument(bytes: try #require(files["evidence.xml"]))
    try XMLSchema(contentsOfFile: Self.templates.evidenceXSD.path).validate(evidence)
    let xmlFindings = try evidence.nodes(
      matching: "//e:periodFindings/e:finding[e:principal/@name='carol.contractor']", namespaces: Self.evidenceNS)
    #expect(xmlFindings.count == carol.count)
    for f in xmlFindings {
      #expect(f.attribute("state") == "resolved" && f.attribute("firstSnapshot") == String(april.id))
      #expect(f.attribute("lastSnapshot") == String(april.id) && f.attribute("resolvedAt") == may.capturedAt.description)
    }
    // OSCAL: the period's result has an observation, a closed risk and a finding for each.
    let oscal = try OSCALTests.validated(try #require(files["assessment-results.xml"]))
    for f in carol {
      let prop = "o:prop[@name='finding-identity'][@value='\(f.identity)']"
      let period = "/o:assessment-results/o:result[o:prop[@name='period']]"
      #expect(try oscal.nodes(matching: "\(period)/o:observation[\(prop)]", namespaces: Self.oscal).count == 1)
      #expect(try oscal.nodes(matching: "\(period)/o:risk[\(prop)][o:status='closed']", namespaces: Self.oscal).count == 1)
      #expect(try oscal.nodes(matching: "\(period)/o:finding[\(prop)]", namespaces: Self.oscal).count == 1)
    }
    // Drift: each consecutive pair, named in README.txt and the manifest.
    let readme = Self.text(files["README.txt"])
    let manifest = Self.text(files["MANIFEST.sha256"])
    for pair in ["drift/0001-0002", "drift/0002-0003"] {
      for ext in [".json", ".html"] {
        #expect(files[pair + ext] != nil, "\(pair)\(ext)")
        #expect(readme.contains("  \(pair)\(ext): "), "\(pair)\(ext)")
        #expect(manifest.contains("  \(pair)\(ext)\n"), "\(pair)\(ext)")
      }
    }
    let first = try JSONParser.parse(try #require(files["drift/0001-0002.json"]))
    let second = try JSONParser.parse(try #require(files["drift/0002-0003.json"]))
    func names(_ d: JSONValue, _ list: String) -> Set<String> {
      Set((d["findings"]?[list]?.arrayValue ?? []).compactMap { $0["principal_name"]?.stringValue })
    }
    #expect(names(first, "new").contains("carol.contractor"))
    #expect(names(second, "resolved").contains("carol.contractor"))
    // drift.json goes from the start of the period to its end: she came and went in between.
    let overall = try JSONParser.parse(try #require(files["drift.json"]))
    #expect(overall["from"]?.numberText == "1" && overall["to"]?.numberText == "3")
    #expect(!names(overall, "new").contains("carol.contractor") && !names(overall, "resolved").contains("carol.contractor"))
  }

  // MARK: Defect 2: verdicts for the period

  /// One user per month: January and March harmless, February with `kms:*` on `*` (A.8.2 and A.8.3
  /// not effective that month only).
  static func seriesStore() throws -> (EvidenceStore, [SnapshotRecord]) {
    let (store, _) = try TestSupport.makeStore()
    let plain = DriftFiles.User(name: "ops", id: "AIDAOPS000000000001")
    let risky = DriftFiles.User(name: "ops", id: "AIDAOPS000000000001", policies: [("kms-admin", DriftFiles.kmsStar)])
    let records = [
      try DriftFiles.ingest(store, DriftFiles.file(users: [plain]), name: "jan.json", capturedAt: "2024-01-31"),
      try DriftFiles.ingest(store, DriftFiles.file(users: [risky]), name: "feb.json", capturedAt: "2024-02-29"),
      try DriftFiles.ingest(store, DriftFiles.file(users: [plain]) + "\n", name: "mar.json", capturedAt: "2024-03-31"),
    ]
    return (store, records)
  }

  static func verdicts(_ m: EvidenceModel) -> [String: PeriodVerdict] {
    Dictionary(uniqueKeysWithValues: m.periodVerdicts.map { ($0.control.id, $0.verdict) })
  }

  @Test func theVerdictForThePeriodRestsOnEverySnapshotAndTheStateAtItsStart() throws {
    let (store, records) = try Self.seriesStore()
    func evidence(_ from: String, _ to: String) throws -> EvidenceModel {
      try store.workflow.evidence(scope: .period(from: Self.t(from), to: Self.t(to)), account: nil, generatedAt: Self.generatedAt)
    }
    // February to March: March is effective, February not: the period is not.
    let febMar = try evidence("2024-02-01", "2024-03-31T23:59:59Z")
    #expect(febMar.controlVerdicts.allSatisfy { $0.verdict == .effective }, "the current state is effective")
    // February's inline policy fails A.8.2 and A.8.3 (kms:*) and A.5.15 (a policy of the user's own).
    #expect(febMar.periodVerdicts.map(\.verdict) == [.notEffective, .notEffective, .notEffective])
    // The state at the start is January's, shown first.
    #expect(febMar.periodStart?.id == records[0].id)
    let a82 = try #require(febMar.periodVerdicts.first { $0.control.id == "A.8.2" })
    #expect(a82.snapshots.map(\.snapshot.id) == records.map(\.id))
    #expect(a82.snapshots.map(\.isPeriodStart) == [true, false, false])
    #expect(a82.snapshots.map(\.verdict) == [.effective, .notEffective, .effective])
    #expect(a82.explanation.contains("snapshot \(records[1].id) (2024-02-29)"))

    // March alone: effective itself, but the state at its start is February's.
    let march = try evidence("2024-03-01", "2024-03-31T23:59:59Z")
    #expect(march.snapshots.map(\.id) == [records[2].id] && march.periodStart?.id == records[1].id)
    #expect(Self.verdicts(march)["A.8.2"] == .notEffective)
    #expect(march.periodFindings.contains { $0.checkID == "kms-full-access-inline" && $0.state == .resolved })

    // January with nothing before it: no evidence from the 1st to the 31st...
    let january = try evidence("2024-01-01", "2024-01-31T23:59:59Z")
    #expect(january.periodStart == nil && !january.periodStartCovered)
    #expect(january.periodVerdicts.allSatisfy { $0.verdict == .noEvidence && !$0.startCovered })
    // ... but a period that starts when its first snapshot was captured is covered, and effective.
    let covered = try evidence("2024-01-31T00:00:00Z", "2024-01-31T23:59:59Z")
    #expect(covered.periodStartCovered && covered.periodVerdicts.allSatisfy { $0.verdict == .effective })

    // Report, evidence.xml and OSCAL say the same for each of these periods.
    for model in [febMar, march, january, covered] {
      try Self.expectTheSameVerdicts(model)
    }
  }

  /// The period verdicts of `model` as report.html, evidence.xml and OSCAL show them.
  static func expectTheSameVerdicts(_ model: EvidenceModel, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = model.periodVerdicts
    #expect(!expected.isEmpty, sourceLocation: sourceLocation)
    let html = try HTMLReportTests.parse(try HTMLReport.render(model, templates: templates))
    let footer = try html.nodes(
      matching: "//h:div[@id='period-verdicts']//h:table/h:tfoot/h:tr/h:td", namespaces: HTMLReportTests.ns)
    #expect(footer.map(\.textContent) == expected.map { HTMLReport.label($0.verdict) }, sourceLocation: sourceLocation)

    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: templates))
    let xmlVerdicts = try xml.nodes(matching: "//e:periodVerdicts/e:controlVerdict", namespaces: evidenceNS)
    #expect(xmlVerdicts.map { $0.attribute("verdict") ?? "" } == expected.map(\.verdict.rawValue), sourceLocation: sourceLocation)
    #expect(
      try xml.firstNode(matching: "//e:periodVerdicts", namespaces: evidenceNS)?.attribute("startCovered")
        == String(model.periodStartCovered), sourceLocation: sourceLocation)

    let doc = try OSCALTests.validated(OSCALAssessmentResults.render(model))
    for a in expected {
      let status = try doc.firstNode(
        matching:
          "/o:assessment-results/o:result[o:prop[@name='period']]/o:finding[o:prop[@name='period-verdict']]/o:target[@target-id='\(OSCALAssessmentResults.controlID(a.control.id))_smt']/o:status",
        namespaces: oscal)
      #expect(status?.attribute("state") == (a.verdict == .effective ? "satisfied" : "not-satisfied"), sourceLocation: sourceLocation)
    }
    try expectSatisfiedNeverBesideAnOpenRisk(doc, model: model, sourceLocation: sourceLocation)
  }

  /// In every result of `doc`, a control-level finding that is `satisfied` has no `open` risk of that
  /// control beside it: neither among its associated risks nor among the result's risks of the checks
  /// whose primary control it is.
  static func expectSatisfiedNeverBesideAnOpenRisk(
    _ doc: XMLDocument, model: EvidenceModel, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    var primary: [String: String] = [:]
    for c in model.checks { primary[c.id] = c.primaryControl.map(OSCALAssessmentResults.controlID) }
    for result in try doc.nodes(matching: "/o:assessment-results/o:result", namespaces: oscal) {
      var risks: [String: (status: String, check: String)] = [:]
      for risk in try result.nodes(matching: "o:risk", namespaces: oscal) {
        let check = try risk.firstNode(matching: "o:prop[@name='check-id']", namespaces: oscal)?.attribute("value") ?? ""
        risks[risk.attribute("uuid") ?? ""] = (try risk.firstNode(matching: "o:status", namespaces: oscal)?.textContent ?? "", check)
      }
      for finding in try result.nodes(matching: "o:finding[o:target[@type='statement-id']]", namespaces: oscal) {
        guard let target = try finding.firstNode(matching: "o:target", namespaces: oscal),
          try target.firstNode(matching: "o:status", namespaces: oscal)?.attribute("state") == "satisfied"
        else { continue }
        let control = String((target.attribute("target-id") ?? "").dropLast("_smt".count))
        for ref in try finding.nodes(matching: "o:associated-risk", namespaces: oscal) {
          #expect(risks[ref.attribute("risk-uuid") ?? ""]?.status != "open", "\(control)", sourceLocation: sourceLocation)
        }
        #expect(
          !risks.values.contains { $0.status == "open" && primary[$0.check] == control }, "\(control) satisfied beside an open risk",
          sourceLocation: sourceLocation)
      }
    }
  }

  /// The demo's second quarter: April and May in the period, March the state at its start. README.txt
  /// gives the verdict for the period and each snapshot's, as the other files do.
  @Test func theDemoQuarterGivesTheVerdictForThePeriodInEveryFile() throws {
    let store = try Self.demoStore()
    let model = try store.workflow.evidence(
      scope: .period(from: Self.t("2024-04-01"), to: Self.t("2024-06-30T23:59:59Z")), account: nil, generatedAt: Self.generatedAt)
    #expect(model.snapshots.count == 2 && model.periodStart?.capturedAt.dateString == "2024-03-31")
    #expect(model.periodVerdicts.map(\.verdict) == [.notEffective, .notEffective, .notEffective])
    try Self.expectTheSameVerdicts(model)
    // carol.contractor's April findings are findings of this quarter too.
    #expect(model.periodFindings.contains { $0.result.principal?.name == "carol.contractor" })

    let files = try Self.package(store, from: "2024-04-01", to: "2024-06-30T23:59:59Z")
    let readme = Self.text(files["README.txt"])
    #expect(readme.contains("Verdicts for the period 2024-04-01 to 2024-06-30"))
    for a in model.periodVerdicts {
      #expect(readme.contains("  \(a.control.id) \(a.control.title): \(a.verdict.rawValue). "))
    }
    // One line per snapshot with every control's verdict, the state at the start first.
    let first = try #require(model.periodVerdicts.first)
    for (i, v) in first.snapshots.enumerated() {
      let line =
        "  snapshot \(v.snapshot.id) of \(v.snapshot.capturedAt.dateString)"
        + (v.isPeriodStart ? " (before the period: the state at its start)" : "") + ": "
        + model.periodVerdicts.map { "\($0.control.id) \($0.snapshots[i].verdict?.rawValue ?? "not assessed")" }.joined(separator: ", ")
      #expect(readme.contains(line + "\n"), "\(line)")
    }
    #expect(readme.contains("  snapshot 1 of 2024-03-31 (before the period: the state at its start): A.8.2 not-effective, "))
    // The snapshot before the period is in the chain of custody and in the per-pair drift.
    #expect(files["drift/0001-0002.json"] != nil && files["drift/0002-0003.json"] != nil)
    let evidence = try XMLDocument(bytes: try #require(files["evidence.xml"]))
    #expect(try evidence.firstNode(matching: "//e:scope/e:periodStart", namespaces: Self.evidenceNS)?.attribute("id") == "1")
    let oscal = try OSCALTests.validated(try #require(files["assessment-results.xml"]))
    try Self.expectSatisfiedNeverBesideAnOpenRisk(oscal, model: model)
    #expect(
      try oscal.nodes(
        matching: "//o:back-matter/o:resource[o:prop[@name='role'][@value='period-start-state']]", namespaces: Self.oscal
      ).count == 1)
  }

  // MARK: Defects 6 and 7

  /// The demo's `ci-boundary` is attached to nothing and is ci-deployer's permissions boundary: its
  /// results say whom it bounds, and the population no longer calls it "not attached to any principal".
  @Test func aPermissionsBoundaryListsThePrincipalsItBounds() throws {
    let store = try Self.demoStore()
    let model = try store.workflow.evidence(scope: .snapshot("latest"), account: nil, generatedAt: Self.generatedAt)
    let results = model.results.filter { $0.policy?.name == "ci-boundary" }
    #expect(
      Set(results.map(\.checkID)) == [
        "kms-full-access-managed", "kms-decrypt-all-keys", "kms-key-destruction-all-keys", "admin-access-managed",
        "privilege-escalation-policy",
      ])
    for r in results {
      #expect(r.attachedTo.isEmpty && r.boundaryOf.map(\.name) == ["ci-deployer"], "\(r.checkID)")
      let note = try #require(r.notes.first { $0.code == "permissions-boundary" }, "\(r.checkID)")
      #expect(note.message.contains("The permissions boundary of user ci-deployer"))
    }
    let html = try HTMLReportTests.parse(try HTMLReport.render(model, templates: Self.templates))
    let cells = try html.nodes(
      matching: "//h:table[contains(@class,'population')]//h:tr[.//h:strong[.='ci-boundary']]/h:td[3]", namespaces: HTMLReportTests.ns)
    #expect(cells.count == results.count)
    #expect(cells.allSatisfy { $0.textContent == "permissions boundary of user ci-deployer" })
    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: Self.templates))
    #expect(
      try xml.nodes(
        matching: "//e:findings/e:finding[e:policy/@name='ci-boundary']/e:boundaryOf[@name='ci-deployer']", namespaces: Self.evidenceNS
      )
      .count == results.filter { $0.status != .pass }.count)
  }

  /// Without a register, the evidence says "no register" instead of giving the SHA-256 of empty
  /// input; `encoding mixed` is explained where it is shown.
  @Test func noRegisterAndTheEncodingAreSaidInWords() throws {
    let store = try Self.demoStore()
    let model = try store.workflow.evidence(
      scope: .period(from: Self.t("2024-03-31T23:59:59Z"), to: Self.t("2024-05-31T23:59:59Z")), account: nil, generatedAt: Self.generatedAt)
    #expect(model.assessment?.exceptionsContent.isEmpty == true)
    let emptySHA = ExceptionRegister.empty.sha256
    let html = Self.text(try HTMLReport.render(model, templates: Self.templates))
    #expect(!html.contains(emptySHA))
    #expect(html.contains("No register: assessment") && html.contains("no register: the assessment applied none"))
    #expect(html.contains("encoding mixed (policy documents in more than one of the encodings AWS tools write"))
    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: Self.templates))
    let assessment = try #require(try xml.firstNode(matching: "//e:assessment", namespaces: Self.evidenceNS))
    #expect(assessment.attribute("exceptionsRegister") == "none" && assessment.attribute("exceptionsSha256") == nil)
    #expect(!Self.text(OSCALAssessmentResults.render(model)).contains(emptySHA))
  }

  /// The OSCAL of the dev-series quarter, with and without an exception, never puts `satisfied` beside
  /// an open risk of the same control.
  @Test(arguments: [false, true]) func satisfiedIsNeverBesideAnOpenRisk(withExceptions: Bool) throws {
    let model = try OSCALTests.quarter(withExceptions: withExceptions)
    try Self.expectSatisfiedNeverBesideAnOpenRisk(OSCALTests.validated(OSCALAssessmentResults.render(model)), model: model)
  }
}
