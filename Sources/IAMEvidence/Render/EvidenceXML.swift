import XMLTree

/// `evidence.xml`: the canonical, machine-readable evidence (namespace `urn:iam-evidence:evidence:1`,
/// schema `Templates/evidence.xsd`). Built with libxml2's tree API, except the results of the
/// population and the findings, which libxml2 writes as the document is serialized
/// (``XMLDocument/writeXML(indented:streaming:to:)``: the same bytes as the whole tree, ``build(_:)``,
/// without holding 300,000 results as a tree and as bytes). The bytes are validated against the
/// schema as they are written (``XMLStreamValidator``): an invalid document is a bug, and a report
/// whose evidence.xml is not valid is never put in place.
public enum EvidenceXML {
  public static let namespace = "urn:iam-evidence:evidence:1"

  /// Builds and validates the document; returns its bytes.
  public static func render(_ model: EvidenceModel, templates: TemplateSet) throws -> [UInt8] {
    let validator = XMLStreamValidator(schema: try XMLSchema(contentsOfFile: templates.evidenceXSD.path), url: "evidence.xml")
    var bytes: [UInt8] = []
    try write(model) { piece in
      bytes.append(contentsOf: piece)
      try validator.feed(piece)
    }
    try validator.finish()
    return bytes
  }

  /// Writes the document (not validated) to `output`, a few KB at a time: the bytes of
  /// `build(model).xmlBytes(indented: true)`.
  public static func write(_ model: EvidenceModel, to output: XMLOutput) throws {
    let (doc, population, findings) = skeleton(model)
    var streams: [XMLStreamedContent] = []
    let results = model.results
    if !results.isEmpty {
      streams.append(XMLStreamedContent(parent: population) { w in try each(results, w) { result($0, into: w) } })
    }
    let found = model.findings
    if !found.isEmpty {
      streams.append(XMLStreamedContent(parent: findings) { w in try each(found, w) { finding($0, into: w) } })
    }
    try doc.writeXML(indented: true, streaming: streams, to: output)
  }

  /// Runs `body` on each of `results`, stopping at the writer's first error.
  private static func each(_ results: [CheckResult], _ w: XMLStreamWriter, _ body: (CheckResult) -> Void) throws {
    // Through the buffer: each result is lent to `body`, not copied (a copy retains each of its
    // strings, hundreds of thousands of times).
    try results.withUnsafeBufferPointer { buffer in
      for i in buffer.indices {
        body(buffer[i])
        if i % 256 == 255 { try w.check() }
      }
    }
  }

  /// Builds the whole document as a tree (not validated).
  public static func build(_ model: EvidenceModel) -> XMLDocument {
    let (doc, population, findings) = skeleton(model)
    let results = XMLTreeWriter(into: population)
    for r in model.results { result(r, into: results) }
    let details = XMLTreeWriter(into: findings)
    for r in model.findings { finding(r, into: details) }
    return doc
  }

