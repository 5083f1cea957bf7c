import XMLTree

/// `evidence.xml` of an organisation: the root `organisationEvidence` (schema `Templates/evidence.xsd`)
/// with the coverage, the organisation's verdicts and scope, and one `evidence` element per account
/// with evidence: that account's `evidence.xml` as ``EvidenceXML`` writes it, its skeleton copied
/// and its population and findings streamed while the document is written (never 200 accounts'
/// results as one tree).
enum OrganisationEvidenceXML {
  /// Writes the document (not validated) to `output`, a few KB at a time.
  static func write(_ org: OrganisationEvidence, to output: XMLOutput) throws {
    let doc = XMLDocument(rootElement: "organisationEvidence", namespaceURI: EvidenceXML.namespace)
    let root = doc.rootElement!
    root.setAttribute("schemaVersion", "1")
    root.setAttribute("documentId", org.documentID)
    root.setAttribute("evidenceDigest", org.evidenceDigest)
    let tool = root.addChild("tool")
    tool.setAttribute("name", org.toolBuild.name)
    tool.setAttribute("version", org.toolBuild.version)
    tool.setAttribute("sqliteVersion", org.accounts.first?.model.sqliteVersion ?? EvidenceStore.sqliteVersion)
    tool.setAttribute("libxml2Version", libxml2Version)
    tool.setAttribute("sourceSha256", org.toolBuild.sourceSHA256)
    root.addChild("generatedAt").addText(org.generatedAt.description)

    let c = org.coverage
    let o = root.addChild("organisation")
    if let f = org.periodFrom { o.setAttribute("periodFrom", f.description) }
    if let t = org.periodTo { o.setAttribute("periodTo", t.description) }
    o.setAttribute("cadenceDays", String(c.cadenceDays))
    if let s = c.scope { o.setAttribute("scopeFile", s.source) }
    o.setAttribute("accountsInScope", String(c.inScope.count))
    o.setAttribute("accountsWithEvidence", String(org.accounts.count))
    o.setAttribute("coverageGaps", String(c.coverageGaps.count))
    o.setAttribute("outOfScope", String(c.outOfScope.count))

    let scope = org.scopeStatement
    let l = root.addChild("limitations")
    for a in scope.accounts { l.addChild("account").addText(a) }
    l.addChild("examined").addText(ScopeStatement.examined)
    for item in ScopeStatement.notExamined { l.addChild("notExamined").addText(item) }
    if let catalog = scope.actionCatalog { l.addChild("actionCatalog").addText(catalog) }
    let build = l.addChild("toolBuild")
    build.setAttribute("name", scope.toolBuild.name)
    build.setAttribute("version", scope.toolBuild.version)
    build.setAttribute("sourceSha256", scope.toolBuild.sourceSHA256)
    l.addChild("reliance").addText(ScopeStatement.reliance)

    let period = org.periodVerdicts
    let verdicts = root.addChild("organisationVerdicts")
    for (i, v) in c.organisation.enumerated() {
      let e = verdicts.addChild("controlVerdict")
      e.setAttribute("control", v.control.id)
      e.setAttribute("title", v.control.title)
      e.setAttribute("verdict", v.verdict.rawValue)
      if let p = period?[i] { e.setAttribute("periodVerdict", p.verdict.rawValue) }
      for row in c.inScope {
        let a = e.addChild("account")
        a.setAttribute("id", row.account)
        a.setAttribute("verdict", (row.verdict(of: v.control.id) ?? .noEvidence).rawValue)
        if let p = period?[i] {
          let pv = p.accounts.first { $0.value.contains(row.account) }?.key ?? .noEvidence
          a.setAttribute("periodVerdict", pv.rawValue)
        }
      }
    }

    let withEvidence = Set(org.accounts.map(\.account))
    let coverage = root.addChild("coverage")
    for row in c.rows {
      let e = coverage.addChild("account")
      for v in row.verdicts {
        let x = e.addChild("verdict")
        x.setAttribute("control", v.control.id)
        x.setAttribute("verdict", v.verdict.rawValue)
      }
      for g in row.gaps {
        let x = e.addChild("gap")
        x.setAttribute("from", g.from.description)
        x.setAttribute("to", g.to.description)
        x.setAttribute("days", String(g.days))
      }
      e.setAttribute("id", row.account)
      if let n = row.name { e.setAttribute("name", n) }
      if let n = row.owner { e.setAttribute("owner", n) }
      e.setAttribute("inScope", String(row.inScope))
      e.setAttribute("coverageGap", String(row.isCoverageGap))
      e.setAttribute("snapshotsInPeriod", String(row.snapshots.count))
      if let latest = row.latest {
        e.setAttribute("latestSnapshot", String(latest.id))
        e.setAttribute("latestCapturedAt", latest.capturedAt.description)
      }
      if let counts = row.counts {
        for status in [ResultStatus.fail, .error, .excepted, .pass] { e.setAttribute(status.rawValue, String(counts[status])) }
      }
      if let n = row.privilegedIdentities { e.setAttribute("privilegedIdentities", String(n)) }
      e.setAttribute("evidence", String(withEvidence.contains(row.account)))
    }

    // Each account's evidence: its skeleton copied, its population and findings streamed.
    var streams: [XMLStreamedContent] = []
    for a in org.accounts {
      let (one, population, findings) = EvidenceXML.skeleton(a.model)
      let source = one.rootElement!
      let children = source.children
      let copy = root.appendCopy(of: source)
      let copied = copy.children
      if let i = children.firstIndex(of: population), !a.model.results.isEmpty {
        let results = a.model.results
        streams.append(XMLStreamedContent(parent: copied[i]) { w in try each(results, w) { EvidenceXML.result($0, into: w) } })
      }
      let found = a.model.findings
      if let i = children.firstIndex(of: findings), !found.isEmpty {
        streams.append(XMLStreamedContent(parent: copied[i]) { w in try each(found, w) { EvidenceXML.finding($0, into: w) } })
      }
    }
    try doc.writeXML(indented: true, streaming: streams, to: output)
  }

  /// Runs `body` on each of `results`, stopping at the writer's first error.
  private static func each(_ results: [CheckResult], _ w: XMLStreamWriter, _ body: (CheckResult) -> Void) throws {
    for (i, r) in results.enumerated() {
      body(r)
      if i % 256 == 255 { try w.check() }
    }
  }
}
