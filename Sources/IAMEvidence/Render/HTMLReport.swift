import Foundation
import XMLTree

/// The HTML audit report (`report.html`): the template `report.xhtml` filled from an
/// ``EvidenceModel`` through the XMLTree API, with `report.css` inlined.
///
/// Every node is built with XMLTree (never by concatenating markup), so text from a snapshot —
/// however hostile — is escaped by libxml2 and can never become markup. The output depends only on
/// the model and the templates: no clock is read (``EvidenceModel/generatedAt`` is the only time),
/// results keep the model's report order and everything else is sorted.
public enum HTMLReport {
  /// The XPath prefix bound to the XHTML namespace of the template.
  static let namespaces = ["h": XMLNamespaces.xhtml]

  /// The slots the template must provide, each exactly once (`data-slot="..."`).
  static let slotNames = [
    "title", "style", "running-header", "eyebrow", "heading", "header", "summary", "findings", "identities", "reviews", "exceptions",
    "trend", "population", "methodology", "custody", "sign-off", "footer",
    // The document id and page 1's verdicts and scope (``ReportSections``), the scope and limitations.
    "document-id", "cover-verdicts", "cover-scope", "scope",
  ]

  /// Renders the report as HTML5 (polyglot XHTML syntax, UTF-8, starting with `<!DOCTYPE html>`).
  /// When some check's population is only summarised (``summarisesPopulation(_:)``), the report names
  /// the files holding it: `files`, else evidence.xml and population.csv rendered here to learn them.
  ///
  /// - Throws: ``XMLError`` when the template is not well-formed; ``RenderError`` when the template
  ///   or the stylesheet is refused (``TemplateSet/reportTemplate()``, ``TemplateSet/stylesheet()``)
  ///   or a slot is missing or repeated.
  public static func render(_ model: EvidenceModel, templates: TemplateSet, files: PopulationFiles? = nil) throws -> [UInt8] {
    try build(model, templates: templates, files: files).html5Bytes()
  }

  /// Writes ``render(_:templates:files:)``'s bytes to `output` a few KB at a time.
  public static func write(_ model: EvidenceModel, templates: TemplateSet, files: PopulationFiles?, to output: XMLOutput) throws {
    try build(model, templates: templates, files: files).writeHTML5(to: output)
  }

  /// A check whose population has more results than this is not listed row by row in the report:
  /// its counts are, and its rows are in `population.csv` and `evidence.xml` beside the report, which
  /// the report names with their row counts and SHA-256. (A page of 300,000 rows took headless
  /// Chromium minutes to open, and nobody reads or prints it.) The demo and the development fixtures,
  /// at a few dozen results a check, keep their tables.
  public static let populationRowLimit = 500

  /// A check with more findings than this has them listed as a table, a row each, instead of one
  /// article each: every finding stays in the report, its full detail in evidence.xml.
  public static let compactFindingsLimit = 200

  /// Whether the report of `model` lists some check's population only as counts (``populationRowLimit``).
  public static func summarisesPopulation(_ model: EvidenceModel, rowLimit: Int = populationRowLimit) -> Bool {
    model.currentCounts.values.contains { $0.total > rowLimit }
  }

  /// The checks in the order the report's population lists them: the founding test first, then the
  /// catalog's order, then check ids with results that the catalog no longer has (sorted). The rows
  /// of `population.csv` follow it.
  public static func populationOrder(_ model: EvidenceModel) -> [String] {
    let catalogued = model.checks.filter(\.isPrimary).map(\.id) + model.checks.filter { !$0.isPrimary }.map(\.id)
    return catalogued + Set(model.currentCounts.keys).subtracting(model.checks.map(\.id)).sorted()
  }

  /// The files beside the report that hold the whole population, as the report names them.
  public struct PopulationFiles: Sendable, Hashable {
    /// `evidence.xml` (rows: the results of its population).
    public var evidence: RenderedFile
    /// `population.csv` (rows: one per result, after the header).
    public var csv: RenderedFile
    /// The rows of each check in `population.csv` (1 is the first row after the header).
    public var csvRows: [String: ClosedRange<Int>]

    public init(evidence: RenderedFile, csv: RenderedFile, csvRows: [String: ClosedRange<Int>]) {
      self.evidence = evidence
      self.csv = csv
      self.csvRows = csvRows
    }
  }

  /// The files of `model`'s population, rendered (not written) to learn their size and SHA-256.
  static func populationFiles(_ model: EvidenceModel) throws -> PopulationFiles {
    let xml = RenderSink { _ in }
    try EvidenceXML.write(model) { try xml.write($0) }
    let csv = RenderSink { _ in }
    let rows = try CSV.writePopulation(model, order: populationOrder(model), to: csv)
    return PopulationFiles(
      evidence: try xml.finish(name: "evidence.xml", rows: model.results.count),
      csv: try csv.finish(name: ReportRenderer.populationCSVName, rows: model.results.count), csvRows: rows)
  }

  /// The filled template. `files` describes the files holding the population when the report
  /// summarises it (they are rendered to learn it when not given).
  /// The report's tree; a check with more than `rowLimit` results has its population as counts (an
  /// organisation's report passes a lower limit than ``populationRowLimit``).
  /// `stylesheet`: the templates' stylesheet already read (``TemplateSet/stylesheet()``), as the
  /// organisation's report passes it for each of its accounts; nil reads it.
  static func build(
    _ model: EvidenceModel, templates: TemplateSet, files: PopulationFiles?, rowLimit: Int = populationRowLimit,
    stylesheet: String? = nil
  ) throws -> XMLDocument {
    let files = summarisesPopulation(model, rowLimit: rowLimit) ? try files ?? populationFiles(model) : nil
    return try tree(model, templates: templates, files: files, rowLimit: rowLimit, stylesheet: stylesheet).document
  }

  /// report.html's tree built before evidence.xml is written (``ReportRenderer`` builds it on another
  /// thread meanwhile): only its facts about evidence.xml wait for the file, and ``write(evidence:to:)``
  /// puts them in. The tree is used by one thread at a time: built by one, then written by another.
  struct Prepared: @unchecked Sendable {
    fileprivate let document: XMLDocument
    /// Where the facts about evidence.xml go (nil: the report lists every population, and does not name it).
    fileprivate let evidenceFact: XMLElement?
    fileprivate let findings: Int

    /// Writes the report, evidence.xml being `evidence`.
    func write(evidence: RenderedFile, to output: XMLOutput) throws {
      if let evidenceFact {
        evidenceFact.removeAllChildren()
        Context.evidenceFact(evidence, findings: findings, into: evidenceFact)
      }
      try document.writeHTML5(to: output)
    }
  }

  /// ``Prepared`` for `model`, population.csv being `csv` with `csvRows`.
  static func prepare(
    _ model: EvidenceModel, templates: TemplateSet, csv: RenderedFile, csvRows: [String: ClosedRange<Int>]
  ) throws -> Prepared {
    let pending = RenderedFile(name: "evidence.xml", byteCount: 0, sha256: "", rows: 0)
    let files = summarisesPopulation(model) ? PopulationFiles(evidence: pending, csv: csv, csvRows: csvRows) : nil
    let (document, fact) = try tree(model, templates: templates, files: files, rowLimit: populationRowLimit, stylesheet: nil)
    return Prepared(document: document, evidenceFact: fact, findings: model.findings.count)
  }