  /// The document without the results of its population and findings (``result(_:into:)``,
  /// ``finding(_:into:)``), and those two elements.
  static func skeleton(_ model: EvidenceModel) -> (XMLDocument, population: XMLElement, findings: XMLElement) {
    let doc = XMLDocument(rootElement: "evidence", namespaceURI: namespace)
    let root = doc.rootElement!
    root.setAttribute("schemaVersion", "1")
    root.setAttribute("documentId", model.documentID)
    root.setAttribute("evidenceDigest", model.evidenceDigest)

    let tool = root.addChild("tool")
    tool.setAttribute("name", model.toolName)
    tool.setAttribute("version", model.toolVersion)
    tool.setAttribute("sqliteVersion", model.sqliteVersion)
    tool.setAttribute("libxml2Version", libxml2Version)
    tool.setAttribute("sourceSha256", model.toolBuild.sourceSHA256)
    root.addChild("generatedAt").addText(model.generatedAt.description)

    let scope = root.addChild("scope")
    scope.setAttribute("account", model.account)
    if let f = model.periodFrom { scope.setAttribute("periodFrom", f.description) }
    if let t = model.periodTo { scope.setAttribute("periodTo", t.description) }
    if let head = model.ledger.latest {
      scope.setAttribute("chain", head.head)
      scope.setAttribute("chainEntry", String(head.entry))
    }
    func snapshotEntry(_ e: XMLElement, _ s: SnapshotRecord, _ flag: (name: String, value: Bool)) {
      if let p = model.provenance[s.id] { provenance(e.addChild("provenance"), p) }
      e.setAttribute("id", String(s.id))
      e.setAttribute(flag.name, String(flag.value))
      e.setAttribute("capturedAt", s.capturedAt.description)
      e.setAttribute("capturedAtSource", s.capturedAtSource.rawValue)
      e.setAttribute("ingestedAt", s.ingestedAt.description)
      e.setAttribute("source", s.sourceName)
      e.setAttribute("byteSize", String(s.byteSize))
      e.setAttribute("sha256", s.sha256)
      e.setAttribute("encoding", s.encoding)
      e.setAttribute("truncated", String(s.isTruncated))
      if let label = s.label { e.setAttribute("label", label) }
      if let head = model.ledger.snapshots[s.id] {
        e.setAttribute("chain", head.head)
        e.setAttribute("chainEntry", String(head.entry))
      }
    }
    for s in model.snapshots {
      let e = scope.addChild("snapshot")
      snapshotEntry(e, s, ("current", s.id == model.current.id))
    }
    if let s = model.periodStart {
      let e = scope.addChild("periodStart")
      snapshotEntry(e, s, ("assessed", !model.periodStartCounts.isEmpty))
    }

    limitations(root.addChild("limitations"), model.scopeStatement)

    let control = root.addChild("control")
    if let primary = model.controls.first {
      describe(control, primary)
      for related in model.controls.dropFirst() { describe(control.addChild("related"), related) }
    }
    control.setAttribute("framework", ControlCatalog.bundled.framework)
    control.setAttribute("verdict", model.verdict.rawValue)
    control.setAttribute("primaryCheck", model.foundingCheck?.id ?? "")

    // Every control that is the primary control of some check, with its verdict and what it rests on.
    let verdicts = root.addChild("verdicts")
    verdicts.setAttribute("snapshot", String(model.current.id))
    for a in model.controlVerdicts {
      let e = verdicts.addChild("controlVerdict")
      e.setAttribute("control", a.control.id)
      e.setAttribute("title", a.control.title)
      e.setAttribute("verdict", a.verdict.rawValue)
      for c in a.checks {
        let ce = e.addChild("primaryCheck")
        ce.setAttribute("id", c.id)
        ce.setAttribute("founding", String(c.id == a.foundingCheck))
        for status in ResultStatus.allCases { ce.setAttribute(status.rawValue, String(c.counts[status])) }
      }
    }

    periodVerdicts(root, model)

    let assessment = root.addChild("assessment")
    assessment.setAttribute("assessedAt", (model.assessment?.assessedAt ?? model.generatedAt).description)
    assessment.setAttribute("toolVersion", model.assessment?.toolVersion ?? model.toolVersion)
    // No register applied: say so, rather than give the SHA-256 of empty input.
    if let a = model.assessment, !a.exceptionsContent.isEmpty {
      assessment.setAttribute("exceptionsRegister", "applied")
      assessment.setAttribute("exceptionsSha256", a.exceptionsSHA256)
      if let source = a.exceptionsSource { assessment.setAttribute("exceptionsSource", source) }
    } else {
      assessment.setAttribute("exceptionsRegister", "none")
    }

    if let catalog = model.actionCatalog {
      let e = root.addChild("actionCatalog")
      e.setAttribute("source", catalog.source.source)
      e.setAttribute("sourceVersion", catalog.source.version)
      e.setAttribute("date", catalog.source.date)
      e.setAttribute("licence", catalog.source.licence)
      if let sha = catalog.source.sha256 { e.setAttribute("sourceSha256", sha) }
      e.setAttribute("services", String(catalog.services))
      e.setAttribute("actions", String(catalog.actions))
      e.addText(catalog.description)
    }

    let checks = root.addChild("checks")
    for c in model.checks {
      let e = checks.addChild("check")
      e.setAttribute("id", c.id)
      e.setAttribute("version", String(c.version))
      e.setAttribute("primary", String(c.isPrimary))
      e.addChild("title").addText(c.title)
      for id in c.controls { e.addChild("controlRef").setAttribute("id", id) }
      e.addChild("population").addText(c.population)
      e.addChild("rationale").addText(c.rationale)
      e.addChild("remediation").addText(c.remediation)
      let m = e.addChild("methodology")
      for rule in c.methodology { m.addChild("rule").addText(rule) }
      if let target = c.target {
        let t = e.addChild("target")
        if let n = model.actionCatalog?.targetSizes[c.id] { t.setAttribute("actions", String(n)) }
        t.addText(target.description)
      }
      for r in c.references {
        let ref = e.addChild("reference")
        ref.setAttribute("framework", r.framework)
        ref.setAttribute("id", r.id)
      }
    }

    let summary = root.addChild("summary")
    for c in model.checks {
      let counts = model.counts(of: c.id)
      let e = summary.addChild("checkSummary")
      e.setAttribute("check", c.id)
      for status in ResultStatus.allCases { e.setAttribute(status.rawValue, String(counts[status])) }
      e.setAttribute("total", String(counts.total))
    }

    let population = root.addChild("population")
    population.setAttribute("count", String(model.results.count))
    let findings = root.addChild("findings")
    findings.setAttribute("count", String(model.findings.count))

    periodFindings(root, model)

    let exceptions = root.addChild("exceptions")
    for use in model.exceptions {
      let x = use.exception
      let e = exceptions.addChild("exception")
      e.setAttribute("id", x.id)
      e.setAttribute("check", x.check)
      if let p = x.principal { e.setAttribute("principal", p) }
      if let p = x.policy { e.setAttribute("policy", p) }
      e.setAttribute("approvedBy", x.approvedBy)
      e.setAttribute("approvedOn", x.approvedOn.dateString)
      e.setAttribute("expiresOn", x.expiresOnDate)
      e.setAttribute("daysLeft", String(use.daysLeft))
      e.setAttribute("applied", String(use.appliedTo))
      e.setAttribute("expiredMatches", String(use.expiredMatches))
      e.setAttribute("notYetApprovedMatches", String(use.notYetApprovedMatches))
      e.setAttribute("stale", String(use.isStale))
      // Only an exception for everything is marked: it excepts every failure of every check.
      if use.isScopeAll { e.setAttribute("scopeAll", "true") }
      if let accounts = x.accounts { e.setAttribute("accounts", accounts.joined(separator: " ")) }
      if let t = x.ticket { e.setAttribute("ticket", t) }
      e.addChild("justification").addText(x.justification)
      if let c = x.compensatingControl { e.addChild("compensatingControl").addText(c) }
    }

    privilegedAccess(root.addChild("privilegedAccess"), model)
    reviews(root.addChild("reviews"), model)

    let history = root.addChild("history")
    for row in model.history {
      let e = history.addChild("row")
      e.setAttribute("snapshot", String(row.snapshotID))
      e.setAttribute("capturedAt", row.capturedAt.description)
      e.setAttribute("check", row.checkID)
      for status in ResultStatus.allCases { e.setAttribute(status.rawValue, String(row.counts[status])) }
      e.setAttribute("assessed", String(row.assessed))
      if let v = row.checkVersion { e.setAttribute("version", String(v)) }
    }
    for c in model.versionChanges {
      let e = history.addChild("versionChange")
      e.setAttribute("snapshot", String(c.snapshotID))
      e.setAttribute("check", c.checkID)
      if let f = c.fromVersion { e.setAttribute("fromVersion", String(f)) }
      if let t = c.toVersion { e.setAttribute("toVersion", String(t)) }
    }
    for s in model.snapshots {
      for a in model.controlVerdicts(snapshotID: s.id) ?? [] {
        let e = history.addChild("verdict")
        e.setAttribute("snapshot", String(s.id))
        e.setAttribute("capturedAt", s.capturedAt.description)
        e.setAttribute("control", a.control.id)
        e.setAttribute("verdict", a.verdict.rawValue)
      }
    }
    for c in model.privilegedCounts {
      let e = history.addChild("privilegedCount")
      e.setAttribute("snapshot", String(c.snapshotID))
      e.setAttribute("capturedAt", c.capturedAt.description)
      e.setAttribute("count", String(c.count))
      e.setAttribute("assessed", String(c.assessed))
    }
    return (doc, population, findings)
  }

