import XMLTree

/// The OSCAL 1.0.6 assessment results of an organisation (`package --accounts`):
///
/// - `metadata` naming the organisation's period, document id and digest, the tool, and every
///   operator and access reviewer of the accounts' evidence as parties;
/// - the **organisation's result** first: an `inventory-item` per account selected (asset type
///   `aws-account`, in scope or not), one observation per account with the account as its subject
///   (its snapshots in the period, latest capture, verdicts, counts; a coverage gap says so), and one
///   control finding per control with the organisation's verdict (`satisfied` only when effective:
///   never while a coverage gap stands);
/// - then, for each account with evidence, **its results exactly as the one-account document has
///   them** (one per snapshot, and the period's own), each with the account as subject: an
///   `inventory-item` of the account, the `aws-account-id` prop, and the account as subject of the
///   snapshot's summary observation;
/// - the back matter of all of them (the methodology and an exceptions register once).
///
/// Each account's document is built, copied into the output and released in turn while the document
/// is written (``XMLDocument/writeXML(indented:streaming:to:)``), so 200 accounts' observations are
/// never one tree.
enum OrganisationOSCAL {
  typealias O = OSCALAssessmentResults

  /// The inventory item of an AWS account in the organisation's result, or in result `result` (each
  /// result defines its own: a UUID appears once in the document).
  static func accountUUID(_ id: String, in result: String? = nil) -> String {
    O.uuid(["inventory-item", "aws-account", id] + (result.map { [$0] } ?? []))
  }

  static func write(_ org: OrganisationEvidence, snapshotMembers: [Int: String] = [:], to output: XMLOutput) throws {
    let toolName = org.accounts.first?.model.toolName ?? org.toolBuild.name
    let toolVersion = org.accounts.first?.model.toolVersion ?? org.toolBuild.version
    let methodologyUUID = O.uuid("resource", "methodology", toolName, toolVersion)
    let doc = XMLDocument(rootElement: "assessment-results", namespaceURI: XMLNamespaces.oscal)
    let root = doc.rootElement!
    let bounds = [org.periodFrom?.description ?? "", org.periodTo?.description ?? ""]
    root.setAttribute("uuid", O.uuid(["assessment-results", "organisation"] + bounds + org.coverage.rows.map(\.account)))
    metadata(root.addChild("metadata"), org, toolName: toolName, toolVersion: toolVersion)
    let importAP = root.addChild("import-ap")
    importAP.setAttribute("href", "#" + methodologyUUID)
    O.markup(
      importAP.addChild("remarks"),
      [
        "No OSCAL assessment plan exists for this automated assessment. The reference points at the back-matter resource describing the methodology: the checks, the population each examines, and the rules applied."
      ])
    organisationResult(root.addChild("result"), org, toolName: toolName, toolVersion: toolVersion)
    let backMatter = root.addChild("back-matter")
    guard !org.accounts.isEmpty else {
      let m = backMatter.addChild("resource")
      m.setAttribute("uuid", methodologyUUID)
      m.addChild("title").addText("Assessment methodology of \(toolName) \(toolVersion)")
      O.markup(m.addChild("description"), ["No account in scope has a snapshot in the period: no check was run."])
      try doc.writeXML(indented: true, to: output)
      return
    }
    // The accounts' back matter, gathered while their results are written (each resource once).
    let held = XMLDocument(rootElement: "back-matter", namespaceURI: XMLNamespaces.oscal)
    var seen = Set<String>()
    // Each account's document is built (with the account as subject) on another thread one account
    // ahead, while the one before is written: the two take about as long.
    let accounts = org.accounts
    func build(_ i: Int) -> BackgroundJob<BuiltDocument>? {
      guard i < accounts.count else { return nil }
      return BackgroundJob {
        let a = accounts[i]
        let one = OSCALAssessmentResults.build(a.model, trend: a.trend, snapshotMembers: snapshotMembers)
        for child in one.rootElement!.children where child.name == "result" { addAccountSubject(child, a) }
        return BuiltDocument(one)
      }
    }
    let results = XMLStreamedContent(before: backMatter) { w in
      var next = build(0)
      for i in accounts.indices {
        let one = try next!.result().document
        next = build(i + 1)
        for child in one.rootElement!.children {
          switch child.name {
          case "result":
            w.copy(of: child)
          case "back-matter":
            for resource in child.children where seen.insert(resource.attribute("uuid") ?? "").inserted {
              held.rootElement!.appendCopy(of: resource)
            }
          default: break
          }
        }
        try w.check()
      }
    }
    let resources = XMLStreamedContent(parent: backMatter) { w in
      for resource in held.rootElement!.children { w.copy(of: resource) }
    }
    try doc.writeXML(indented: true, streaming: [results, resources], to: output)
  }