  /// The filled template, and where its facts about evidence.xml are (when `files` is given).
  private static func tree(
    _ model: EvidenceModel, templates: TemplateSet, files: PopulationFiles?, rowLimit: Int, stylesheet: String?
  ) throws -> (document: XMLDocument, evidenceFact: XMLElement?) {
    let templatePath = templates.reportXHTML.path
    let document = try templates.reportTemplate()
    var slots: [String: XMLElement] = [:]
    for name in slotNames {
      let found = try document.nodes(matching: "//h:*[@data-slot='\(name)']", namespaces: namespaces)
      guard found.count == 1 else {
        throw RenderError(
          path: templatePath, message: "the template needs exactly one element with data-slot=\"\(name)\" (found \(found.count))")
      }
      found[0].removeAllChildren()
      slots[name] = found[0]
    }
    func slot(_ name: String) -> XMLElement { slots[name]! }

    slot("title").say("\(title(model)) — account \(model.account), \(model.periodDescription)")
    slot("style").say(try (stylesheet ?? templates.stylesheet()) + ReportSections.pageMarginRule(model))
    let context = Context(model: model, files: files, rowLimit: rowLimit)
    context.runningHeader(slot("running-header"))
    slot("eyebrow").say(eyebrow(model))
    slot("heading").say(title(model))
    context.header(slot("header"))
    ReportSections.documentID(slot("document-id"), model)
    ReportSections.coverVerdicts(slot("cover-verdicts"), model)
    ReportSections.coverScope(slot("cover-scope"), model)
    ReportSections.scope(slot("scope"), model)
    context.summary(slot("summary"))
    context.findings(slot("findings"))
    context.privilegedRegister(slot("identities"))
    context.reviews(slot("reviews"))
    context.exceptions(slot("exceptions"))
    TrendChart.render(into: slot("trend"), history: model.history, checks: model.checks, privileged: model.privilegedCounts)
    context.versionChanges(slot("trend"))
    let evidenceFact = context.population(slot("population"))
    context.methodology(slot("methodology"))
    context.custody(slot("custody"))
    ReportSections.provenance(slot("custody"), model)
    context.signOff(slot("sign-off"))
    context.footer(slot("footer"))
    return (document, evidenceFact)
  }

  /// Human words for a status (the badge's text label; colour is never the only signal).
  static func label(_ status: ResultStatus) -> String {
    switch status {
    case .fail: return "Fail"
    case .error: return "Error"
    case .excepted: return "Excepted"
    case .pass: return "Pass"
    }
  }

  static func label(_ verdict: ControlVerdict) -> String {
    switch verdict {
    case .effective: return "Effective"
    case .notEffective: return "Not effective"
    case .error: return "Error"
    }
  }

  static func label(_ verdict: PeriodVerdict) -> String {
    switch verdict {
    case .effective: return "Effective"
    case .notEffective: return "Not effective"
    case .error: return "Error"
    case .noEvidence: return "No evidence"
    }
  }

  /// The report's title, from the control catalog: `Privileged access rights — audit evidence`.
  static func title(_ model: EvidenceModel) -> String {
    "\(model.foundingControl?.title ?? "Access rights") — audit evidence"
  }

  /// `ISO/IEC 27001:2022 · Annex A · A.8.2 Privileged access rights · A.5.15 Access control · ...`:
  /// the controls given a verdict.
  static func eyebrow(_ model: EvidenceModel) -> String {
    ([ControlCatalog.bundled.framework, "Annex A"] + model.controlVerdicts.map { "\($0.control.id) \($0.control.title)" })
      .joined(separator: " · ")
  }

  static func label(_ source: CapturedAtSource) -> String {
    switch source {
    case .option: return "given with --captured-at"
    case .fileModificationTime: return "file modification time"
    case .ingestTime: return "ingest time (standard input)"
    }
  }

  /// `1234567` as `1,234,567` (fixed grouping, no locale).
  static func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return (value < 0 ? "-" : "") + out
  }

  /// `1 result` / `2 results`.
  static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
  }

  /// Splits a remediation step `Prose: aws iam ...` into the prose and the command.
  static func splitCommand(_ step: String) -> (prose: String, command: String?) {
    guard let range = step.range(of: ": aws ") else {
      return step.hasPrefix("aws ") ? ("", step) : (step, nil)
    }
    return (String(step[..<range.lowerBound]), String(step[step.index(range.lowerBound, offsetBy: 2)...]))
  }

  /// A canonical JSON detail, pretty-printed when it parses.
  static func prettyJSON(_ text: String) -> String {
    guard let value = try? JSONParser.parse(text) else { return text }
    return JSONWriter.pretty(value)
  }
}

/// The model plus what the sections share.
private struct Context {
  let model: EvidenceModel
  /// The files holding the population, when the report lists some check's only as counts.
  let files: HTMLReport.PopulationFiles?
  /// A check with more results than this has its population as counts (``HTMLReport/populationRowLimit``).
  let rowLimit: Int
  /// Checks in summary order: the control's primary test first, then catalog order.
  let orderedChecks: [CheckDescription]
  let checksByID: [String: CheckDescription]

  init(model: EvidenceModel, files: HTMLReport.PopulationFiles?, rowLimit: Int) {
    self.model = model
    self.files = files
    self.rowLimit = rowLimit
    orderedChecks = model.checks.filter(\.isPrimary) + model.checks.filter { !$0.isPrimary }
    var byID: [String: CheckDescription] = [:]
    for c in model.checks where byID[c.id] == nil { byID[c.id] = c }
    checksByID = byID
  }

  /// Check ids that have results but are not in the catalog (older check ids), sorted.
  var uncataloguedCheckIDs: [String] {
    Set(model.currentCounts.keys).subtracting(model.checks.map(\.id)).sorted()
  }

  // MARK: Running header, cover, footer

  func runningHeader(_ slot: XMLElement) {
    slot.add("span", HTMLReport.title(model), class: "rh-title")
    slot.add("span", "Account \(model.account)", class: "rh-item")
    slot.add("span", "Period: \(model.periodDescription)", class: "rh-item")
    slot.add("span", "Snapshot \(model.current.id) of \(model.current.capturedAt.dateString)", class: "rh-item")
    slot.add("span", "Document \(model.documentID)", class: "rh-item rh-document")
  }

  func header(_ dl: XMLElement) {
    dl.fact("Account") { $0.add("strong", model.account) }
    dl.fact("Period") { $0.say(model.periodDescription) }
    dl.fact("Current snapshot") { dd in
      dd.say("Snapshot \(model.current.id), captured ")
      dd.add("time", model.current.capturedAt.description).set("datetime", model.current.capturedAt.description)
      dd.say(" (\(HTMLReport.label(model.current.capturedAtSource)))")
    }
    dl.fact("Snapshots in period") { $0.say(String(model.snapshots.count)) }
    dl.fact("Generated at") { dd in
      dd.add("time", model.generatedAt.description).set("datetime", model.generatedAt.description)
    }
    dl.fact("Tool") { dd in
      dd.say("\(model.toolName) \(model.toolVersion)")
      let hash = dd.add("span", class: "sub muted")
      hash.say("source SHA-256 ")
      hash.add("code", model.toolBuild.sourceSHA256, class: "hash")
    }
  }

  func footer(_ footer: XMLElement) {
    footer.add(
      "p",
      "Document \(model.documentID). Generated by \(model.toolName) \(model.toolVersion) at \(model.generatedAt.description) from snapshot \(model.current.id) "
        + "(SHA-256 \(model.current.sha256)) of account \(model.account). This report is rendered deterministically: "
        + "the same database and templates give the same bytes.")
  }

  // MARK: Summary

  func summary(_ slot: XMLElement) {
    let verdicts = model.controlVerdicts
    for assessment in verdicts { controlVerdict(assessment, into: slot) }
    periodVerdicts(slot)

    let tiles = slot.add("ul", class: "tiles")
    func tile(_ value: Int, _ text: String, _ cls: String) {
      let li = tiles.add("li", class: "tile " + cls)
      li.add("span", String(value), class: "tile-value")
      li.add("span", text, class: "tile-label")
    }
    var all = StatusCounts()
    for c in model.currentCounts.values { for status in ResultStatus.allCases { all[status] += c[status] } }
    tile(model.findings.count, "findings (all checks)", all.fail > 0 ? "tile-fail" : "tile-ok")
    tile(model.privileged.count, "privileged identities (register)", model.privileged.isEmpty ? "tile-ok" : "tile-fail")
    tile(all.excepted, "results under an exception", "tile-excepted")
    tile(model.snapshots.count, "snapshots in the period", "tile-neutral")

    let table = slot.add("table", class: "data counts")
    table.add("caption", "Results per check in snapshot \(model.current.id) (\(model.current.capturedAt.dateString))")
    let head = table.add("thead").add("tr")
    head.add("th", "Check").set("scope", "col")
    for status in [ResultStatus.fail, .error, .excepted, .pass] {
      let th = head.add("th", class: "num")
      th.set("scope", "col")
      th.badge(status)
    }
    head.add("th", "Total", class: "num").set("scope", "col")
    let body = table.add("tbody")
    for check in orderedChecks {
      let c = model.counts(of: check.id)
      let tr = body.add("tr", class: check.isPrimary ? "primary-row" : nil)
      let th = tr.add("th")
      th.set("scope", "row")
      th.add("span", check.title, class: "check-title")
      let meta = th.add("span", class: "check-meta")
      meta.add("code", check.id)
      if let control = check.primaryControl { meta.add("span", control, class: "tag tag-control") }
      if check.isPrimary { meta.add("span", "Founding test", class: "tag tag-primary") }
      for status in [ResultStatus.fail, .error, .excepted, .pass] {
        tr.add("td", String(c[status]), class: c[status] > 0 && status != .pass ? "num nonzero-\(status.rawValue)" : "num")
      }
      tr.add("td", String(c.total), class: "num")
    }
  }