  /// One result of the population.
  static func result(_ r: CheckResult, into w: some XMLContentWriter) {
    w.startElement("result")
    w.attribute("check", r.checkID)
    w.attribute("status", r.status.rawValue)
    w.attribute("key", r.findingKey)
    if let x = r.exception { w.attribute("exception", x.id) }
    subject(r, into: w)
    w.endElement()
  }

  /// One finding, with its detail.
  static func finding(_ r: CheckResult, into w: some XMLContentWriter) {
    w.startElement("finding")
    w.attribute("check", r.checkID)
    w.attribute("status", r.status.rawValue)
    w.attribute("key", r.findingKey)
    subject(r, into: w)
    w.textElement("why", r.why)
    for reason in r.reasons { w.textElement("reason", reason) }
    for (index, statement) in zip(r.statements, r.offendingStatements) {
      w.startElement("statement")
      w.attribute("index", String(index))
      w.text(JSONWriter.pretty(statement))
      w.endElement()
    }
    for n in r.notes {
      w.startElement("note")
      w.attribute("code", n.code)
      if !n.statements.isEmpty { w.attribute("statements", n.statements.map(String.init).joined(separator: " ")) }
      w.textElement("message", n.message)
      if let detail = n.detail { w.textElement("detail", detail) }
      w.endElement()
    }
    if let x = r.exception {
      w.emptyElement("exception", ["id": x.id, "approvedBy": x.approvedBy, "expiresOn": x.expiresOn])
    }
    for c in r.coveringExceptions {
      w.emptyElement(
        "coveringException",
        ["id": c.exception.id, "approvedBy": c.exception.approvedBy, "expiresOn": c.exception.expiresOn, "source": c.source.label])
    }
    for (name, list) in [("attachedTo", r.attachedTo), ("inheritedBy", r.inheritedBy), ("boundaryOf", r.boundaryOf)] {
      for p in list {
        w.startElement(name)
        principal(p, into: w)
        w.endElement()
      }
    }
    for s in r.sources {
      w.emptyElement("source", ["kind": s.kind, "policyName": s.policyName, "policyArn": s.policyARN, "viaGroup": s.viaGroup])
    }
    if !r.remediation.isEmpty {
      w.startElement("remediation")
      for step in r.remediation { w.textElement("step", step) }
      w.endElement()
    }
    w.endElement()
  }

