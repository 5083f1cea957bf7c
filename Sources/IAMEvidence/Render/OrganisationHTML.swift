import Foundation
import XMLTree

/// The HTML report of an organisation (`report --accounts`, `package --accounts`): the template
/// `report.xhtml` filled with the organisation's own sections, then one section per account holding
/// that account's report as `report --account` renders it (``HTMLReport``), composed rather than
/// rewritten.
///
/// - Page 1 (the cover): the organisation's verdict per control (latest state and over the period)
///   and, compact, **which accounts in scope are not effective or have no evidence** (coverage gaps
///   first), each a link to its section; then the scope in brief.
/// - "At a glance": each control's verdict with the accounts behind it, the coverage table (every
///   account in scope with its name, snapshots in the period, latest capture, verdicts, counts and
///   gaps; a never-exported account as a coverage gap; the accounts out of scope in a table of their
///   own, left out of the verdict), the accounts ranked by open findings, and the organisation's trend.
/// - "Scope and limitations", then "Accounts": per account its cover facts and the sections of its
///   own report (at a glance, findings, privileged access register, access reviews, exceptions,
///   trend, population, chain of custody), headings one level down and ids prefixed with the account
///   (`acct-111122223333-findings`) so that every link stays inside its account.
/// - The methodology (the same for every account, once) and the sign-off.
///
/// The accounts' sections are built, written and released one account at a time while the document
/// is serialized (``XMLDocument/writeHTML5(streaming:to:)``): 200 accounts are never held as one tree.
enum OrganisationHTML {
  static let namespaces = HTMLReport.namespaces

  /// The slots of the template whose sections belong to one account: in each account's section, in
  /// this order; the organisation's document drops their sections.
  static let accountSlots = ["summary", "findings", "identities", "reviews", "exceptions", "trend", "population", "custody"]

  /// Rules for the organisation's own tables, added after `report.css` (the account report's
  /// stylesheet stays as it is).
  static let stylesheet = """

    /* The organisation's report: the accounts needing attention on page 1, the coverage table, one section per account. */
    .attention { margin: 10px 0 0; padding: 0; list-style: none; font-size: 13px; }
    .attention li { margin: 0 0 4px; }
    .attention a { color: inherit; }
    .coverage-table td, .coverage-table th, .ranking-table td, .org-trend-table td { vertical-align: top; }
    table.data.coverage-table { font-size: 12.5px; }
    table.data.coverage-table th, table.data.coverage-table td { padding: 5px 4px; }
    table.data.coverage-table thead th { font-size: 10.5px; letter-spacing: 0; }
    .coverage-table td.gaps { min-width: 7em; }
    tr.coverage-gap-row { background: var(--error-bg); }
    section.account { border-top: 3px solid var(--rule-strong); margin-top: 44px; padding-top: 8px; }
    section.account-part { margin-top: 24px; }
    @media print {
      section.account { break-before: page; margin-top: 0; }
      section.account-part { margin-top: 6mm; }
      .attention { break-inside: avoid; }
    }

    """

  /// An organisation whose accounts' latest snapshots hold more results than this, in all, has each
  /// account's population given as counts, its rows in population.csv and evidence.xml: a few small
  /// accounts keep their tables, while 200 accounts' tables would make a report of 80 MB that a
  /// browser takes minutes to open and nobody reads. Every finding stays listed.
  static let listedPopulationLimit = 5_000

  /// The population row limit of each account's section (``HTMLReport/populationRowLimit``, or 0: counts only).
  static func populationRowLimit(_ org: OrganisationEvidence) -> Int {
    org.accounts.reduce(0) { $0 + $1.model.results.count } > listedPopulationLimit ? 0 : HTMLReport.populationRowLimit
  }

  /// The name of account `id`'s section (`account-111122223333`) and the prefix of its ids.
  static func sectionID(_ id: String) -> String { "account-\(id)" }
  static func idPrefix(_ id: String) -> String { "acct-\(id)-" }