  /// One control and its verdict on the current snapshot, with what the verdict rests on.
  func controlVerdict(_ a: ControlAssessment, into slot: XMLElement) {
    let grid = slot.add("div", class: "glance")
    let control = grid.add("div", class: "control-box")
    control.add("p", "Control", class: "box-label")
    let title = control.add("p", class: "control-title")
    title.add("span", a.control.id, class: "control-id")
    title.say(" " + a.control.title)
    control.add("p", "\(ControlCatalog.bundled.framework), Annex A", class: "muted")
    control.add("p", a.control.description, class: "control-text")

    let box = grid.add("div", class: "verdict-box verdict-\(a.verdict.rawValue)")
    box.add("p", "Verdict on the current snapshot", class: "box-label")
    box.add("p", HTMLReport.label(a.verdict), class: "verdict-word")
    let explanation = box.add("p", class: "verdict-text")
    let total = a.total
    func list(_ ids: [String], _ status: ResultStatus) {
      for (i, id) in ids.enumerated() {
        if i > 0 { explanation.say(", ") }
        explanation.add("code", id)
        explanation.say(" (\(a.checks.first { $0.id == id }?.counts[status] ?? 0))")
      }
    }
    switch a.verdict {
    case .notEffective:
      explanation.say(
        "\(HTMLReport.count(total.fail, "failing result")) not covered by an approved exception in the snapshot of "
          + "\(model.current.capturedAt.dateString), from ")
      list(a.failingChecks, .fail)
      explanation.say(".")
    case .error:
      explanation.say("No failures, but \(HTMLReport.count(total.error, "result")) could not be evaluated (status error), from ")
      list(a.erroneousChecks, .error)
      explanation.say("; the evidence is incomplete until they are resolved.")
    case .effective:
      explanation.say(
        "No failing and no erroneous result among \(HTMLReport.count(total.total, "subject")) examined"
          + (total.excepted > 0 ? " (\(total.excepted) covered by approved exceptions)." : "."))
    }
    if let period = model.periodVerdicts.first(where: { $0.control.id == a.control.id }) {
      let line = box.add("p", class: "verdict-period")
      line.say("Over the period (\(model.periodDescription)): ")
      line.add("strong", HTMLReport.label(period.verdict), class: "verdict-cell verdict-cell-\(period.verdict.rawValue)")
      line.say(" — see Verdicts over the period.")
    }
    let tested = box.add("p", class: "verdict-checks")
    tested.say(a.checks.count == 1 ? "Primary check: " : "Primary checks: ")
    for (i, c) in a.checks.enumerated() {
      if i > 0 { tested.say(", ") }
      tested.add("code", c.id)
      if c.id == a.foundingCheck { tested.say(" (founding test)") }
    }
  }

  // MARK: Findings

  func findings(_ slot: XMLElement) {
    periodFindings(slot)
    let findings = model.findings
    if model.isPeriod {
      slot.add("h3", "Findings of the current snapshot in detail (snapshot \(model.current.id), \(model.current.capturedAt.dateString))")
    }
    if findings.isEmpty {
      slot.add("p", "No findings: every result in the current snapshot is a pass.", class: "empty")
      return
    }
    var byStatus = StatusCounts(findings)
    byStatus.pass = 0
    slot.add(
      "p",
      "\(HTMLReport.count(findings.count, "finding")): \(byStatus.fail) fail, \(byStatus.error) error, \(byStatus.excepted) excepted.",
      class: "section-count")
    var perCheck: [String: Int] = [:]
    for r in findings { perCheck[r.checkID, default: 0] += 1 }
    var index = 0
    while index < findings.count {
      let check = findings[index].checkID
      let total = perCheck[check] ?? 0
      guard total > HTMLReport.compactFindingsLimit else {
        finding(findings[index], number: index + 1, into: slot)
        index += 1
        continue
      }
      // A check with many findings: its consecutive findings (in report order: most severe first,
      // then by check) as one table.
      var end = index + 1
      while end < findings.count && findings[end].checkID == check { end += 1 }
      compactFindings(findings[index..<end], total: total, into: slot)
      index = end
    }
  }

  /// The findings `run` (consecutive, of one check with `total` findings, each numbered by its place
  /// among the findings) as a table with a row each: status, principal, policy, why, exception.
  func compactFindings(_ run: ArraySlice<CheckResult>, total: Int, into slot: XMLElement) {
    let first = run[run.startIndex]
    let check = checksByID[first.checkID]
    let block = slot.add("div", class: "compact-findings")
    block.set("id", "findings-\(first.checkID)-\(run.startIndex + 1)")
    let h3 = block.add("h3")
    h3.add("span", "\(run.startIndex + 1)–\(run.endIndex).", class: "finding-number")
    h3.say(" " + (check?.title ?? first.checkID) + " ")
    h3.add("code", first.checkID, class: "h-code")
    var counts = StatusCounts(run)
    counts.pass = 0
    let intro = block.add("p", class: "muted")
    intro.say(
      "\(HTMLReport.count(run.count, "finding")) (\(counts.fail) fail, \(counts.error) error, \(counts.excepted) excepted) of the "
        + "\(HTMLReport.grouped(total)) of this check, which has more than \(HTMLReport.compactFindingsLimit): a row each. The detail of "
        + "each (statements, where the access comes from, notes, remediation with the names filled in) is in evidence.xml under "
        + "findings, by finding key, and from ")
    intro.add("code", "iam-evidence findings --check \(first.checkID)")
    intro.say("; what the check examines is under ")
    intro.add("a", "Methodology").set("href", "#method-\(first.checkID)")
    intro.say(".")
    if let remediation = check?.remediation, !remediation.isEmpty {
      let p = block.add("p", class: "muted")
      p.add("strong", "Remediation: ")
      p.say(remediation)
    }
    // Collapsed: a browser lays out thousands of table rows slowly (5,000 took headless Chromium
    // 3.6 s), and does not lay out the content of a closed details element until it is opened.
    let rows = block.add("details", class: "compact-findings-rows")
    rows.add(
      "summary",
      run.count == 1
        ? "The finding, as a row (open to read or print it)"
        : "The \(HTMLReport.grouped(run.count)) findings, a row each (open to read or print them)")
    let table = rows.add("table", class: "data population compact-findings-table")
    let head = table.add("thead").add("tr")
    head.add("th", "#", class: "num").set("scope", "col")
    for title in ["Status", "Principal", "Policy", "Why", "Exception"] { head.add("th", title).set("scope", "col") }
    let body = table.add("tbody")
    for (offset, r) in zip(run.indices, run) {
      let tr = body.add("tr", class: "row-\(r.status.rawValue)")
      tr.set("id", "finding-\(offset + 1)")
      tr.add("td", String(offset + 1), class: "num")
      tr.add("td", class: "status-cell").badge(r.status)
      subjectCells(r, into: tr)
      tr.add("td", r.why)
      if let e = r.exception {
        tr.add("td", "\(e.id), approved by \(e.approvedBy), in force through \(e.expiresOn)")
      } else {
        tr.add("td", "—", class: "muted")
      }
    }
  }

  /// The principal and policy cells of a result's row (population and compact findings tables).
  func subjectCells(_ r: CheckResult, into tr: XMLElement) {
    let who = tr.add("td")
    if let p = r.principal {
      who.principal(p)
    } else if !r.attachedTo.isEmpty || !r.boundaryOf.isEmpty {
      if !r.attachedTo.isEmpty {
        who.add("span", "attached to \(HTMLReport.count(r.attachedTo.count, "principal"))", class: "muted")
      }
      if !r.boundaryOf.isEmpty {
        if !r.attachedTo.isEmpty { who.say("; ") }
        who.add(
          "span",
          "permissions boundary of "
            + r.boundaryOf.map { "\($0.type.rawValue) \($0.name)" }.joined(separator: ", "),
          class: "muted")
      }
    } else {
      who.add("span", r.policy?.kind == .managed ? "not attached to any principal" : "—", class: "muted")
    }
    let what = tr.add("td")
    if let p = r.policy { what.policy(p, showHash: false) } else { what.add("span", "effective access (all policies)", class: "muted") }
  }