  /// Who took and loaded a snapshot (``SnapshotProvenance``).
  private static func provenance(_ e: XMLElement, _ p: SnapshotProvenance) {
    if let c = p.callerIdentity {
      let x = e.addChild("callerIdentity")
      x.setAttribute("arn", c.arn)
      x.setAttribute("account", c.account)
      x.setAttribute("userId", c.userID)
      x.setAttribute("source", c.source)
      x.setAttribute("sha256", c.sha256)
    }
    if let name = p.operatorName { e.setAttribute("operator", name) }
    e.setAttribute("host", p.host)
    e.setAttribute("osUser", p.osUser)
    e.setAttribute("toolName", p.build.name)
    e.setAttribute("toolVersion", p.build.version)
    e.setAttribute("toolSourceSha256", p.build.sourceSHA256)
  }

  /// Scope and limitations (``ScopeStatement``).
  private static func limitations(_ e: XMLElement, _ scope: ScopeStatement) {
    for a in scope.accounts { e.addChild("account").addText(a) }
    e.addChild("examined").addText(ScopeStatement.examined)
    for item in ScopeStatement.notExamined { e.addChild("notExamined").addText(item) }
    if let catalog = scope.actionCatalog { e.addChild("actionCatalog").addText(catalog) }
    let build = e.addChild("toolBuild")
    build.setAttribute("name", scope.toolBuild.name)
    build.setAttribute("version", scope.toolBuild.version)
    build.setAttribute("sourceSha256", scope.toolBuild.sourceSHA256)
    e.addChild("reliance").addText(ScopeStatement.reliance)
  }