  /// Writes the report to `output`. `files(account)` describes, for an account whose report lists
  /// some check's population only as counts, where its rows are in the organisation's population.csv
  /// and evidence.xml.
  static func write(
    _ org: OrganisationEvidence, templates: TemplateSet, files: @escaping (AccountEvidence) -> HTMLReport.PopulationFiles?,
    to output: XMLOutput
  ) throws {
    let (document, accountsSlot) = try skeleton(org, templates: templates)
    let rowLimit = populationRowLimit(org)
    let css = try templates.stylesheet()
    let stream = XMLStreamedHTML(parent: accountsSlot) { writer in
      for a in org.accounts {
        try writer.write(try accountSection(a, templates: templates, files: files(a), rowLimit: rowLimit, stylesheet: css))
      }
    }
    try document.writeHTML5(streaming: org.accounts.isEmpty ? [] : [stream], to: output)
  }

  /// The whole report in memory (tests).
  static func render(
    _ org: OrganisationEvidence, templates: TemplateSet, files: @escaping (AccountEvidence) -> HTMLReport.PopulationFiles? = { _ in nil }
  ) throws -> [UInt8] {
    var bytes: [UInt8] = []
    try write(org, templates: templates, files: files) { bytes.append(contentsOf: $0) }
    return bytes
  }

  // MARK: The organisation's document

  /// The template filled with the organisation's sections; returns it and the (empty) element the
  /// accounts' sections are written into.
  static func skeleton(_ org: OrganisationEvidence, templates: TemplateSet) throws -> (XMLDocument, XMLElement) {
    let document = try templates.reportTemplate()
    var slots: [String: XMLElement] = [:]
    for name in HTMLReport.slotNames {
      let found = try document.nodes(matching: "//h:*[@data-slot='\(name)']", namespaces: namespaces)
      guard found.count == 1 else {
        throw RenderError(
          path: templates.reportXHTML.path,
          message: "the template needs exactly one element with data-slot=\"\(name)\" (found \(found.count))")
      }
      found[0].removeAllChildren()
      slots[name] = found[0]
    }
    func slot(_ name: String) -> XMLElement { slots[name]! }
    let title = "\(org.accounts.first.map { HTMLReport.title($0.model) } ?? "Access rights — audit evidence")"
    slot("title").say("\(title) — organisation, \(org.coverage.inScope.count) accounts in scope, \(org.periodDescription)")
    slot("style").say(try templates.stylesheet() + stylesheet + pageMarginRule(org))
    runningHeader(slot("running-header"), org, title: title)
    slot("eyebrow").say(
      ([ControlCatalog.bundled.framework, "Annex A"] + org.coverage.controls.map { "\($0.id) \($0.title)" }).joined(separator: " · "))
    slot("heading").say(title + " — organisation")
    documentID(slot("document-id"), org)
    header(slot("header"), org)
    coverVerdicts(slot("cover-verdicts"), org)
    coverScope(slot("cover-scope"), org)
    scope(slot("scope"), org)
    summary(slot("summary"), org)
    signOff(slot("sign-off"), org)
    footer(slot("footer"), org)

    // The sections of one account's report leave the organisation's document; "Accounts" takes the
    // place of the first of them (after "At a glance", which holds the organisation's own).
    let sections = try accountSlots.filter { $0 != "summary" }.map { name in
      guard let s = try slot(name).firstNode(matching: "ancestor::h:section[1]", namespaces: namespaces) else {
        throw RenderError(path: templates.reportXHTML.path, message: "the slot \(name) is not inside a section")
      }
      return s
    }
    guard let first = sections.first, let main = first.parent else {
      throw RenderError(path: templates.reportXHTML.path, message: "the template's sections have no parent")
    }
    let accounts = main.addChild("section", before: first)
    accounts.set("id", "accounts").set("class", "major")
    accounts.add("h2", "Accounts")
    accounts.add(
      "p",
      "One section per account in scope with a snapshot in the period, in the order of the coverage table: the account's own report "
        + "as iam-evidence report --account writes it (at a glance, findings, privileged access register, access reviews, exceptions, "
        + "trend, population, chain of custody). Accounts in scope without a snapshot are coverage gaps (At a glance); accounts "
        + "out of scope have no section.",
      class: "section-intro")
    if org.accounts.isEmpty { accounts.add("p", "No account in scope has a snapshot in the period.", class: "empty") }
    let list = accounts.add("div", class: "account-list")
    for s in Set(sections) { s.remove() }
    // The methodology is the same for every account: once, from the first account's report.
    if let a = org.accounts.first {
      let one = try HTMLReport.build(a.model, templates: templates, files: nil)
      if let source = try one.firstNode(matching: "//h:*[@data-slot='methodology']", namespaces: namespaces) {
        for child in source.children { slot("methodology").appendCopy(of: child) }
      }
    } else {
      slot("methodology").add("p", "No account has evidence: no check was run.", class: "empty")
    }
    try contents(document, org)
    return (document, list)
  }