  func finding(_ r: CheckResult, number: Int, into slot: XMLElement) {
    let article = slot.add("article", class: "finding finding-\(r.status.rawValue)")
    article.set("id", "finding-\(number)")
    let head = article.add("header", class: "finding-head")
    head.badge(r.status)
    let h3 = head.add("h3")
    h3.add("span", "\(number).", class: "finding-number")
    h3.say(" " + (checksByID[r.checkID]?.title ?? r.checkID))
    let meta = head.add("p", class: "finding-meta")
    meta.add("code", r.checkID)
    meta.say(" version \(r.checkVersion)")
    if checksByID[r.checkID]?.isPrimary == true { meta.add("span", "Founding test", class: "tag tag-primary") }

    let dl = article.add("dl", class: "facts")
    if let p = r.principal {
      dl.fact("Principal") { $0.principal(p) }
    }
    if let policy = r.policy {
      dl.fact("Policy") { $0.policy(policy) }
    }
    if !r.statements.isEmpty {
      dl.fact("Statements") { $0.say("index " + r.statements.map(String.init).joined(separator: ", ") + " (0-based)") }
    }
    dl.fact("Why") { $0.say(r.why) }
    if let e = r.exception {
      dl.fact("Exception applied") { dd in
        dd.add("strong", e.id)
        dd.say(", approved by \(e.approvedBy), in force through \(e.expiresOn)")
        if !r.coveringExceptions.isEmpty { dd.say(" (the first of the exceptions covering the sources to expire)") }
      }
    }
    if !r.coveringExceptions.isEmpty {
      dl.fact("Sources covered by") { dd in
        let ul = dd.add("ul", class: "plain")
        for c in r.coveringExceptions {
          let li = ul.add("li")
          li.add("code", c.source.label, class: "wrap")
          li.say(": ")
          li.add("strong", c.exception.id)
          li.say(", approved by \(c.exception.approvedBy), in force through \(c.exception.expiresOn)")
        }
      }
    }
    if !r.sources.isEmpty {
      dl.fact("Access comes from") { dd in
        let ul = dd.add("ul", class: "plain")
        for s in r.sources { ul.add("li").add("code", s.label, class: "wrap") }
      }
    }
    if !r.attachedTo.isEmpty {
      dl.fact("Attached to") { $0.principalList(r.attachedTo) }
    }
    if !r.inheritedBy.isEmpty {
      dl.fact("Inherited by") { $0.principalList(r.inheritedBy) }
    }
    if !r.boundaryOf.isEmpty {
      dl.fact("Permissions boundary of") { $0.principalList(r.boundaryOf) }
    }
    if !r.notes.isEmpty {
      dl.fact("Notes") { dd in
        let ul = dd.add("ul", class: "notes")
        for note in r.notes {
          let li = ul.add("li")
          li.add("code", note.code, class: "note-code")
          li.say(" " + note.message)
          if !note.statements.isEmpty {
            li.add("span", " (statement " + note.statements.map(String.init).joined(separator: ", ") + ")", class: "muted")
          }
          if let detail = note.detail, !detail.isEmpty {
            li.add("pre", HTMLReport.prettyJSON(detail), class: "json detail")
          }
        }
      }
    }
    dl.fact("Finding key") { $0.add("code", r.findingKey, class: "wrap muted") }

    if !r.offendingStatements.isEmpty {
      let box = article.add("div", class: "statements")
      box.add("h4", r.offendingStatements.count == 1 ? "Offending statement" : "Offending statements")
      if r.statements.count == r.offendingStatements.count {
        for (i, statement) in r.offendingStatements.enumerated() {
          let figure = box.add("figure", class: "statement")
          figure.add("figcaption", "Statement index \(r.statements[i])")
          figure.add("pre", JSONWriter.pretty(statement), class: "json")
        }
      } else {
        box.add("pre", JSONWriter.pretty(.array(r.offendingStatements)), class: "json")
      }
    }

    if !r.remediation.isEmpty {
      let box = article.add("div", class: "remediation")
      box.add("h4", "Remediation")
      let ol = box.add("ol")
      for step in r.remediation {
        let li = ol.add("li")
        let (prose, command) = HTMLReport.splitCommand(step)
        if !prose.isEmpty { li.add("span", command == nil ? prose : prose + ":") }
        if let command { li.add("code", command, class: "command") }
      }
    }
  }

  // MARK: Privileged access register

  /// The privileged-access register of the current snapshot (it fills the template's `identities`
  /// slot, which keeps its name so that templates written for earlier versions still fill): every
  /// user and role holding a capability, in reading order (capabilities, then name).
  func privilegedRegister(_ slot: XMLElement) {
    let entries = model.privileged
    let map = CapabilityMap(checks: model.checks)
    if !map.byCheck.isEmpty {
      slot.add("h3", "Capabilities and the checks that give them")
      let legend = slot.add("dl", class: "facts capability-legend")
      for code in map.codes {
        legend.fact(code) { dd in
          let checks = map.byCheck.filter { $0.value.code == code }.map(\.key).sorted()
          for (i, id) in checks.enumerated() {
            if i > 0 { dd.say("; ") }
            dd.say("a fail or excepted result of ")
            dd.add("code", id)
            if let title = checksByID[id]?.title { dd.say(" (\(title))") }
            if let types = map.byCheck[id]?.principalTypes, types != [.user, .role] {
              dd.say(", " + types.map(\.rawValue).sorted().map { $0 + "s" }.joined(separator: " and ") + " only")
            }
          }
        }
      }
    }
    if entries.isEmpty {
      slot.add(
        "p", "No user or role holds a privileged capability in snapshot \(model.current.id) (\(model.current.capturedAt.dateString)).",
        class: "empty")
      return
    }
    var perCapability: [String: Int] = [:]
    for e in entries { for code in e.capabilities { perCapability[code, default: 0] += 1 } }
    let counts = slot.add("p", class: "section-count")
    counts.say(
      "\(HTMLReport.count(entries.count, "privileged identity", "privileged identities")) in snapshot \(model.current.id): "
        + perCapability.keys.sorted().map { "\($0) \(perCapability[$0]!)" }.joined(separator: " · ") + ".")

    let table = slot.add("table", class: "data register")
    table.add(
      "caption",
      "Privileged access register of snapshot \(model.current.id) (\(model.current.capturedAt.dateString)), by capability, then name")
    let head = table.add("thead").add("tr")
    for title in ["Identity", "Capabilities", "Where it comes from", "Exceptions", "Last used", "Privileged since"] {
      head.add("th", title).set("scope", "col")
    }
    let body = table.add("tbody")
    for e in entries {
      let tr = body.add("tr", class: e.isFullyExcepted ? "row-excepted" : "row-fail")
      let who = tr.add("td")
      who.principal(e.principal)
      who.add("span", "unique id \(e.principal.id)", class: "sub muted")
      let caps = tr.add("td").add("ul", class: "plain capabilities")
      for held in e.held {
        let li = caps.add("li")
        li.add("code", held.code, class: "capability")
        if held.status == .excepted { li.add("span", "excepted", class: "tag tag-inforce") }
        li.add("span", "from \(held.checkID)", class: "sub muted")
        if !held.methods.isEmpty {
          let methods = li.add("ul", class: "inline-list methods")
          for m in held.methods { methods.add("li").add("code", m) }
        }
      }
      let from = tr.add("td")
      if e.sources.isEmpty {
        from.say("—")
      } else {
        let ul = from.add("ul", class: "plain")
        for source in e.sources {
          let li = ul.add("li")
          li.add("span", source.capability + (source.method.map { " · \($0)" } ?? ""), class: "sub muted")
          li.add("code", source.source.label, class: "wrap")
        }
      }
      let exc = tr.add("td")
      if e.exceptions.isEmpty {
        exc.say("none")
      } else {
        let ul = exc.add("ul", class: "plain")
        for x in e.exceptions {
          let li = ul.add("li")
          li.add("strong", x.exception.id)
          li.say(" (\(x.capability); \(x.exception.approvedBy), until \(x.exception.expiresOn))")
        }
      }
      let used = tr.add("td")
      if let last = e.lastUsed {
        if let date = last.date {
          used.add("time", date.dateString).set("datetime", date.description)
          if let region = last.region { used.add("span", region, class: "sub muted") }
        } else {
          used.add("strong", "never", class: "overdue")
        }
      } else {
        used.add("span", "n/a (user)", class: "muted")
      }
      tr.add("td").add("time", e.privilegedSince.dateString).set("datetime", e.privilegedSince.description)
    }
  }