  /// The verdict of each control over the period and the snapshot verdicts it rests on (evidence of a
  /// period only).
  private static func periodVerdicts(_ root: XMLElement, _ model: EvidenceModel) {
    let verdicts = model.periodVerdicts
    guard let from = model.periodFrom, let to = model.periodTo, !verdicts.isEmpty else { return }
    let e = root.addChild("periodVerdicts")
    e.setAttribute("from", from.description)
    e.setAttribute("to", to.description)
    e.setAttribute("startCovered", String(model.periodStartCovered))
    for a in verdicts {
      let c = e.addChild("controlVerdict")
      c.setAttribute("control", a.control.id)
      c.setAttribute("title", a.control.title)
      c.setAttribute("verdict", a.verdict.rawValue)
      c.addChild("explanation").addText(a.explanation)
      for v in a.snapshots {
        let sv = c.addChild("snapshotVerdict")
        sv.setAttribute("snapshot", String(v.snapshot.id))
        sv.setAttribute("capturedAt", v.snapshot.capturedAt.description)
        sv.setAttribute("verdict", v.verdict?.rawValue ?? "not-assessed")
        sv.setAttribute("periodStart", String(v.isPeriodStart))
      }
    }
  }

  /// Every finding seen in the period with its sightings and its state at the period's end
  /// (evidence of a period only).
  private static func periodFindings(_ root: XMLElement, _ model: EvidenceModel) {
    guard model.isPeriod else { return }
    let e = root.addChild("periodFindings")
    e.setAttribute("count", String(model.periodFindings.count))
    for f in model.periodFindings {
      let x = e.addChild("finding")
      x.setAttribute("check", f.checkID)
      x.setAttribute("identity", f.identity)
      x.setAttribute("key", f.result.findingKey)
      x.setAttribute("state", f.state.rawValue)
      x.setAttribute("lastStatus", f.result.status.rawValue)
      x.setAttribute("firstSeen", f.lifetime.firstSeen.description)
      x.setAttribute("firstSnapshot", String(f.lifetime.firstSnapshotID))
      x.setAttribute("lastSeen", f.lifetime.lastSeen.description)
      x.setAttribute("lastSnapshot", String(f.lifetime.lastSnapshotID))
      if let t = f.lifetime.resolvedAt, f.state == .resolved { x.setAttribute("resolvedAt", t.description) }
      if let t = f.lifetime.endedByVersionChange, f.state == .endedByVersionChange { x.setAttribute("endedByVersionChange", t.description) }
      x.setAttribute("daysOpen", String(max(0, f.lifetime.daysOpen)))
      if let ex = f.result.exception { x.setAttribute("exception", ex.id) }
      subject(x, f.result)
      x.addChild("why").addText(f.result.why)
    }
  }

  /// The current snapshot's privileged-access register.
  private static func privilegedAccess(_ register: XMLElement, _ model: EvidenceModel) {
    register.setAttribute("snapshot", String(model.current.id))
    register.setAttribute("count", String(model.privileged.count))
    for entry in model.privileged {
      let e = register.addChild("principal")
      principal(e, entry.principal)
      e.setAttribute("capabilities", entry.capabilities.joined(separator: " "))
      e.setAttribute("privilegedSince", entry.privilegedSince.description)
      for held in entry.held {
        let c = e.addChild("capability")
        c.setAttribute("code", held.code)
        c.setAttribute("check", held.checkID)
        c.setAttribute("checkVersion", String(held.checkVersion))
        c.setAttribute("status", held.status.rawValue)
        for m in held.methods { c.addChild("method").setAttribute("id", m) }
        for s in held.sources {
          let src = c.addChild("source")
          src.setAttribute("kind", s.source.kind)
          src.setAttribute("policyName", s.source.policyName)
          if let arn = s.source.policyARN { src.setAttribute("policyArn", arn) }
          if let g = s.source.viaGroup { src.setAttribute("viaGroup", g) }
          if let m = s.method { src.setAttribute("method", m) }
        }
        if let x = held.exception {
          let ex = c.addChild("exception")
          ex.setAttribute("id", x.id)
          ex.setAttribute("approvedBy", x.approvedBy)
          ex.setAttribute("expiresOn", x.expiresOn)
        }
      }
      if let used = entry.lastUsed {
        let u = e.addChild("lastUsed")
        u.setAttribute("used", String(used.date != nil))
        if let d = used.date { u.setAttribute("date", d.description) }
        if let r = used.region { u.setAttribute("region", r) }
      }
    }
  }