  /// A document built on another thread and handed over whole (only one thread uses it at a time).
  final class BuiltDocument: @unchecked Sendable {
    let document: XMLDocument
    init(_ document: XMLDocument) { self.document = document }
  }

  // MARK: Metadata

  static func metadata(_ m: XMLElement, _ org: OrganisationEvidence, toolName: String, toolVersion: String) {
    let ids = org.coverage.controls.map(\.id)
    let control = ControlCatalog.bundled.framework + (ids.isEmpty ? "" : " " + ids.joined(separator: ", "))
    m.addChild("title").addText(
      "\(control): AWS IAM assessment results for an organisation of \(org.coverage.inScope.count) accounts in scope, \(org.periodDescription)"
    )
    m.addChild("last-modified").addText(O.dateTime(org.generatedAt))
    m.addChild("version").addText(O.line(toolVersion))
    m.addChild("oscal-version").addText(O.oscalVersion)
    let documentID = m.addChild("document-id")
    documentID.setAttribute("scheme", O.documentIDScheme)
    documentID.addText(org.documentID)
    for a in org.coverage.inScope { O.prop(m, "aws-account-id", a.account, cls: "in-scope") }
    if let f = org.periodFrom { O.prop(m, "period-start", O.dateTime(f)) }
    if let t = org.periodTo { O.prop(m, "period-end", O.dateTime(t)) }
    if let s = org.coverage.scope { O.prop(m, "scope-file", s.source) }
    O.prop(m, "generator", "\(toolName) \(toolVersion)")
    O.prop(m, "generator-source-sha256", org.toolBuild.sourceSHA256)
    O.prop(m, "evidence-digest", org.evidenceDigest)
    let reviewers = Array(Set(org.accounts.flatMap { $0.model.reviews.flatMap(\.review.reviewers) })).sorted()
    O.people(
      m, toolName: toolName,
      toolRemarks: "Stands for the \(toolName) tool (version \(toolVersion)), which assessed the snapshots automatically.",
      reviewers: reviewers, operators: Array(Set(org.accounts.flatMap(\.model.operators))).sorted()
    ) { name in
      let accounts = org.accounts.filter { $0.model.operators.contains(name) }.map(\.account)
      return "Named with ingest --operator as who took and ingested snapshots of account(s) \(accounts.joined(separator: ", "))."
    }
    O.markup(m.addChild("remarks"), ["Scope and limitations."] + org.scopeStatement.lines)
  }

  // MARK: The organisation's result