  // MARK: Access reviews

  /// Each review of the period's snapshots (who, when, what was decided, whether revoked access is
  /// gone), and a plain statement when the period's last snapshot has none.
  func reviews(_ slot: XMLElement) {
    if model.currentReview == nil {
      slot.add("p", "No completed review of the period's last snapshot", class: "no-review")
        .say(" (snapshot \(model.current.id), \(model.current.capturedAt.dateString)).")
    }
    if model.reviews.isEmpty {
      slot.add("p", "No access review of any snapshot of the period was imported.", class: "empty")
      return
    }
    let table = slot.add("table", class: "data reviews")
    table.add("caption", "Access reviews of the period's snapshots")
    let head = table.add("thead").add("tr")
    for title in ["Review", "Snapshot", "Reviewed by", "Reviewed on", "Keep", "Revoke", "Exception", "Signed"] {
      head.add("th", title).set("scope", "col")
    }
    let body = table.add("tbody")
    for e in model.reviews {
      let r = e.review
      let tr = body.add("tr")
      tr.add("td").say("Review \(r.id)")
      let snap = tr.add("td")
      snap.say("Snapshot \(e.snapshot.id) of \(e.snapshot.capturedAt.dateString)")
      if e.snapshot.id == model.current.id { snap.add("span", "the period's last", class: "sub muted") }
      tr.add("td").say(r.reviewers.joined(separator: ", "))
      tr.add("td").say(r.firstReviewedOn == r.lastReviewedOn ? r.firstReviewedOn : "\(r.firstReviewedOn) to \(r.lastReviewedOn)")
      for d in ReviewDecision.allCases { tr.add("td", String(r.count(d)), class: "num") }
      let signed = tr.add("td")
      if let f = r.signerFingerprint {
        signed.say("key ")
        signed.add("code", String(f.prefix(16)))
      } else {
        signed.say("unsigned")
      }
    }
    for e in model.reviews {
      let r = e.review
      let p = slot.add("p", class: "review-sheet")
      p.say("Review \(r.id): sheet \(r.sourceName), SHA-256 ")
      p.add("code", r.sheetSHA256, class: "hash")
      p.say(", imported \(r.importedAt.description).")
      if r.isNothingToReview {
        p.say(
          " Nothing to review: the snapshot had no privileged identity and no open finding, and \(r.reviewers.joined(separator: ", ")) confirmed it on \(r.lastReviewedOn)."
        )
      }
      guard !e.followUps.isEmpty else {
        slot.add("p", "Review \(r.id) revoked nothing: there is no follow-up.", class: "muted")
        continue
      }
      let follow = slot.add("table", class: "data follow-ups")
      follow.add("caption", "Follow-up of review \(r.id): access marked revoke, looked for in the account's next snapshot")
      let fh = follow.add("thead").add("tr")
      for title in ["Item", "Reviewer", "Ticket", "Follow-up"] { fh.add("th", title).set("scope", "col") }
      let fb = follow.add("tbody")
      for f in e.followUps {
        let tr = fb.add("tr", class: f.state == .notRevoked ? "row-fail" : (f.state == .revoked ? "row-pass" : nil))
        let item = tr.add("td")
        item.say(f.row.label)
        item.add("code", f.row.rowID, class: "sub muted wrap")
        tr.add("td").say("\(f.row.reviewer), \(f.row.reviewedOn)")
        tr.add("td").say(f.row.ticket.isEmpty ? "—" : f.row.ticket)
        let state = tr.add("td")
        switch f.state {
        case .revoked:
          state.add("strong", "revoked")
          state.say(" (gone in snapshot \(f.nextSnapshotID ?? 0) of \(f.nextCapturedAt?.dateString ?? ""))")
        case .notRevoked:
          state.add("strong", "not revoked", class: "overdue")
          state.say(" (still there in snapshot \(f.nextSnapshotID ?? 0) of \(f.nextCapturedAt?.dateString ?? ""))")
        case .pending:
          state.add("strong", "pending")
          state.say(" (no later snapshot of the account yet)")
        }
      }
    }
  }

  /// The sign-off block of the printed report: prepared by (the operator recorded with the ingest
  /// of the current snapshot), reviewed by and date (from the latest review of the current snapshot)
  /// when they are recorded, each left blank for a hand signature otherwise.
  func signOff(_ slot: XMLElement) {
    let review = model.currentReview?.review
    let dl = slot.add("dl", class: "sign-off-block")
    dl.fact("Prepared by") { dd in
      if let name = model.preparedBy { dd.say(name) } else { dd.add("span", "", class: "sign-line") }
    }
    dl.fact("Reviewed by") { dd in
      if let r = review { dd.say(r.reviewers.joined(separator: ", ")) } else { dd.add("span", "", class: "sign-line") }
    }
    dl.fact("Date") { dd in
      if let r = review { dd.say(r.lastReviewedOn) } else { dd.add("span", "", class: "sign-line") }
    }
    slot.add(
      "p",
      (model.preparedBy == nil
        ? "No operator was recorded with the ingest of snapshot \(model.current.id): prepared by is left to be filled in by hand. "
        : "Prepared by: the operator recorded with the ingest of snapshot \(model.current.id) (ingest --operator). ")
        + (review.map { "Reviewed by and date from review \($0.id) of snapshot \(model.current.id) (sheet SHA-256 \($0.sheetSHA256))." }
          ?? "No completed review of the period's last snapshot: reviewed by and date are left to be filled in by hand."),
      class: "muted")
    slot.add("p", "Document \(model.documentID).", class: "muted")
  }

  // MARK: Exceptions

  func exceptions(_ slot: XMLElement) {
    if let a = model.assessment {
      let p = slot.add("p", class: "register")
      if a.exceptionsContent.isEmpty {
        p.say("No register: assessment \(a.id) applied no exceptions register.")
      } else {
        p.say("Register ")
        p.add("code", a.exceptionsSource ?? "(unnamed)", class: "wrap")
        p.say(", applied in assessment \(a.id) (SHA-256 ")
        p.add("code", a.exceptionsSHA256, class: "hash")
        p.say(").")
      }
    }
    // Exceptions for everything first: each of them excepts every failure of every check.
    let uses = model.exceptions.sorted { ($0.isScopeAll ? 0 : 1, $0.exception.id) < ($1.isScopeAll ? 0 : 1, $1.exception.id) }
    if uses.isEmpty {
      slot.add("p", "No exceptions are registered: every failing result stands as a finding.", class: "empty")
      return
    }
    exceptionsSummary(slot, uses)
    for use in uses {
      let e = use.exception
      let expired = use.daysLeft < 0
      let article = slot.add(
        "article",
        class: "exception" + (expired ? " exception-expired" : "") + (use.isStale ? " exception-stale" : "")
          + (use.isScopeAll ? " exception-scope-all" : ""))
      let head = article.add("header", class: "exception-head")
      head.add("h3", e.id)
      let flags = head.add("p", class: "flags")
      if expired {
        flags.add("span", "Expired", class: "tag tag-expired")
      } else if e.period(at: model.current.capturedAt) == .notYetApproved {
        flags.add("span", "Approved after the capture", class: "tag tag-stale")
      } else {
        flags.add("span", "In force", class: "tag tag-inforce")
      }
      if use.isScopeAll { flags.add("span", "Scope: everything", class: "tag tag-expired") }
      if use.isStale { flags.add("span", "Stale: matched nothing", class: "tag tag-stale") }
      if use.expiredMatches > 0 {
        flags.add("span", "Expired but still matching \(HTMLReport.count(use.expiredMatches, "failing result"))", class: "tag tag-expired")
      }
      if use.notYetApprovedMatches > 0 {
        flags.add(
          "span", "Approved after the capture, matching \(HTMLReport.count(use.notYetApprovedMatches, "failing result"))",
          class: "tag tag-stale")
      }
      if use.isScopeAll {
        let warning = article.add("p", class: "scope-all-warning")
        warning.add(
          "strong", "Warning: this exception excepts every failure of every check.", class: "overdue")
        warning.say(
          " It covers every check, every principal and every policy (the register says \"scope_all\": true): while it is in force, no failing result of the snapshot is reported as a finding."
        )
      }
      let dl = article.add("dl", class: "facts")
      dl.fact("Check") { $0.add("code", e.check == "*" ? "* (every check)" : e.check) }
      dl.fact("Scope") { dd in
        let ul = dd.add("ul", class: "plain")
        if let p = e.principal {
          let li = ul.add("li")
          li.say("principal ")
          li.add("code", p, class: "wrap")
        }
        if let p = e.policy {
          let li = ul.add("li")
          li.say("policy ")
          li.add("code", p, class: "wrap")
        }
        if let accounts = e.accounts {
          let li = ul.add("li")
          li.say(accounts.count == 1 ? "account " : "accounts ")
          li.add("code", accounts.joined(separator: ", "), class: "wrap")
        }
      }
      dl.fact("Approved") { $0.say("by \(e.approvedBy) on \(e.approvedOn.dateString)") }
      dl.fact("Expires on") { dd in
        dd.say(e.expiresOnDate + " — ")
        let days = use.daysLeft
        dd.add(
          "strong", days >= 0 ? HTMLReport.count(days, "day") + " left" : HTMLReport.count(-days, "day") + " ago",
          class: expired ? "overdue" : (days <= 30 ? "due-soon" : nil))
        dd.say(" (from the capture of snapshot \(model.current.id))")
      }
      dl.fact("Applied to") { $0.say(HTMLReport.count(use.appliedTo, "result") + " in the current snapshot") }
      if use.expiredMatches > 0 || use.notYetApprovedMatches > 0 {
        dl.fact("Matched, not applied") { dd in
          let ul = dd.add("ul", class: "plain")
          if use.notYetApprovedMatches > 0 {
            ul.add(
              "li",
              HTMLReport.count(use.notYetApprovedMatches, "failing result")
                + " captured before the exception was approved (exception-not-yet-approved)")
          }
          if use.expiredMatches > 0 {
            ul.add("li", HTMLReport.count(use.expiredMatches, "failing result") + " captured after it expired (exception-expired)")
          }
        }
      }
      dl.fact("Justification") { $0.say(e.justification) }
      dl.fact("Ticket") { $0.say(e.ticket ?? "—") }
      dl.fact("Compensating control") { $0.say(e.compensatingControl ?? "—") }
    }
  }

