import XMLTree

/// The report's parts about the document itself, kept apart from ``HTMLReport``'s sections: the
/// document id, the first printed page's verdicts and scope, the "Scope and limitations" section, who
/// took and loaded each snapshot (chain of custody), and the printed page's margin boxes.
enum ReportSections {
  /// `Document IAMEV-…`, under the title.
  static func documentID(_ slot: XMLElement, _ model: EvidenceModel) {
    slot.say("Document ")
    slot.add("strong", model.documentID, class: "document-id-value")
    slot.say(" · SHA-256 of the evidence it states ")
    slot.add("code", model.evidenceDigest, class: "hash")
  }

  /// The CSS rule that puts the document id and the page number into the margin of every printed
  /// page (CSS page-margin boxes; Chromium 131 and later print them). The id is `IAMEV-` and hex
  /// digits, so it needs no escaping inside a CSS string.
  static func pageMarginRule(_ model: EvidenceModel) -> String {
    """

    /* Generated for this document: its id and the page number in the margin of every printed page. */
    @page {
      @bottom-left { content: "Document \(model.documentID)"; font-size: 8pt; color: #555555; }
      @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #555555; }
    }

    """
  }

  // MARK: The first page

  /// Every control's verdict on the current snapshot and, for a period, over the period: what page 1
  /// of the printed report must carry (the boxes of "At a glance" explain each).
  static func coverVerdicts(_ slot: XMLElement, _ model: EvidenceModel) {
    let period = Dictionary(model.periodVerdicts.map { ($0.control.id, $0) }, uniquingKeysWith: { a, _ in a })
    let table = slot.add("table", class: "data cover-verdict-table")
    table.add("caption", "Verdicts")
    let head = table.add("thead").add("tr")
    head.add("th", "Control").set("scope", "col")
    head.add("th", "Current snapshot (\(model.current.id), \(model.current.capturedAt.dateString))").set("scope", "col")
    if model.isPeriod { head.add("th", "Over the period \(model.periodDescription)").set("scope", "col") }
    let body = table.add("tbody")
    for a in model.controlVerdicts {
      let tr = body.add("tr")
      let th = tr.add("th")
      th.set("scope", "row")
      th.add("span", a.control.id, class: "control-id")
      th.say(" " + a.control.title)
      tr.add("td", HTMLReport.label(a.verdict), class: "verdict-cell verdict-cell-\(a.verdict.rawValue)")
      if model.isPeriod {
        if let p = period[a.control.id] {
          tr.add("td", HTMLReport.label(p.verdict), class: "verdict-cell verdict-cell-\(p.verdict.rawValue)")
        } else {
          tr.add("td", "—")
        }
      }
    }
  }

  /// The scope in brief on page 1; the section "Scope and limitations" states it in full.
  static func coverScope(_ slot: XMLElement, _ model: EvidenceModel) {
    let scope = model.scopeStatement
    let p = slot.add("p", class: "cover-scope-text")
    p.add("strong", "Scope: ")
    p.say(
      "account \(scope.accounts.joined(separator: ", ")); examined: \(ScopeStatement.examined). Not examined: "
        + ScopeStatement.notExaminedInBrief.joined(separator: "; ") + " (see Scope and limitations).")
    let review = slot.add("p", class: "cover-scope-text")
    review.add("strong", "Access review: ")
    if let r = model.currentReview?.review {
      review.say(
        "snapshot \(model.current.id) reviewed by \(r.reviewers.joined(separator: ", ")) on \(r.lastReviewedOn) (review \(r.id))."
      )
    } else {
      review.say("no completed review of snapshot \(model.current.id), the period's last.")
    }
  }

  // MARK: Scope and limitations

  /// The section "Scope and limitations": the same statement as `README.txt` and OSCAL (``ScopeStatement``).
  static func scope(_ slot: XMLElement, _ model: EvidenceModel) {
    let scope = model.scopeStatement
    let dl = slot.add("dl", class: "facts scope-facts")
    dl.fact("Accounts covered") { dd in
      let ul = dd.add("ul", class: "inline-list")
      for a in scope.accounts { ul.add("li").add("code", a) }
    }
    dl.fact("Examined") { $0.say(ScopeStatement.examined + ".") }
    dl.fact("Not examined") { dd in
      let ul = dd.add("ul", class: "plain not-examined")
      for item in ScopeStatement.notExamined { ul.add("li", item) }
    }
    dl.fact("Action catalog") { $0.say(scope.actionCatalog ?? "not recorded") }
    dl.fact("Tool build") { dd in
      dd.say("\(scope.toolBuild.name) \(scope.toolBuild.version), source SHA-256 ")
      dd.add("code", scope.toolBuild.sourceSHA256, class: "hash")
    }
    slot.add("p", ScopeStatement.reliance, class: "muted")
  }

  // MARK: Provenance (chain of custody)

  /// Who took and loaded each snapshot of the chain of custody: operator, caller identity, host and
  /// OS user, and the build that ingested it.
  static func provenance(_ slot: XMLElement, _ model: EvidenceModel) {
    let listed = (model.periodStart.map { [$0] } ?? []) + model.snapshots.sorted(by: { ($0.capturedAt, $0.id) < ($1.capturedAt, $1.id) })
    let table = slot.add("table", class: "data provenance")
    table.add(
      "caption", "Who took and loaded each snapshot (ingest --operator, --caller-identity; host, OS user and build recorded by the tool)")
    let head = table.add("thead").add("tr")
    for title in ["Id", "Operator", "Exported with the credentials of", "Ingested on", "Tool build"] {
      head.add("th", title).set("scope", "col")
    }
    let body = table.add("tbody")
    for s in listed {
      let tr = body.add("tr")
      let th = tr.add("th", String(s.id))
      th.set("scope", "row")
      guard let p = model.provenance[s.id] else {
        tr.add("td", "not recorded: ingested without provenance (before the tool recorded it, or through the library)", class: "muted")
          .set("colspan", "4")
        continue
      }
      tr.add("td", p.operatorName ?? "not given (no --operator)", class: p.operatorName == nil ? "muted" : nil)
      let caller = tr.add("td")
      if let c = p.callerIdentity {
        caller.add("code", c.arn, class: "wrap")
        caller.add("span", "account \(c.account), user id \(c.userID)", class: "sub")
        let file = caller.add("span", class: "sub muted")
        file.say("\(c.source), SHA-256 ")
        file.add("code", c.sha256, class: "hash")
      } else {
        caller.add("span", "not recorded (no --caller-identity)", class: "muted")
      }
      tr.add("td", "host \(p.host), OS user \(p.osUser)")
      let build = tr.add("td")
      build.say("\(p.build.name) \(p.build.version)")
      let hash = build.add("span", class: "sub muted")
      hash.say("source SHA-256 ")
      hash.add("code", p.build.sourceSHA256, class: "hash")
    }
  }
}