  /// The table of contents: the organisation's sections, and the accounts needing attention first.
  static func contents(_ document: XMLDocument, _ org: OrganisationEvidence) throws {
    guard let ol = try document.firstNode(matching: "//h:nav//h:ol", namespaces: namespaces) else { return }
    ol.removeAllChildren()
    for (id, text) in [
      ("summary", "At a glance: verdicts, coverage, ranking, trend"), ("scope", "Scope and limitations"),
      ("accounts", "Accounts (\(org.accounts.count))"), ("methodology", "Methodology"), ("sign-off", "Sign-off"),
    ] {
      ol.add("li").add("a", text).set("href", "#" + id)
    }
  }

  static func pageMarginRule(_ org: OrganisationEvidence) -> String {
    """

    /* Generated for this document: its id and the page number in the margin of every printed page. */
    @page {
      @bottom-left { content: "Document \(org.documentID)"; font-size: 8pt; color: #555555; }
      @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #555555; }
    }

    """
  }

  static func runningHeader(_ slot: XMLElement, _ org: OrganisationEvidence, title: String) {
    slot.add("span", title, class: "rh-title")
    slot.add("span", "Organisation: \(HTMLReport.count(org.coverage.inScope.count, "account")) in scope", class: "rh-item")
    slot.add("span", "Period: \(org.periodDescription)", class: "rh-item")
    slot.add("span", "Document \(org.documentID)", class: "rh-item rh-document")
  }

  static func documentID(_ slot: XMLElement, _ org: OrganisationEvidence) {
    slot.say("Document ")
    slot.add("strong", org.documentID, class: "document-id-value")
    slot.say(" · SHA-256 of the evidence it states ")
    slot.add("code", org.evidenceDigest, class: "hash")
  }

  static func header(_ dl: XMLElement, _ org: OrganisationEvidence) {
    let c = org.coverage
    dl.fact("Organisation") { dd in
      dd.add("strong", HTMLReport.count(c.inScope.count, "account") + " in scope")
      if let s = c.scope {
        dd.say(" (scope file ")
        dd.add("code", s.source, class: "wrap")
        dd.say(")")
      } else {
        dd.say(" (no scope file: every account of the database selected)")
      }
    }
    dl.fact("Period") { $0.say(org.periodDescription) }
    dl.fact("Coverage") { dd in
      dd.say("\(org.accounts.count) with evidence, ")
      dd.add(
        "strong", HTMLReport.count(c.coverageGaps.count, "coverage gap"),
        class: c.coverageGaps.isEmpty ? nil : "verdict-cell verdict-cell-no-evidence")
      dd.say(", \(c.outOfScope.count) out of scope (left out of the verdict)")
    }
    dl.fact("Generated at") { dd in dd.add("time", org.generatedAt.description).set("datetime", org.generatedAt.description) }
    dl.fact("Tool") { dd in
      dd.say("\(org.toolBuild.name) \(org.toolBuild.version)")
      let hash = dd.add("span", class: "sub muted")
      hash.say("source SHA-256 ")
      hash.add("code", org.toolBuild.sourceSHA256, class: "hash")
    }
  }