  /// One paragraph counting the register's exceptions: in force, expired, stale, those that cover
  /// everything (said first and in bold), and the failures matched but not excepted.
  func exceptionsSummary(_ slot: XMLElement, _ uses: [ExceptionUse]) {
    let p = slot.add("p", class: "exceptions-summary")
    let capturedAt = model.current.capturedAt
    let expired = uses.filter { $0.daysLeft < 0 }.count
    let later = uses.filter { $0.daysLeft >= 0 && $0.exception.period(at: capturedAt) == .notYetApproved }.count
    let scopeAll = uses.filter(\.isScopeAll)
    if !scopeAll.isEmpty {
      p.add(
        "strong",
        "\(HTMLReport.count(scopeAll.count, "exception covers", "exceptions cover")) every check, principal and policy (scope_all: \(scopeAll.map(\.exception.id).joined(separator: ", "))), excepting every failure of every check while in force.",
        class: "overdue")
      p.say(" ")
    }
    var sentence =
      "\(HTMLReport.count(uses.count, "exception")) in the register: \(uses.count - expired - later) in force, \(expired) expired"
      + (later > 0 ? ", \(later) approved after the capture" : "") + "; \(uses.filter(\.isStale).count) stale (matched nothing)."
    let notYet = uses.reduce(0) { $0 + $1.notYetApprovedMatches }
    let lapsed = uses.reduce(0) { $0 + $1.expiredMatches }
    if notYet > 0 {
      sentence +=
        " \(HTMLReport.count(notYet, "match", "matches")) of a failing result by an exception approved after the capture, not applied."
    }
    if lapsed > 0 {
      sentence += " \(HTMLReport.count(lapsed, "match", "matches")) of a failing result by an expired exception, not applied."
    }
    p.say(sentence)
  }

  // MARK: Trend

  /// Where a check's version changed within the period: its counts before and after follow different
  /// rules, so a change in them there is not a change of the account.
  func versionChanges(_ slot: XMLElement) {
    let changes = model.versionChanges
    guard !changes.isEmpty else { return }
    let box = slot.add("div", class: "version-changes")
    box.add("h3", "Check versions changed in the period")
    box.add(
      "p",
      "These checks were assessed with another version from the snapshot named: their rules changed there, so their counts before and after are not comparable, and findings that appear or disappear at that snapshot are not new or resolved because of it.",
      class: "muted")
    let ul = box.add("ul")
    for c in changes {
      let li = ul.add("li")
      li.add("code", c.checkID)
      func v(_ x: Int?) -> String { x.map { "version \($0)" } ?? "not assessed" }
      li.say(": \(v(c.fromVersion)) to \(v(c.toVersion)) at snapshot \(c.snapshotID) (\(c.capturedAt.dateString))")
    }
  }

  // MARK: Population

  /// Returns where the facts about evidence.xml are, when the report names the files.
  @discardableResult
  func population(_ slot: XMLElement) -> XMLElement? {
    let evidenceFact = files.map { populationFiles($0, into: slot) }
    let groups = orderedChecks.map { ($0.id, $0.title, $0.population) } + uncataloguedCheckIDs.map { ($0, $0, "") }
    for (id, title, population) in groups {
      let block = slot.add("div", class: "population-check")
      block.set("id", "population-\(id)")
      let h3 = block.add("h3")
      h3.say(title + " ")
      h3.add("code", id, class: "h-code")
      if !population.isEmpty { block.add("p", population, class: "muted") }
      let c = model.counts(of: id)
      block.add(
        "p", "\(HTMLReport.count(c.total, "subject")): \(c.fail) fail, \(c.error) error, \(c.excepted) excepted, \(c.pass) pass.",
        class: "section-count")
      if c.total > rowLimit {
        populationSummary(of: id, counts: c, into: block)
        continue
      }
      let results = model.results(of: id)
      if results.isEmpty {
        block.add("p", "No subjects were examined by this check in the current snapshot.", class: "empty")
        continue
      }
      let table = block.add("table", class: "data population")
      let head = table.add("thead").add("tr")
      head.add("th", "#", class: "num").set("scope", "col")
      for title in ["Status", "Principal", "Policy"] { head.add("th", title).set("scope", "col") }
      let body = table.add("tbody")
      for (i, r) in results.enumerated() {
        let tr = body.add("tr", class: "row-\(r.status.rawValue)")
        tr.add("td", String(i + 1), class: "num")
        tr.add("td", class: "status-cell").badge(r.status)
        subjectCells(r, into: tr)
      }
    }
    return evidenceFact
  }

  /// Where the subjects of check `id` are, when there are too many to list.
  func populationSummary(of id: String, counts c: StatusCounts, into block: XMLElement) {
    let p = block.add("p", class: "population-summary")
    p.say(
      rowLimit == 0
        ? "Not listed here (the organisation's report gives each account's population as counts). "
        : "Not listed here: more than \(HTMLReport.grouped(rowLimit)) subjects. ")
    if let rows = files?.csvRows[id] {
      p.say("They are rows \(HTMLReport.grouped(rows.lowerBound)) to \(HTMLReport.grouped(rows.upperBound)) of ")
    } else {
      p.say("They are the rows of check \(id) in ")
    }
    p.add("code", ReportRenderer.populationCSVName)
    p.say(" (counted after its header line) and the result elements with check=\"\(id)\" in the population of ")
    p.add("code", "evidence.xml")
    let notPass = c.fail + c.error + c.excepted
    p.say(
      notPass == 0
        ? "; none is a finding."
        : "; the \(HTMLReport.count(notPass, "that is not a pass", "that are not a pass")) "
          + (notPass == 1 ? "is" : "are") + " listed under Findings.")
  }