  static func organisationResult(_ r: XMLElement, _ org: OrganisationEvidence, toolName: String, toolVersion: String) {
    let c = org.coverage
    let bounds = [org.periodFrom?.description ?? "", org.periodTo?.description ?? ""]
    r.setAttribute("uuid", O.uuid(["result", "organisation"] + bounds + c.rows.map(\.account)))
    r.addChild("title").addText("The organisation: coverage of the accounts in scope and the verdict per control")
    O.markup(
      r.addChild("description"),
      [
        "Every account selected, in scope or not, with its snapshots in the period (\(org.periodDescription)). An account in scope with no snapshot in the period is a coverage gap: no evidence on every control. The organisation's verdict on a control rolls up the accounts in scope only: not effective when any is, else no evidence when any has none, else error when any has incomplete evidence, else effective."
      ])
    r.addChild("start").addText(O.dateTime(org.periodFrom ?? org.generatedAt))
    r.addChild("end").addText(O.dateTime(org.periodTo.map { max($0, org.periodFrom ?? $0) } ?? org.generatedAt))
    O.prop(r, "organisation", "yes")
    O.prop(r, "accounts-in-scope", String(c.inScope.count))
    O.prop(r, "accounts-with-evidence", String(org.accounts.count))
    O.prop(r, "coverage-gaps", String(c.coverageGaps.count))
    O.prop(r, "accounts-out-of-scope", String(c.outOfScope.count))
    let toolKey = ["organisation"] + bounds
    let defs = r.addChild("local-definitions")
    for row in c.rows { accountItem(defs.addChild("inventory-item"), row) }
    let assets = defs.addChild("assessment-assets")
    let tool = assets.addChild("component")
    let toolID = O.uuid(["component", "tool", toolName] + toolKey)
    tool.setAttribute("uuid", toolID)
    tool.setAttribute("type", "software")
    tool.addChild("title").addText("\(toolName) \(toolVersion)")
    O.markup(
      tool.addChild("description"),
      ["Offline evaluator of AWS IAM authorization snapshots (get-account-authorization-details) against its check catalog."])
    O.prop(tool, "version", toolVersion, core: true)
    tool.addChild("status").setAttribute("state", "operational")
    let platform = assets.addChild("assessment-platform")
    platform.setAttribute("uuid", O.uuid(["assessment-platform", toolName] + toolKey))
    platform.addChild("title").addText(toolName)
    platform.addChild("uses-component").setAttribute("component-uuid", toolID)

    let rc = r.addChild("reviewed-controls")
    O.markup(
      rc.addChild("description"),
      ["Controls of \(ControlCatalog.bundled.framework) given a verdict: " + c.controls.map(\.id).joined(separator: ", ") + "."])
    let sel = rc.addChild("control-selection")
    for control in c.controls {
      O.prop(sel, "label", "\(ControlCatalog.bundled.framework) \(control.id)", cls: O.controlID(control.id), core: true)
    }
    for control in c.controls { sel.addChild("include-control").setAttribute("control-id", O.controlID(control.id)) }

    func origin(_ parent: XMLElement) {
      let actor = parent.addChild("origin").addChild("actor")
      actor.setAttribute("type", "tool")
      actor.setAttribute("actor-uuid", toolID)
    }
    var observations: [String: String] = [:]
    for row in c.rows {
      let o = r.addChild("observation")
      let uuid = O.uuid(["observation", "coverage", row.account] + bounds)
      observations[row.account] = uuid
      o.setAttribute("uuid", uuid)
      o.addChild("title").addText("Coverage of account \(row.label)")
      let latest = row.latest.map { "latest snapshot \($0.id), captured \($0.capturedAt.description)" } ?? "no snapshot"
      O.markup(
        o.addChild("description"),
        [
          (row.inScope ? "In scope" : "Out of scope (left out of the organisation's verdict)")
            + ": \(row.snapshots.count) snapshot(s) in the period, \(latest)."
            + (row.isCoverageGap ? " Coverage gap: no evidence on every control." : ""),
          "Verdicts: " + row.verdicts.map { "\($0.control.id) \($0.verdict.rawValue)" }.joined(separator: ", ") + ".",
        ]
          + (row.counts.map {
            ["Latest snapshot, every check: \($0.fail) fail, \($0.error) error, \($0.excepted) excepted, \($0.pass) pass."]
          } ?? []))
      O.prop(o, "in-scope", row.inScope ? "yes" : "no")
      O.prop(o, "coverage-gap", row.isCoverageGap ? "yes" : "no")
      O.prop(o, "snapshots-in-period", String(row.snapshots.count))
      for v in row.verdicts { O.prop(o, "verdict", v.verdict.rawValue, cls: O.controlID(v.control.id)) }
      for g in row.gaps { O.prop(o, "coverage-gap-period", "\(O.dateTime(g.from))/\(O.dateTime(g.to))", cls: "days-\(g.days)") }
      o.addChild("method").addText("EXAMINE")
      origin(o)
      let subject = o.addChild("subject")
      subject.setAttribute("subject-uuid", accountUUID(row.account))
      subject.setAttribute("type", "inventory-item")
      subject.addChild("title").addText("AWS account \(row.label)")
      o.addChild("collected").addText(O.dateTime(row.latest?.capturedAt ?? org.generatedAt))
    }
    let period = org.periodVerdicts
    for (i, v) in c.organisation.enumerated() {
      let f = r.addChild("finding")
      f.setAttribute("uuid", O.uuid(["finding", "organisation", v.control.id] + bounds + c.rows.map(\.account)))
      f.addChild("title").addText("\(ControlCatalog.bundled.framework) \(v.control.id) \(v.control.title): the organisation")
      var lines = [v.control.description]
      for verdict in [CoverageVerdict.notEffective, .noEvidence, .error, .effective] {
        let ids = v.accounts[verdict] ?? []
        if !ids.isEmpty { lines.append("\(verdict.rawValue): \(ids.joined(separator: ", ")).") }
      }
      lines.append("Organisation verdict: \(v.verdict.rawValue)." + (period.map { " Over the period: \($0[i].verdict.rawValue)." } ?? ""))
      O.markup(f.addChild("description"), lines)
      O.prop(f, "organisation-verdict", v.verdict.rawValue)
      if let p = period?[i] { O.prop(f, "organisation-period-verdict", p.verdict.rawValue) }
      for verdict in CoverageVerdict.allCases { O.prop(f, "accounts-\(verdict.rawValue)", String((v.accounts[verdict] ?? []).count)) }
      origin(f)
      let target = f.addChild("target")
      target.setAttribute("type", "statement-id")
      target.setAttribute("target-id", "\(O.controlID(v.control.id))_smt")
      target.addChild("title").addText("\(ControlCatalog.bundled.framework) \(v.control.id) \(v.control.title)")
      let status = target.addChild("status")
      status.setAttribute("state", v.verdict == .effective ? "satisfied" : "not-satisfied")
      status.setAttribute("reason", v.verdict == .effective ? "pass" : (v.verdict == .notEffective ? "fail" : "other"))
      if v.verdict == .noEvidence {
        O.markup(
          status.addChild("remarks"), ["An account in scope has no evidence (a coverage gap): the control cannot be shown to be satisfied."]
        )
      }
      for row in c.inScope {
        if let o = observations[row.account] { f.addChild("related-observation").setAttribute("observation-uuid", o) }
      }
    }
  }