  static func label(_ v: CoverageVerdict) -> String {
    switch v {
    case .effective: return "Effective"
    case .notEffective: return "Not effective"
    case .error: return "Error"
    case .noEvidence: return "No evidence"
    }
  }

  static func verdictCell(_ tr: XMLElement, _ v: CoverageVerdict?, strong: Bool = false) {
    guard let v else {
      tr.add("td", "—")
      return
    }
    let td = tr.add("td", class: "verdict-cell verdict-cell-\(v.rawValue)")
    if strong { td.add("strong", label(v)) } else { td.say(label(v)) }
  }

  /// A link to an account's section (or, for an account without one, its label). In a table cell
  /// (`cell`), the id on a line that does not break and the name under it.
  static func accountLink(_ parent: XMLElement, _ row: AccountCoverageRow, hasSection: Bool, cell: Bool = false) {
    guard cell else {
      if hasSection { parent.add("a", row.label).set("href", "#" + sectionID(row.account)) } else { parent.say(row.label) }
      return
    }
    let target = hasSection ? parent.add("a").set("href", "#" + sectionID(row.account)) : parent
    target.add("span", row.account, class: "nowrap")
    if let name = row.name { target.add("span", name, class: "sub") }
  }

  // MARK: Page 1

  /// The organisation's verdict per control, then the accounts in scope that are not effective or
  /// have no evidence, compact (comma-separated, by verdict and control): the first page answers it.
  static func coverVerdicts(_ slot: XMLElement, _ org: OrganisationEvidence) {
    let period = org.periodVerdicts.map { Dictionary($0.map { ($0.control.id, $0) }, uniquingKeysWith: { a, _ in a }) }
    let table = slot.add("table", class: "data cover-verdict-table")
    table.add("caption", "The organisation's verdicts (accounts in scope)")
    let head = table.add("thead").add("tr")
    head.add("th", "Control").set("scope", "col")
    head.add("th", "Latest state (each account's latest snapshot)").set("scope", "col")
    if period != nil { head.add("th", "Over the period \(org.periodDescription)").set("scope", "col") }
    head.add("th", "Accounts in scope not effective / no evidence / error").set("scope", "col")
    let body = table.add("tbody")
    for o in org.coverage.organisation {
      let tr = body.add("tr")
      let th = tr.add("th")
      th.set("scope", "row")
      th.add("span", o.control.id, class: "control-id")
      th.say(" " + o.control.title)
      verdictCell(tr, o.verdict, strong: true)
      if let period { verdictCell(tr, period[o.control.id]?.verdict, strong: true) }
      let n = { (v: CoverageVerdict) in (o.accounts[v] ?? []).count }
      tr.add("td", "\(n(.notEffective)) / \(n(.noEvidence)) / \(n(.error)) of \(org.coverage.inScope.count)", class: "num")
    }

    let attention = org.attention
    let block = slot.add("div", class: "attention-block")
    block.set("id", "attention")
    let p = block.add("p")
    p.add("strong", "Accounts in scope not effective or without evidence: ")
    p.say("\(attention.count) of \(org.coverage.inScope.count).")
    let ul = block.add("ul", class: "attention")
    if attention.isEmpty {
      ul.add("li", "Every account in scope has evidence and is effective on every control.")
    }
    let withSection = Set(org.accounts.map(\.account))
    func item(_ lead: String, _ rows: [AccountCoverageRow], _ cls: String) {
      guard !rows.isEmpty else { return }
      let li = ul.add("li")
      li.add("strong", lead, class: "verdict-cell verdict-cell-\(cls)")
      li.say(" (\(rows.count)): ")
      for (i, r) in rows.enumerated() {
        if i > 0 { li.say(", ") }
        accountLink(li, r, hasSection: withSection.contains(r.account))
      }
      li.say(".")
    }
    item("No evidence — coverage gap, no snapshot in the period", org.coverage.coverageGaps, CoverageVerdict.noEvidence.rawValue)
    for o in org.coverage.organisation {
      let rows = { (v: CoverageVerdict) in org.coverage.inScope.filter { $0.verdict(of: o.control.id) == v && !$0.isCoverageGap } }
      item("Not effective on \(o.control.id) \(o.control.title)", rows(.notEffective), CoverageVerdict.notEffective.rawValue)
      item("Error (evidence incomplete) on \(o.control.id)", rows(.error), CoverageVerdict.error.rawValue)
    }
  }