  /// The files holding the complete population, with their row counts and SHA-256, when the report
  /// lists some checks' populations only as counts. Returns the element holding evidence.xml's facts.
  func populationFiles(_ files: HTMLReport.PopulationFiles, into slot: XMLElement) -> XMLElement {
    let box = slot.add("div", class: "population-files")
    box.add(
      "p",
      "This snapshot's population is \(HTMLReport.grouped(model.results.count)) results. "
        + (rowLimit == 0
          ? "Each check's population is summarised below with its counts; every result, "
          : "Checks with more than \(HTMLReport.grouped(rowLimit)) subjects are summarised below with their counts; every result, ")
        + "passes included, is in the two files beside this report, and every finding (a result that is not a pass) is also "
        + "listed under Findings. A handoff package (iam-evidence package) carries both files, and its manifest covers them.")
    let dl = box.add("dl", class: "facts")
    dl.fact(files.csv.name) { dd in
      dd.say(
        "\(HTMLReport.grouped(files.csv.rows)) rows after the header line, one per result, by check in the order below: snapshot, "
          + "check and its version, status, principal (type, name, ARN, unique id), policy (kind, name, ARN, version, document "
          + "SHA-256), exception, finding key; \(HTMLReport.grouped(files.csv.byteCount)) bytes, SHA-256 ")
      dd.add("code", files.csv.sha256, class: "hash")
    }
    var evidenceFact: XMLElement?
    dl.fact(files.evidence.name) { dd in
      Self.evidenceFact(files.evidence, findings: model.findings.count, into: dd)
      evidenceFact = dd
    }
    return evidenceFact!
  }

  /// What the report says of evidence.xml (`file`), a model of `findings` findings.
  static func evidenceFact(_ file: RenderedFile, findings: Int, into dd: XMLElement) {
    dd.say(
      "the canonical evidence: its population element holds the \(HTMLReport.grouped(file.rows)) results, its "
        + "findings element the detail of each of the \(HTMLReport.grouped(findings)) findings; "
        + "\(HTMLReport.grouped(file.byteCount)) bytes, SHA-256 ")
    dd.add("code", file.sha256, class: "hash")
  }

  // MARK: Methodology

  func methodology(_ slot: XMLElement) {
    for check in orderedChecks {
      let article = slot.add("article", class: "method")
      article.set("id", "method-\(check.id)")
      let h3 = article.add("h3")
      h3.say(check.title + " ")
      h3.add("code", check.id, class: "h-code")
      let dl = article.add("dl", class: "facts")
      dl.fact("Check") { dd in
        dd.add("code", check.id)
        dd.say(", version \(check.version)")
        if check.isPrimary { dd.add("span", "Founding test", class: "tag tag-primary") }
      }
      dl.fact("Controls") { dd in
        for (i, id) in check.controls.enumerated() {
          if i > 0 { dd.say(", ") }
          let title = model.controls.first { $0.id == id }?.title
          let text = id + (title.map { " \($0)" } ?? "")
          if i == 0 { dd.add("strong", text) } else { dd.say(text) }
        }
        dd.say(check.controls.count > 1 ? " (the first is primary: it gives the verdict)" : " (primary: it gives the verdict)")
      }
      if let target = check.target {
        dl.fact("Actions examined") { dd in
          dd.say(target.description)
          if let n = model.actionCatalog?.targetSizes[check.id] {
            dd.say(" (\(HTMLReport.grouped(n)) action\(n == 1 ? "" : "s") of the action catalog)")
          }
        }
      }
      if !check.references.isEmpty {
        dl.fact("References") { $0.say(check.references.map(\.label).joined(separator: "; ")) }
      }
      dl.fact("Population") { $0.say(check.population) }
      dl.fact("Rationale") { $0.say(check.rationale) }
      article.add("h4", "Rules applied")
      let ol = article.add("ol", class: "rules")
      for rule in check.methodology { ol.add("li", rule) }
    }

    if let catalog = model.actionCatalog {
      let block = slot.add("div", class: "action-catalog")
      block.add("h3", "Action catalog")
      let p = block.add("p")
      p.say(
        "\"Every action\" and the actions of a service or access level mean those of the action catalog shipped with the tool: "
          + "\(catalog.description). Actions a policy names that the catalog does not list are ignored; a grant of every action "
          + "of this catalog is judged as a grant of every action.")
      let dl = block.add("dl", class: "facts")
      dl.fact("Source") { $0.say("\(catalog.source.source), \(catalog.source.version), licence \(catalog.source.licence)") }
      dl.fact("Data of") { $0.say(catalog.source.date) }
      if let sha = catalog.source.sha256 {
        dl.fact("Source SHA-256") { $0.add("code", sha, class: "hash") }
      }
    }

    let block = slot.add("div", class: "controls")
    block.add("h3", "Controls and the ISO/IEC 27001:2013 crosswalk")
    let table = block.add("table", class: "data controls-table")
    let head = table.add("thead").add("tr")
    for title in [ControlCatalog.bundled.framework, "Title", "Control text", "Verdict", "ISO/IEC 27001:2013"] {
      head.add("th", title).set("scope", "col")
    }
    let body = table.add("tbody")
    let verdicts = Dictionary(model.controlVerdicts.map { ($0.control.id, $0.verdict) }, uniquingKeysWith: { a, _ in a })
    for control in model.controls {
      let tr = body.add("tr")
      tr.add("th", control.id).set("scope", "row")
      tr.add("td", control.title)
      tr.add("td", control.description)
      if let v = verdicts[control.id] {
        tr.add("td", HTMLReport.label(v), class: "verdict-cell verdict-cell-\(v.rawValue)")
      } else {
        tr.add("td", "related control only (primary of no check)", class: "muted")
      }
      let old = tr.add("td")
      let ul = old.add("ul", class: "plain")
      for entry in control.crosswalk2013 {
        let li = ul.add("li")
        li.add("strong", entry.id)
        li.say(" " + entry.title)
      }
    }
  }

  // MARK: Chain of custody

  func custody(_ slot: XMLElement) {
    let table = slot.add("table", class: "data snapshots")
    table.add(
      "caption",
      model.periodStart == nil
        ? "Snapshots in the period, oldest first"
        : "Snapshots in the period, oldest first, after the last one before it (the state at its start)")
    let head = table.add("thead").add("tr")
    for title in ["Id", "Source file", "Captured and ingested (UTC)", "Size", "SHA-256 of the file"] {
      head.add("th", title).set("scope", "col")
    }
    let body = table.add("tbody")
    let listed = (model.periodStart.map { [$0] } ?? []) + model.snapshots.sorted(by: { ($0.capturedAt, $0.id) < ($1.capturedAt, $1.id) })
    for s in listed {
      let tr = body.add("tr", class: s.id == model.current.id ? "current-row" : nil)
      let idCell = tr.add("th")
      idCell.set("scope", "row")
      idCell.say(String(s.id))
      if s.id == model.current.id { idCell.add("span", "current", class: "tag tag-primary") }
      if s.id == model.periodStart?.id { idCell.add("span", "before the period: the state at its start", class: "tag tag-control") }
      let source = tr.add("td")
      source.add("code", s.sourceName, class: "wrap")
      var extra = ["encoding \(s.encoding) (\(s.encodingDescription))", "ingested by \(s.toolVersion)"]
      if let label = s.label { extra.insert("label \(label)", at: 0) }
      if s.isTruncated { extra.append("TRUNCATED export accepted with --allow-truncated") }
      source.add("span", extra.joined(separator: " · "), class: "sub muted")
      let times = tr.add("td")
      let captured = times.add("span", "captured ", class: "line")
      captured.add("time", s.capturedAt.description).set("datetime", s.capturedAt.description)
      times.add("span", "(" + HTMLReport.label(s.capturedAtSource) + ")", class: "sub muted")
      let ingested = times.add("span", "ingested ", class: "line")
      ingested.add("time", s.ingestedAt.description).set("datetime", s.ingestedAt.description)
      tr.add("td", HTMLReport.grouped(s.byteSize) + " bytes", class: "num nowrap")
      tr.add("td").add("code", s.sha256, class: "hash")
    }

    let dl = slot.add("dl", class: "facts custody-facts")
    if let a = model.assessment {
      dl.fact("Assessment") { dd in
        dd.say("Assessment \(a.id) of snapshot \(a.snapshotID), run at ")
        dd.add("time", a.assessedAt.description).set("datetime", a.assessedAt.description)
        dd.say(" by \(model.toolName) \(a.toolVersion)")
      }
      dl.fact("Checks run") { dd in
        let ul = dd.add("ul", class: "inline-list")
        for c in a.checks.sorted() { ul.add("li").add("code", c) }
      }
      dl.fact("Exceptions register") { dd in
        if a.exceptionsContent.isEmpty {
          dd.say("no register: the assessment applied none")
        } else {
          dd.say((a.exceptionsSource ?? "(unnamed)") + ", SHA-256 ")
          dd.add("code", a.exceptionsSHA256, class: "hash")
        }
      }
    } else {
      dl.fact("Assessment") { $0.say("no assessment record found") }
    }
    if let head = model.ledger.latest {
      dl.fact("Ledger chain head") { dd in
        dd.add("code", head.head, class: "hash")
        dd.say(
          " after entry \(head.entry) of the database's ledger: the hash chain over the stored rows of these snapshots, rechecked against them when this report was generated. A later report or package whose chain no longer passes through this head means the records changed."
        )
      }
    }
    dl.fact("Report generated") { dd in
      dd.add("time", model.generatedAt.description).set("datetime", model.generatedAt.description)
      dd.say(" by \(model.toolName) \(model.toolVersion)")
    }
    if let catalog = model.actionCatalog {
      dl.fact("Action catalog") { dd in
        dd.say("\(catalog.source.version), data of \(catalog.source.date)")
        if let sha = catalog.source.sha256 {
          dd.say(", source SHA-256 ")
          dd.add("code", sha, class: "hash")
        }
      }
    }
    dl.fact("SQLite") { $0.say(model.sqliteVersion) }
    dl.fact("libxml2") { $0.say(XMLTree.libxml2Version) }
  }
}