  /// The inventory item of an AWS account.
  static func accountItem(_ i: XMLElement, _ row: AccountCoverageRow, uuid: String? = nil) {
    i.setAttribute("uuid", uuid ?? accountUUID(row.account))
    O.markup(
      i.addChild("description"),
      ["AWS account \(row.label)" + (row.owner.map { ", owned by \($0)" } ?? "") + (row.inScope ? ", in scope." : ", out of scope.")])
    O.prop(i, "asset-id", row.account, core: true)
    O.prop(i, "asset-type", "aws-account")
    O.prop(i, "aws-account-id", row.account)
    if let n = row.name { O.prop(i, "aws-account-name", n) }
    if let n = row.owner { O.prop(i, "account-owner", n) }
    O.prop(i, "in-scope", row.inScope ? "yes" : "no")
  }

  // MARK: An account's results

  /// Makes account `a` the subject of `result` (one of its one-account document's): its
  /// `aws-account-id` prop, an inventory item of the account, and the account as subject of the
  /// snapshot's summary observation.
  static func addAccountSubject(_ result: XMLElement, _ a: AccountEvidence) {
    let children = result.children
    let resultUUID = result.attribute("uuid") ?? ""
    // A finding over the period is named by its control and the period, the same in every account's
    // document: here it is qualified by the account, so that each UUID stays unique in the document.
    var periodFindings = Set<String>()
    if let from = a.model.periodFrom, let to = a.model.periodTo {
      for v in a.model.periodVerdicts {
        periodFindings.insert(O.uuid(["finding", "control", "period", v.control.id, from.description, to.description]))
      }
    }
    for f in children where f.name == "finding" {
      if let uuid = f.attribute("uuid"), periodFindings.contains(uuid) {
        f.setAttribute("uuid", O.uuid("finding", "account", a.account, uuid))
      }
    }
    // prop: after title, description, start and end.
    if let anchor = children.first(where: { !["title", "description", "start", "end"].contains($0.name) }) {
      let p = result.addChild("prop", before: anchor)
      p.setAttribute("name", "aws-account-id")
      p.setAttribute("ns", O.propertyNamespace)
      p.setAttribute("value", a.account)
    }
    if let defs = children.first(where: { $0.name == "local-definitions" }) {
      let items = defs.children
      let anchor = items.first { $0.name != "component" }
      let item = anchor.map { defs.addChild("inventory-item", before: $0) } ?? defs.addChild("inventory-item")
      accountItem(item, a.row, uuid: accountUUID(a.account, in: resultUUID))
    }
    // The summary observation of a snapshot's result (the period's result has none).
    let summaries = Set(a.model.snapshots.map { O.uuid("observation", "summary", $0.sha256) })
    if let summary = children.first(where: { $0.name == "observation" && summaries.contains($0.attribute("uuid") ?? "") }),
      let anchor = summary.children.first(where: { $0.name == "relevant-evidence" || $0.name == "collected" })
    {
      let subject = summary.addChild("subject", before: anchor)
      subject.setAttribute("subject-uuid", accountUUID(a.account, in: resultUUID))
      subject.setAttribute("type", "inventory-item")
      subject.addChild("title").addText("AWS account \(a.label)")
    }
  }

}