  static func coverScope(_ slot: XMLElement, _ org: OrganisationEvidence) {
    let p = slot.add("p", class: "cover-scope-text")
    p.add("strong", "Scope: ")
    p.say(
      "\(HTMLReport.count(org.coverage.inScope.count, "account")) in scope"
        + (org.coverage.scope.map { " (scope file \($0.source))" } ?? "") + "; examined in each: \(ScopeStatement.examined). Not examined: "
        + ScopeStatement.notExaminedInBrief.joined(separator: "; ") + " (see Scope and limitations).")
    let reviewed = org.accounts.filter { $0.model.currentReview != nil }.count
    let review = slot.add("p", class: "cover-scope-text")
    review.add("strong", "Access reviews: ")
    review.say("\(reviewed) of \(org.accounts.count) accounts with evidence have a completed review of their latest snapshot.")
  }

  // MARK: At a glance

  static func summary(_ slot: XMLElement, _ org: OrganisationEvidence) {
    organisationVerdicts(slot, org)
    coverageTable(slot, org)
    ranking(slot, org)
    trend(slot, org)
  }

  /// Each control's verdict, with the accounts in scope behind it by verdict.
  static func organisationVerdicts(_ slot: XMLElement, _ org: OrganisationEvidence) {
    let block = slot.add("div", class: "organisation-verdicts")
    block.set("id", "organisation-verdicts")
    block.add("h3", "The organisation's verdict per control")
    block.add(
      "p",
      "An account's verdict on a control is that of its latest snapshot in the period. The organisation's verdict rolls up the "
        + "accounts in scope only: not effective when any of them is; else no evidence when any has none (a coverage gap: the "
        + "organisation cannot be effective while one stands); else error when any has incomplete evidence; else effective. "
        + "Over the period, the same roll-up of each account's verdict over the period.",
      class: "muted")
    let period = org.periodVerdicts.map { Dictionary($0.map { ($0.control.id, $0) }, uniquingKeysWith: { a, _ in a }) }
    let withSection = Set(org.accounts.map(\.account))
    let ul = block.add("ul", class: "plain period-explanations")
    for o in org.coverage.organisation {
      let li = ul.add("li")
      li.add("strong", "\(o.control.id) \(o.control.title): ")
      li.add("strong", label(o.verdict), class: "verdict-cell verdict-cell-\(o.verdict.rawValue)")
      if let p = period?[o.control.id] {
        li.say(" (over the period: ")
        li.add("strong", label(p.verdict), class: "verdict-cell verdict-cell-\(p.verdict.rawValue)")
        li.say(")")
      }
      li.say(". ")
      for v in [CoverageVerdict.notEffective, .noEvidence, .error, .effective] {
        let ids = o.accounts[v] ?? []
        guard !ids.isEmpty else { continue }
        li.say("\(label(v)): ")
        for (i, id) in ids.enumerated() {
          if i > 0 { li.say(", ") }
          if let row = org.coverage.row(id) { accountLink(li, row, hasSection: withSection.contains(id)) }
        }
        li.say(". ")
      }
    }
  }