// MARK: - The period: verdicts and every finding seen in it

extension Context {
  /// The verdict of each control over the period: one row per snapshot (the state at the period's
  /// start first), one column per control, and the period's verdict in the last row, with what each
  /// rests on. Nothing for the evidence of a single snapshot.
  func periodVerdicts(_ slot: XMLElement) {
    let period = model.periodVerdicts
    guard let first = period.first else { return }
    let block = slot.add("div", class: "period-verdicts")
    block.set("id", "period-verdicts")
    block.add("h3", "Verdicts over the period")
    block.add(
      "p",
      "A control is effective over the period only when it is effective in every snapshot from the period's start to its end. "
        + "The state at the start is that of the last snapshot captured at or before it; without one, the verdict is "
        + "\"No evidence\" (unless some snapshot is not effective).",
      class: "muted")
    let table = block.add("table", class: "data period-verdict-table")
    table.add("caption", "Verdict per snapshot and for the period \(model.periodDescription)")
    let head = table.add("thead").add("tr")
    head.add("th", "Snapshot").set("scope", "col")
    for a in period { head.add("th", "\(a.control.id) \(a.control.title)").set("scope", "col") }
    let body = table.add("tbody")
    if !first.startCovered, model.periodStart == nil, let from = model.periodFrom {
      let tr = body.add("tr")
      let th = tr.add("th", "Period start \(from.dateString)")
      th.set("scope", "row")
      th.add("span", "no snapshot at or before it", class: "sub muted")
      for _ in period { tr.add("td", "No evidence", class: "verdict-cell verdict-cell-error") }
    }
    for (i, v) in first.snapshots.enumerated() {
      let tr = body.add("tr")
      let th = tr.add("th", "Snapshot \(v.snapshot.id) · \(v.snapshot.capturedAt.dateString)")
      th.set("scope", "row")
      if v.isPeriodStart { th.add("span", "before the period: the state at its start", class: "sub muted") }
      if v.snapshot.id == model.current.id { th.add("span", "current", class: "tag tag-primary") }
      for a in period {
        let verdict = a.snapshots[i].verdict
        tr.add(
          "td", verdict.map(HTMLReport.label) ?? "Not assessed",
          class: "verdict-cell verdict-cell-\(verdict?.rawValue ?? "error")")
      }
    }
    let total = table.add("tfoot").add("tr")
    total.add("th", "The period").set("scope", "row")
    for a in period {
      total.add("td", class: "verdict-cell verdict-cell-\(a.verdict.rawValue)").add("strong", HTMLReport.label(a.verdict))
    }
    let ul = block.add("ul", class: "plain period-explanations")
    for a in period {
      let li = ul.add("li")
      li.add("strong", "\(a.control.id): \(HTMLReport.label(a.verdict)).")
      li.say(" " + a.explanation)
    }
  }

  /// Every finding seen in any snapshot of the period (or in the state at its start), with its first
  /// and last sighting and its state at the period's end: a finding that came and went between two
  /// snapshots is here even though the current snapshot no longer shows it.
  func periodFindings(_ slot: XMLElement) {
    guard model.isPeriod else { return }
    let list = model.periodFindings
    let block = slot.add("div", class: "period-findings")
    block.set("id", "period-findings")
    block.add("h3", "Every finding of the period")
    var states: [FindingEndState: Int] = [:]
    for f in list { states[f.state, default: 0] += 1 }
    block.add(
      "p",
      "\(HTMLReport.count(list.count, "finding")) seen in the \(HTMLReport.count(model.snapshots.count, "snapshot")) of the period"
        + (model.periodStart.map { " and in snapshot \($0.id), the state at its start" } ?? "") + ": "
        + FindingEndState.allCases.map { "\(states[$0] ?? 0) \($0.label)" }.joined(separator: ", ") + " at the period's end.",
      class: "section-count")
    guard !list.isEmpty else {
      block.add("p", "No result failed in any snapshot of the period.", class: "empty")
      return
    }
    let table = block.add("table", class: "data period-findings-table")
    table.add("caption", "Findings of the period, by state at its end, then check and first sighting")
    let head = table.add("thead").add("tr")
    for title in ["#", "At the period's end", "Check", "Subject", "First seen", "Last seen", "Why (as last seen)"] {
      head.add("th", title).set("scope", "col")
    }
    let body = table.add("tbody")
    for (i, f) in list.enumerated() {
      let tr = body.add("tr", class: "row-\(Self.statusClass(f.state))")
      tr.add("td", String(i + 1), class: "num")
      let state = tr.add("td", class: "status-cell")
      state.add("span", f.state.label, class: "badge badge-\(Self.statusClass(f.state))")
      if let at = f.lifetime.resolvedAt, f.state == .resolved {
        state.add("span", "by \(at.dateString)", class: "sub muted")
      }
      if let x = f.result.exception { state.add("span", "exception \(x.id)", class: "sub muted") }
      let check = tr.add("td")
      check.add("code", f.checkID)
      let who = tr.add("td")
      if let p = f.result.principal { who.principal(p) }
      if let p = f.result.policy {
        if f.result.principal != nil { who.add("br") }
        who.policy(p, showHash: false)
      }
      for (cell, time, id) in [
        (tr.add("td", class: "nowrap"), f.lifetime.firstSeen, f.lifetime.firstSnapshotID),
        (tr.add("td", class: "nowrap"), f.lifetime.lastSeen, f.lifetime.lastSnapshotID),
      ] {
        cell.add("time", time.dateString).set("datetime", time.description)
        cell.add("span", "snapshot \(id)", class: "sub muted")
      }
      tr.add("td", f.result.why)
    }
  }

  /// The badge colour of a state at the period's end: open as fail, error as error, excepted as
  /// excepted, resolved (and ended by a version change) as pass.
  static func statusClass(_ state: FindingEndState) -> String {
    switch state {
    case .open: return "fail"
    case .error: return "error"
    case .excepted: return "excepted"
    case .resolved, .endedByVersionChange: return "pass"
    }
  }
}

// MARK: - Building blocks of the report (over XHTMLBuilder's add, say, set and fact)

extension XMLElement {
  /// A status badge: a coloured pill that also says the status in words.
  fileprivate func badge(_ status: ResultStatus) {
    add("span", HTMLReport.label(status), class: "badge badge-\(status.rawValue)")
  }

  /// A principal: type, name and ARN.
  fileprivate func principal(_ p: PrincipalRef) {
    add("span", p.type.rawValue, class: "ptype")
    say(" ")
    add("strong", p.name, class: "pname wrap")
    add("code", p.arn, class: "arn")
  }

  fileprivate func principalList(_ list: [PrincipalRef]) {
    let ul = add("ul", class: "plain principals")
    for p in list.sorted() { ul.add("li").principal(p) }
  }

  /// A policy: kind and name; for managed policies the ARN and the version judged.
  fileprivate func policy(_ p: PolicyRef, showHash: Bool = true) {
    add("span", p.kind.rawValue, class: "ptype")
    say(" ")
    add("strong", p.name, class: "wrap")
    if let v = p.versionID { add("span", " version \(v)", class: "version") }
    if let arn = p.arn { add("code", arn, class: "arn") }
    if showHash {
      let line = add("span", class: "sub muted")
      line.say("document SHA-256 ")
      line.add("code", p.documentSHA256, class: "hash")
    }
  }
}