  /// The access reviews of the period's snapshots, every answered item and the follow-ups.
  private static func reviews(_ e: XMLElement, _ model: EvidenceModel) {
    e.setAttribute("currentSnapshot", String(model.current.id))
    e.setAttribute("currentReviewed", String(model.currentReview != nil))
    e.setAttribute("count", String(model.reviews.count))
    for r in model.reviews {
      let x = e.addChild("review")
      let review = r.review
      x.setAttribute("id", String(review.id))
      x.setAttribute("snapshot", String(r.snapshot.id))
      x.setAttribute("capturedAt", r.snapshot.capturedAt.description)
      x.setAttribute("sheetSha256", review.sheetSHA256)
      x.setAttribute("source", review.sourceName)
      x.setAttribute("importedAt", review.importedAt.description)
      x.setAttribute("firstReviewedOn", review.firstReviewedOn)
      x.setAttribute("lastReviewedOn", review.lastReviewedOn)
      for d in ReviewDecision.allCases { x.setAttribute(d.rawValue, String(review.count(d))) }
      if let f = review.signerFingerprint { x.setAttribute("signerFingerprint", f) }
      if let s = review.signature { x.setAttribute("signature", s) }
      if review.isNothingToReview { x.setAttribute("nothingToReview", "true") }
      for name in review.reviewers { x.addChild("reviewer").setAttribute("name", name) }
      for row in review.rows {
        let i = x.addChild("item")
        i.setAttribute("row", row.rowID)
        i.setAttribute("kind", row.kind.rawValue)
        i.setAttribute("subject", row.subject)
        if let p = row.principal {
          i.setAttribute("principalType", p.type.rawValue)
          i.setAttribute("principalName", p.name)
          i.setAttribute("principalId", p.id)
        }
        i.setAttribute("decision", row.decision.rawValue)
        i.setAttribute("reviewer", row.reviewer)
        i.setAttribute("reviewedOn", row.reviewedOn)
        if !row.comment.isEmpty { i.setAttribute("comment", row.comment) }
        if !row.ticket.isEmpty { i.setAttribute("ticket", row.ticket) }
      }
      for f in r.followUps {
        let u = x.addChild("followUp")
        u.setAttribute("row", f.row.rowID)
        u.setAttribute("state", f.state.rawValue)
        if let n = f.nextSnapshotID { u.setAttribute("nextSnapshot", String(n)) }
        if let t = f.nextCapturedAt { u.setAttribute("nextCapturedAt", t.description) }
      }
    }
  }

  private static func describe(_ e: XMLElement, _ c: Control) {
    e.setAttribute("id", c.id)
    e.setAttribute("title", c.title)
    e.addChild("description").addText(c.description)
    for x in c.crosswalk2013 {
      let w = e.addChild("crosswalk2013")
      w.setAttribute("id", x.id)
      w.setAttribute("title", x.title)
    }
  }

  /// Writes a principal reference (shared with ``DriftXML``).
  static func principal(_ e: XMLElement, _ p: PrincipalRef) {
    principal(p, into: XMLTreeWriter(into: e))
  }

  /// Writes a result's principal and policy references (shared with ``DriftXML``).
  static func subject(_ e: XMLElement, _ r: CheckResult) {
    subject(r, into: XMLTreeWriter(into: e))
  }

  /// The attributes of a principal reference, on the element just opened.
  static func principal(_ p: PrincipalRef, into w: some XMLContentWriter) {
    w.attribute("type", p.type.rawValue)
    w.attribute("name", p.name)
    w.attribute("arn", p.arn)
    if !p.id.isEmpty { w.attribute("id", p.id) }
  }

  /// A result's principal and policy references.
  static func subject(_ r: CheckResult, into w: some XMLContentWriter) {
    if let p = r.principal {
      w.startElement("principal")
      principal(p, into: w)
      w.endElement()
    }
    if let p = r.policy {
      w.emptyElement(
        "policy",
        [
          "kind": p.kind.rawValue, "name": p.name, "arn": p.arn, "version": p.versionID,
          "documentSha256": p.documentSHA256.isEmpty ? nil : p.documentSHA256,
        ])
    }
  }
}