  /// Every account in scope (coverage gaps marked), then the accounts out of scope.
  static func coverageTable(_ slot: XMLElement, _ org: OrganisationEvidence) {
    let c = org.coverage
    let block = slot.add("div", class: "coverage")
    block.set("id", "coverage")
    block.add("h3", "Coverage: every account in scope")
    block.add(
      "p",
      "\(HTMLReport.count(c.inScope.count, "account")) in scope, \(HTMLReport.count(c.coverageGaps.count, "coverage gap")) "
        + "(no snapshot in the period: no evidence on every control). Counts and verdicts are those of each account's latest "
        + "snapshot in the period, over every check; gaps are the stretches without a snapshot longer than \(c.cadenceDays) days.",
      class: "section-count")
    let withSection = Set(org.accounts.map(\.account))
    func table(_ rows: [AccountCoverageRow], caption: String, verdicts: Bool) {
      let table = block.add("table", class: "data coverage-table")
      table.add("caption", caption)
      let head = table.add("thead").add("tr")
      for title in ["Account", "Owner", "Snapshots in period", "Latest capture"] { head.add("th", title).set("scope", "col") }
      if verdicts { for control in c.controls { head.add("th", control.id).set("scope", "col") } }
      for title in ["Fail", "Error", "Excepted", "Pass", "Privileged", "Gaps"] { head.add("th", title, class: "num").set("scope", "col") }
      let body = table.add("tbody")
      for r in rows {
        let tr = body.add("tr", class: r.isCoverageGap ? "coverage-gap-row" : nil)
        let th = tr.add("th")
        th.set("scope", "row")
        accountLink(th, r, hasSection: withSection.contains(r.account), cell: true)
        if r.isCoverageGap { th.add("span", "coverage gap", class: "sub verdict-cell verdict-cell-no-evidence") }
        tr.add("td", r.owner ?? "—", class: r.owner == nil ? "muted" : nil)
        tr.add("td", String(r.snapshots.count), class: "num")
        if let latest = r.latest {
          let td = tr.add("td", class: "nowrap")
          td.add("time", latest.capturedAt.dateString).set("datetime", latest.capturedAt.description)
          td.add("span", "snapshot \(latest.id)", class: "sub muted")
        } else {
          tr.add("td", "never in the period", class: "muted")
        }
        if verdicts { for control in c.controls { verdictCell(tr, r.verdict(of: control.id)) } }
        for v in [r.counts?.fail, r.counts?.error, r.counts?.excepted, r.counts?.pass, r.privilegedIdentities] {
          tr.add("td", v.map(String.init) ?? "—", class: (v ?? 0) > 0 && v == r.counts?.fail ? "num nonzero-fail" : "num")
        }
        // A gap's dates wrap (the table has ten columns or more and must fit the page).
        tr.add(
          "td", r.gaps.isEmpty ? "0" : r.gaps.map { "\($0.days) days from \($0.from.dateString)" }.joined(separator: "; "),
          class: r.gaps.isEmpty ? "num" : "gaps")
      }
    }
    table(c.inScope, caption: "Accounts in scope, by id", verdicts: true)
    if !c.outOfScope.isEmpty {
      block.add(
        "p",
        "Accounts of the database that the scope file does not list: out of scope, left out of the organisation's verdict and "
          + "given no section.",
        class: "muted")
      table(c.outOfScope, caption: "Accounts out of scope (left out of the verdict)", verdicts: false)
    }
  }

  /// The accounts with evidence by open findings (failures of the latest snapshot), most first.
  static func ranking(_ slot: XMLElement, _ org: OrganisationEvidence) {
    let block = slot.add("div", class: "ranking")
    block.set("id", "ranking")
    block.add("h3", "Accounts ranked by open findings")
    guard !org.accounts.isEmpty else {
      block.add("p", "No account in scope has a snapshot in the period.", class: "empty")
      return
    }
    let table = block.add("table", class: "data ranking-table")
    table.add("caption", "Failures not covered by an exception in each account's latest snapshot, then errors, then excepted results")
    let head = table.add("thead").add("tr")
    for title in ["#", "Account", "Open findings (fail)", "Error", "Excepted", "Seen in the period", "Privileged", "Not effective on"] {
      head.add("th", title).set("scope", "col")
    }
    let body = table.add("tbody")
    for (i, a) in org.ranking.enumerated() {
      let tr = body.add("tr")
      tr.add("td", String(i + 1), class: "num")
      accountLink(tr.add("th"), a.row, hasSection: true, cell: true)
      let counts = a.row.counts ?? StatusCounts()
      tr.add("td", String(counts.fail), class: counts.fail > 0 ? "num nonzero-fail" : "num")
      tr.add("td", String(counts.error), class: counts.error > 0 ? "num nonzero-error" : "num")
      tr.add("td", String(counts.excepted), class: "num")
      tr.add("td", a.model.isPeriod ? String(a.model.periodFindings.count) : "—", class: "num")
      tr.add("td", a.row.privilegedIdentities.map(String.init) ?? "—", class: "num")
      let bad = a.row.verdicts.filter { $0.verdict == .notEffective }.map(\.control.id)
      tr.add(
        "td", bad.isEmpty ? "—" : bad.joined(separator: ", "), class: bad.isEmpty ? "muted" : "verdict-cell verdict-cell-not-effective")
    }
  }

  /// The organisation's trend: per capture day, the accounts captured and their counts added up.
  static func trend(_ slot: XMLElement, _ org: OrganisationEvidence) {
    let block = slot.add("div", class: "organisation-trend")
    block.set("id", "organisation-trend")
    block.add("h3", "The organisation's trend")
    let points = org.trendPoints
    guard !points.isEmpty else {
      block.add("p", "No assessed snapshot in the period.", class: "empty")
      return
    }
    block.add(
      "p",
      "Per capture day (UTC), the accounts with evidence captured that day and their results added up; each account's own trend "
        + "is in its section.",
      class: "muted")
    let table = block.add("table", class: "data org-trend-table")
    table.add("caption", "Results, privileged identities and accounts not effective, per capture day")
    let head = table.add("thead").add("tr")
    for title in ["Day", "Accounts", "Fail", "Error", "Excepted", "Pass", "Privileged"] { head.add("th", title).set("scope", "col") }
    for control in org.coverage.controls { head.add("th", "Not effective on \(control.id)").set("scope", "col") }
    let body = table.add("tbody")
    for p in points {
      let tr = body.add("tr")
      tr.add("th", p.day).set("scope", "row")
      for v in [p.accounts, p.counts.fail, p.counts.error, p.counts.excepted, p.counts.pass, p.privilegedIdentities] {
        tr.add("td", String(v), class: "num")
      }
      for control in org.coverage.controls {
        let n = p.notEffective[control.id] ?? 0
        tr.add("td", String(n), class: n > 0 ? "num nonzero-fail" : "num")
      }
    }
  }

  // MARK: Scope, sign-off, footer

  static func scope(_ slot: XMLElement, _ org: OrganisationEvidence) {
    let scope = org.scopeStatement
    let dl = slot.add("dl", class: "facts scope-facts")
    dl.fact("Accounts covered") { dd in
      let ul = dd.add("ul", class: "inline-list")
      for a in scope.accounts { ul.add("li").add("code", a) }
      if scope.accounts.isEmpty { dd.say("none: no account in scope has a snapshot in the period") }
    }
    if !org.coverage.coverageGaps.isEmpty {
      dl.fact("Not covered (coverage gaps)") { dd in
        let ul = dd.add("ul", class: "inline-list")
        for r in org.coverage.coverageGaps { ul.add("li").add("code", r.label) }
      }
    }
    if !org.coverage.outOfScope.isEmpty {
      dl.fact("Out of scope") { dd in
        dd.say("\(HTMLReport.count(org.coverage.outOfScope.count, "account")) of the database, not examined here")
      }
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

  static func signOff(_ slot: XMLElement, _ org: OrganisationEvidence) {
    let dl = slot.add("dl", class: "sign-off-block")
    for term in ["Prepared by", "Reviewed by", "Date"] { dl.fact(term) { $0.add("span", "", class: "sign-line") } }
    slot.add(
      "p",
      "The organisation's evidence is signed by hand: each account's access reviews are in its section (Access reviews), "
        + "\(org.accounts.filter { $0.model.currentReview != nil }.count) of \(org.accounts.count) of them completed for the "
        + "account's latest snapshot.",
      class: "muted")
    slot.add("p", "Document \(org.documentID).", class: "muted")
  }

  static func footer(_ footer: XMLElement, _ org: OrganisationEvidence) {
    footer.add(
      "p",
      "Document \(org.documentID). Generated by \(org.toolBuild.name) \(org.toolBuild.version) at \(org.generatedAt.description) "
        + "from \(HTMLReport.count(org.snapshots.count, "snapshot")) of \(HTMLReport.count(org.accounts.count, "account")). "
        + "This report is rendered deterministically: the same database and templates give the same bytes.")
  }

  // MARK: One account

  /// Account `a`'s section: its report as ``HTMLReport`` builds it, the sections of ``accountSlots``
  /// moved into one `section` of that report's own document, headings one level down, ids prefixed
  /// with the account. Returned for writing; the document is released with it.
  static func accountSection(
    _ a: AccountEvidence, templates: TemplateSet, files: HTMLReport.PopulationFiles?, rowLimit: Int = HTMLReport.populationRowLimit,
    stylesheet: String? = nil
  ) throws -> XMLElement {
    let document = try HTMLReport.build(a.model, templates: templates, files: files, rowLimit: rowLimit, stylesheet: stylesheet)
    guard let main = try document.firstNode(matching: "//h:main", namespaces: namespaces) else {
      throw RenderError(path: templates.reportXHTML.path, message: "the template has no main element")
    }
    let section = main.add("section", class: "major account")
    section.set("id", sectionID(a.account))
    let h2 = section.add("h2")
    h2.say("Account \(a.account)")
    if let name = a.row.name { h2.say(" — \(name)") }
    let tags = section.add("p", class: "account-verdicts")
    for v in a.row.verdicts {
      tags.add("span", "\(v.control.id): \(label(v.verdict))", class: "tag verdict-cell verdict-cell-\(v.verdict.rawValue)")
      tags.say(" ")
    }
    if let owner = a.row.owner { section.add("p", "Owner: \(owner)", class: "muted") }
    if let facts = try document.firstNode(matching: "//h:*[@data-slot='header']", namespaces: namespaces) {
      section.append(facts)
    }
    for name in accountSlots {
      guard let slot = try document.firstNode(matching: "//h:*[@data-slot='\(name)']", namespaces: namespaces),
        let part = try slot.firstNode(matching: "ancestor::h:section[1]", namespaces: namespaces)
      else { continue }
      part.set("class", "account-part")
      section.append(part)
    }
    // Headings one level down (the account's h2 comes after), ids and same-document links prefixed.
    let prefix = idPrefix(a.account)
    for e in try section.nodes(matching: ".//*", namespaces: namespaces) {
      if e.namespaceURI == XMLNamespaces.xhtml, e.name.count == 2, e.name.first == "h", let level = Int(e.name.dropFirst()),
        (2...5).contains(level)
      {
        e.rename("h\(level + 1)")
      }
      if e.attribute("data-slot") != nil { e.removeAttribute("data-slot") }
      if let id = e.attribute("id") { e.setAttribute("id", prefix + id) }
      if let href = e.attribute("href"), href.hasPrefix("#") { e.setAttribute("href", "#" + prefix + href.dropFirst()) }
      for name in ["aria-labelledby", "aria-describedby", "headers", "for"] {
        if let refs = e.attribute(name) {
          e.setAttribute(name, refs.split(separator: " ").map { prefix + $0 }.joined(separator: " "))
        }
      }
    }
    h2.rename("h2")
    return section
  }
}
