import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// The HTML audit report: content, safety against hostile snapshot text, determinism.
///
/// Set `IAM_EVIDENCE_HTML_PREVIEW=/some/dir` to have the tests also write the reports they render
/// there (`demo.html`, `dev-series.html`, `hostile.html`) for viewing in a browser.
@Suite(.temporaryDirectories) struct HTMLReportTests {
  static let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
  static let generatedAt = Timestamp(parsing: "2024-07-01T08:00:00Z")!
  static let ns = ["h": XMLNamespaces.xhtml, "svg": XMLNamespaces.svg]
  static let sectionIDs = [
    "report-header", "summary", "findings", "privileged", "exceptions", "trend", "population", "methodology", "custody",
  ]

  // MARK: Helpers

  /// Parses the report back as XML (dropping the `<!DOCTYPE html>` line): it must be well-formed.
  static func parse(_ bytes: [UInt8]) throws -> XMLDocument {
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(text.hasPrefix("<!DOCTYPE html>\n"))
    return try XMLDocument(string: String(text.drop { $0 != "\n" }.dropFirst()))
  }

  static func count(_ doc: XMLDocument, _ xpath: String) throws -> Int { try doc.nodes(matching: xpath, namespaces: ns).count }

  static func preview(_ name: String, _ bytes: [UInt8]) throws {
    guard let dir = ProcessInfo.processInfo.environment["IAM_EVIDENCE_HTML_PREVIEW"], !dir.isEmpty else { return }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
  }

  /// An exceptions register for the demo account: one in force, one expired, one matching nothing.
  static let demoRegister = """
    {"exceptions": [
      {"id": "EX-2024-001", "check": "kms-full-access-identity",
       "scope": {"principal": "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"},
       "justification": "Break-glass role for the organisation's management account; access is logged and reviewed monthly.",
       "approved_by": "ciso@example.com", "approved_on": "2024-01-15", "expires_on": "2024-12-31",
       "ticket": "SEC-1042", "compensating_control": "CloudTrail alert on every AssumeRole of this role."},
      {"id": "EX-2023-017", "check": "kms-decrypt-all-keys", "scope": {"policy": "ci-boundary"},
       "justification": "CI needed to decrypt artefacts during the migration.",
       "approved_by": "head-of-platform@example.com", "approved_on": "2023-10-01", "expires_on": "2024-04-30"},
      {"id": "EX-2024-009", "check": "*", "scope": {"principal": "legacy-*"},
       "justification": "Legacy batch users, decommissioned in Q2.",
       "approved_by": "ciso@example.com", "approved_on": "2024-02-01", "expires_on": "2024-09-30", "ticket": "SEC-1101"}
    ]}
    """

  /// The demo account, ingested and assessed with `register`, as the evidence model of its period.
  static func demoModel(register: String? = demoRegister) throws -> EvidenceModel {
    let (store, _) = try TestSupport.makeStore()
    let reg = try register.map { try ExceptionRegister(bytes: Array($0.utf8), source: "exceptions.json") } ?? .empty
    for (url, capturedAt) in try DemoData.snapshots() {
      let source = IngestSource(name: "demo/" + url.lastPathComponent, bytes: try TestSupport.bytes(url), modificationTime: nil)
      let outcome = try store.workflow.ingest(
        source, options: IngestOptions(capturedAt: capturedAt, label: "demo", now: TestSupport.fixedNow))
      guard case .ingested(let record) = outcome else { throw StoreError(path: url.path, message: "not ingested") }
      try store.workflow.assess(snapshotID: record.id, register: reg, now: TestSupport.fixedNow)
    }
    return try store.workflow.evidence(
      scope: .period(from: Timestamp(parsing: "2024-03-01T00:00:00Z")!, to: Timestamp(parsing: "2024-05-31T23:59:59Z")!),
      account: nil, generatedAt: generatedAt)
  }

  /// The shared dev-series fixtures (three months), assessed, as the evidence model of the quarter.
  static func devSeriesStore() throws -> EvidenceStore {
    let (store, _) = try TestSupport.makeStore()
    for (month, day) in [("2024-01", "31"), ("2024-02", "29"), ("2024-03", "31")] {
      let record = try TestSupport.ingest(
        store, TestSupport.fixture("dev-series/\(month).json"), capturedAt: "\(month)-\(day)T23:00:00Z")
      try store.workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
    }
    return store
  }

  static func devSeriesModel(_ store: EvidenceStore) throws -> EvidenceModel {
    try store.workflow.evidence(
      scope: .period(from: Timestamp(parsing: "2024-01-01T00:00:00Z")!, to: Timestamp(parsing: "2024-03-31T23:59:59Z")!),
      account: nil, generatedAt: generatedAt)
  }

  /// Structure every rendered report must have, whatever the data.
  static func expectStructure(_ doc: XMLDocument, _ bytes: [UInt8], model: EvidenceModel) throws {
    for id in sectionIDs {
      let sections = try doc.nodes(matching: "//h:section[@id='\(id)']", namespaces: ns)
      #expect(sections.count == 1, "section \(id)")
      #expect(try sections.first?.nodes(matching: "h:h1|h:h2", namespaces: ns).count == 1, "heading of section \(id)")
    }
    #expect(try count(doc, "//h:section[@id='findings']//h:article") == model.findings.count)
    #expect(try count(doc, "//h:section[@id='population']//h:table/h:tbody/h:tr") == model.results.count)
    #expect(try count(doc, "//h:section[@id='privileged']//h:tbody/h:tr") == model.privileged.count)
    #expect(try count(doc, "//h:section[@id='exceptions']//h:article") == model.exceptions.count)
    // One line per check, and one for the privileged identities of the register.
    #expect(try count(doc, "//svg:svg[contains(@class,'trend-chart')]//svg:polyline") == model.checks.count + 1)
    #expect(
      try count(doc, "//svg:svg[contains(@class,'trend-chart')]/svg:g[@data-series='privileged-identities']/svg:polyline") == 1)
    for check in model.checks {
      #expect(try count(doc, "//svg:svg[contains(@class,'trend-chart')]/svg:g[@data-check='\(check.id)']/svg:polyline") == 1)
    }
    // The trend's data table: one row per snapshot of the period.
    #expect(try count(doc, "//h:table[contains(@class,'trend-table')]/h:tbody/h:tr") == model.snapshots.count)
    // Summary: one verdict per control that is some check's primary control, the founding control first.
    let boxes = try doc.nodes(matching: "//h:section[@id='summary']//h:div[contains(@class,'verdict-box')]", namespaces: ns)
    #expect(boxes.count == model.controlVerdicts.count)
    for (box, a) in zip(boxes, model.controlVerdicts) {
      #expect(box.attribute("class")?.contains("verdict-\(a.verdict.rawValue)") == true)
      #expect(box.textContent.contains(HTMLReport.label(a.verdict)))
      for c in a.checks { #expect(box.textContent.contains(c.id)) }
    }
    let titles = try doc.nodes(matching: "//h:section[@id='summary']//h:p[contains(@class,'control-title')]", namespaces: ns)
    #expect(titles.map(\.textContent) == model.controlVerdicts.map { "\($0.control.id) \($0.control.title)" })
    // A row per check, the founding test first.
    let summaryRows = try doc.nodes(matching: "//h:section[@id='summary']//h:table[contains(@class,'counts')]/h:tbody/h:tr", namespaces: ns)
    #expect(summaryRows.count == model.checks.count)
    let primary = model.checks.first(where: \.isPrimary)!
    #expect(summaryRows.first?.textContent.contains(primary.id) == true)
    #expect(summaryRows.first?.textContent.contains("Founding test") == true)
    // Methodology: one block per check, every rule listed.
    #expect(try count(doc, "//h:section[@id='methodology']//h:article") == model.checks.count)
    #expect(
      try count(doc, "//h:section[@id='methodology']//h:ol[contains(@class,'rules')]/h:li")
        == model.checks.reduce(0) { $0 + $1.methodology.count })
    // Chain of custody: every snapshot's full hash, the tool and library versions.
    let custody = try #require(try doc.firstNode(matching: "//h:section[@id='custody']", namespaces: ns)).textContent
    for s in model.snapshots { #expect(custody.contains(s.sha256)) }
    #expect(custody.contains(model.sqliteVersion))
    #expect(custody.contains(XMLTree.libxml2Version))
    #expect(custody.contains(model.toolVersion))
    // Head: CSP, charset, the inlined stylesheet; no scripts or external resources.
    let csp = try #require(try doc.firstNode(matching: "//h:meta[@http-equiv='Content-Security-Policy']", namespaces: ns))
    #expect(csp.attribute("content")?.hasPrefix("default-src 'none'") == true)
    #expect(try count(doc, "//h:meta[@charset='utf-8']") == 1)
    let style = try #require(try doc.firstNode(matching: "//h:style", namespaces: ns))
    #expect(style.textContent.contains("@media print"))
    #expect(try count(doc, "//*[local-name()='script']") == 0)
    #expect(try count(doc, "//*[@src] | //h:link | //h:iframe | //h:object") == 0)
    let raw = String(decoding: bytes, as: UTF8.self).lowercased()
    #expect(!raw.contains("<script"))
    #expect(!raw.contains("data-slot=\"\"") && !raw.contains("&nbsp;"))
    // Header facts.
    let header = try #require(try doc.firstNode(matching: "//h:section[@id='report-header']", namespaces: ns)).textContent
    #expect(header.contains("Privileged access rights — audit evidence"), "the title comes from the founding control")
    for a in model.controlVerdicts { #expect(header.contains("\(a.control.id) \(a.control.title)")) }
    let h1 = try #require(try doc.firstNode(matching: "//h:section[@id='report-header']/h:h1", namespaces: ns)).textContent
    #expect(h1 == "Privileged access rights — audit evidence")
    #expect(header.contains(model.account))
    #expect(header.contains(model.periodDescription))
    #expect(header.contains(model.current.capturedAt.description))
    #expect(header.contains(model.generatedAt.description))
    let running = try #require(try doc.firstNode(matching: "//h:thead[contains(@class,'running-header')]", namespaces: ns)).textContent
    #expect(running.contains(model.account) && running.contains(model.periodDescription))
  }

  // MARK: Tests

  @Test func demoReportHasEverySectionAndTheWholePopulation() throws {
    let model = try Self.demoModel()
    #expect(!model.findings.isEmpty && !model.exceptions.isEmpty)
    let bytes = try HTMLReport.render(model, templates: Self.templates)
    try Self.preview("demo.html", bytes)
    let doc = try Self.parse(bytes)
    try Self.expectStructure(doc, bytes, model: model)

    // The verdict, prominently.
    let verdict = try #require(try doc.firstNode(matching: "//h:*[contains(@class,'verdict-word')]", namespaces: Self.ns))
    #expect(model.verdict == .notEffective)
    #expect(verdict.textContent == "Not effective")
    // Findings most severe first, each with a status badge that says the status in words.
    let badges = try doc.nodes(
      matching: "//h:section[@id='findings']//h:article/h:header/h:span[contains(@class,'badge')]", namespaces: Self.ns)
    #expect(badges.map(\.textContent) == model.findings.map { HTMLReport.label($0.status) })
    // Offending statements and remediation commands.
    #expect(try Self.count(doc, "//h:section[@id='findings']//h:pre[contains(@class,'json')]") >= model.findings.count / 2)
    #expect(try Self.count(doc, "//h:section[@id='findings']//h:code[contains(@class,'command')]") > 0)
    // The applied exception shows on its finding and in the register.
    let excepted = try #require(model.findings.first { $0.status == .excepted })
    let article = try #require(
      try doc.firstNode(matching: "//h:article[contains(@class,'finding-excepted')]", namespaces: Self.ns))
    #expect(article.textContent.contains(excepted.exception!.id))
    let exceptions = try #require(try doc.firstNode(matching: "//h:section[@id='exceptions']", namespaces: Self.ns)).textContent
    #expect(exceptions.contains("EX-2023-017") && exceptions.contains("Expired"))
    #expect(exceptions.contains("Stale: matched nothing"))
    #expect(exceptions.contains("SEC-1042") && exceptions.contains("CloudTrail alert"))
    // The register: every privileged identity with its capabilities and sources; the identities
    // with full KMS access are in it.
    let register = try #require(try doc.firstNode(matching: "//h:section[@id='privileged']", namespaces: Self.ns)).textContent
    for e in model.privileged {
      #expect(register.contains(e.principal.arn))
      for code in e.capabilities { #expect(register.contains(code)) }
      for s in e.sources { #expect(register.contains(s.source.label)) }
    }
    let kms = model.results.filter { $0.checkID == "kms-full-access-identity" && ($0.status == .fail || $0.status == .excepted) }
    #expect(Set(kms.map { $0.principal!.id }).isSubset(of: model.privileged.map(\.principal.id)))
  }

  @Test func devSeriesReportIsCompleteAndDeterministic() throws {
    let store = try Self.devSeriesStore()
    let model = try Self.devSeriesModel(store)
    #expect(model.snapshots.count == 3)
    let first = try HTMLReport.render(model, templates: Self.templates)
    try Self.preview("dev-series.html", first)
    try Self.expectStructure(try Self.parse(first), first, model: model)
    // Same model twice, and a model gathered again from the same database: the same bytes.
    #expect(try HTMLReport.render(model, templates: Self.templates) == first)
    #expect(try HTMLReport.render(try Self.devSeriesModel(store), templates: Self.templates) == first)
  }

  @Test func demoRenderingIsDeterministic() throws {
    let a = try HTMLReport.render(try Self.demoModel(), templates: Self.templates)
    let b = try HTMLReport.render(try Self.demoModel(), templates: Self.templates)
    #expect(a == b)
  }

  @Test func bidirectionalControlsAreShownAsCodePoints() {
    #expect(XHTML.visible("plain <text> & more") == "plain <text> & more")
    #expect(XHTML.visible("a\u{202E}b\u{2066}c\u{200F}") == "a[U+202E]b[U+2066]c[U+200F]")
    #expect(XHTML.visible("\u{061C}") == "[U+061C]")
  }

  @Test func trendChartCoordinatesAreFixedPoint() {
    #expect(TrendChart.fixed(0) == "0.0")
    #expect(TrendChart.fixed(12.25) == "12.3")
    #expect(TrendChart.fixed(-3.04) == "-3.0")
    #expect(TrendChart.fixed(759.96) == "760.0")
    #expect(TrendChart.yScale(0) == (1, 1))
    #expect(TrendChart.yScale(4) == (1, 4))
    #expect(TrendChart.yScale(7) == (2, 8))
    #expect(TrendChart.yScale(23) == (5, 25))
    #expect(TrendChart.yScale(130) == (50, 150))
  }

  /// Every check of the catalog gets a line of its own: no two series share colour, dash and marker.
  @Test func everyCheckHasItsOwnTrendStyle() {
    let styles = TrendChart.styles.map { "\($0.colour)|\($0.dash ?? "")|\($0.marker)" }
    #expect(Set(styles).count == styles.count)
    #expect(Set(TrendChart.styles.map(\.colour)).count == styles.count, "colours differ too")
    #expect(styles.count >= CheckCatalog.all.count)
  }

  // MARK: Hostile input

  static let scriptTag = "<script>alert(1)</script>"
  static let quotes = "\"quotes' & ]]>"
  static let control = "ctl\u{0001}\u{0008}\u{001F}end"
  static let rtl = "\u{202E}gnp.exe"
  static let big = String(repeating: "A<b>&", count: 2048)  // 10 KB, with markup characters

  /// A snapshot whose every free-text field is hostile. Policy documents are CLI-style objects.
  static func hostileSnapshot() -> [UInt8] {
    let account = "123456789012"
    func s(_ v: String) -> JSONValue { .string(v) }
    let hostileAll = scriptTag + quotes + control + rtl
    let condition: JSONValue = .object([
      (
        "StringEquals",
        .object([
          ("aws:PrincipalTag/team", .array([s(scriptTag), s(quotes), s(control), s(rtl), s(big)]))
        ])
      )
    ])
    func kmsStar(sid: String, withCondition: Bool) -> JSONValue {
      var statement: [(key: String, value: JSONValue)] = [
        ("Sid", s(sid)), ("Effect", s("Allow")), ("Action", s("kms:*")), ("Resource", s("*")),
      ]
      if withCondition { statement.append(("Condition", condition)) }
      return .object([("Version", s("2012-10-17")), ("Statement", .array([.object(statement)]))])
    }
    let tags: JSONValue = .array([
      .object([("Key", s(scriptTag)), ("Value", s(quotes + control))]),
      .object([("Key", s("note")), ("Value", s(rtl + big))]),
    ])
    let managedARN = "arn:aws:iam::\(account):policy/" + scriptTag
    let root: JSONValue = .object([
      (
        "UserDetailList",
        .array([
          .object([
            ("Path", s("/")), ("UserName", s(hostileAll)), ("UserId", s("AIDAHOSTILE0000000001")),
            ("Arn", s("arn:aws:iam::\(account):user/" + hostileAll)), ("CreateDate", s("2023-01-01T00:00:00Z")),
            ("GroupList", .array([s(scriptTag)])),
            (
              "UserPolicyList",
              // A name as long as SnapshotLimits allows (AWS itself: 128 characters).
              .array([
                .object([
                  ("PolicyName", s(quotes + big.prefix(4000))), ("PolicyDocument", kmsStar(sid: hostileAll, withCondition: false)),
                ])
              ])
            ),
            ("AttachedManagedPolicies", .array([])), ("Tags", tags),
          ])
        ])
      ),
      (
        "GroupDetailList",
        .array([
          .object([
            ("Path", s("/")), ("GroupName", s(scriptTag)), ("GroupId", s("AGPAHOSTILE0000000001")),
            ("Arn", s("arn:aws:iam::\(account):group/" + scriptTag)), ("CreateDate", s("2023-01-01T00:00:00Z")),
            (
              "GroupPolicyList", .array([.object([("PolicyName", s(rtl)), ("PolicyDocument", kmsStar(sid: quotes, withCondition: true))])])
            ),
            ("AttachedManagedPolicies", .array([])),
          ])
        ])
      ),
      (
        "RoleDetailList",
        .array([
          .object([
            ("Path", s("/")), ("RoleName", s(scriptTag)), ("RoleId", s("AROAHOSTILE0000000001")),
            ("Arn", s("arn:aws:iam::\(account):role/" + scriptTag)), ("CreateDate", s("2023-01-01T00:00:00Z")),
            ("Description", s(hostileAll + big)),
            ("AssumeRolePolicyDocument", .object([("Version", s("2012-10-17")), ("Statement", .array([]))])),
            (
              "RolePolicyList",
              .array([.object([("PolicyName", s(quotes)), ("PolicyDocument", kmsStar(sid: scriptTag, withCondition: true))])])
            ),
            ("AttachedManagedPolicies", .array([.object([("PolicyName", s(scriptTag)), ("PolicyArn", s(managedARN))])])),
            ("Tags", tags),
          ])
        ])
      ),
      (
        "Policies",
        .array([
          .object([
            ("PolicyName", s(scriptTag)), ("PolicyId", s("ANPAHOSTILE0000000001")), ("Arn", s(managedARN)),
            ("Path", s("/")), ("DefaultVersionId", s("v1")), ("AttachmentCount", .number("1")),
            ("PermissionsBoundaryUsageCount", .number("0")), ("IsAttachable", .bool(true)),
            ("Description", s(hostileAll + big)), ("CreateDate", s("2023-01-01T00:00:00Z")),
            ("UpdateDate", s("2023-01-01T00:00:00Z")),
            (
              "PolicyVersionList",
              .array([
                .object([
                  ("Document", kmsStar(sid: hostileAll, withCondition: true)), ("VersionId", s("v1")),
                  ("IsDefaultVersion", .bool(true)), ("CreateDate", s("2023-01-01T00:00:00Z")),
                ])
              ])
            ),
          ])
        ])
      ),
    ])
    return JSONWriter.canonicalBytes(root)
  }

  static let hostileRegister: JSONValue = .object([
    (
      "exceptions",
      .array([
        .object([
          ("id", .string("EX-" + scriptTag)), ("check", .string("kms-full-access-identity")),
          ("scope", .object([("principal", .string("*script*"))])),
          ("justification", .string(scriptTag + quotes + control + rtl + big)),
          ("approved_by", .string(quotes)), ("approved_on", .string("2024-01-01")), ("expires_on", .string("2024-12-31")),
          ("ticket", .string(scriptTag)), ("compensating_control", .string(rtl + quotes)),
        ])
      ])
    )
  ])

  @Test func hostileSnapshotTextNeverBecomesMarkup() throws {
    let (store, _) = try TestSupport.makeStore()
    let outcome = try store.workflow.ingest(
      IngestSource(name: "hostile-" + Self.scriptTag + ".json", bytes: Self.hostileSnapshot(), modificationTime: nil),
      options: IngestOptions(capturedAt: Timestamp(parsing: "2024-06-30T00:00:00Z"), label: Self.scriptTag, now: TestSupport.fixedNow))
    guard case .ingested(let record) = outcome else {
      Issue.record("not ingested")
      return
    }
    let register = try ExceptionRegister(bytes: JSONWriter.canonicalBytes(Self.hostileRegister), source: Self.scriptTag + ".json")
    try store.workflow.assess(snapshotID: record.id, register: register, now: TestSupport.fixedNow)
    let model = try store.workflow.evidence(scope: .snapshot(String(record.id)), account: nil, generatedAt: Self.generatedAt)

    // The hostile strings reach failing findings (offending statements, notes) and the exceptions.
    let failing = model.findings.filter { $0.status == .fail }
    #expect(failing.contains { r in r.offendingStatements.contains { JSONWriter.canonical($0).contains("<script>alert(1)</script>") } })
    #expect(failing.contains { r in r.notes.contains { $0.message.contains("<script>") || ($0.detail ?? "").contains("<script>") } })
    #expect(failing.contains { $0.principal?.name.contains("<script>") == true })
    #expect(!model.exceptions.isEmpty)

    let bytes = try HTMLReport.render(model, templates: Self.templates)
    try Self.preview("hostile.html", bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(!text.contains("<script>alert"))
    #expect(!text.lowercased().contains("<script"))
    #expect(!bytes.contains(0x01) && !bytes.contains(0x08) && !bytes.contains(0x1F))
    #expect(!text.contains("<b>&"))
    #expect(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    // Bidirectional overrides would make names and commands display reversed: shown as code points.
    #expect(!text.contains("\u{202E}"))
    #expect(text.contains("[U+202E]gnp.exe"))

    // Well-formed, no script element anywhere, and the whole structure is there.
    let doc = try Self.parse(bytes)
    #expect(try Self.count(doc, "//*[local-name()='script']") == 0)
    try Self.expectStructure(doc, bytes, model: model)
    // The hostile text is in the findings as text.
    let findings = try #require(try doc.firstNode(matching: "//h:section[@id='findings']", namespaces: Self.ns)).textContent
    #expect(findings.contains(Self.scriptTag))
    #expect(findings.contains("aws iam put-user-policy --user-name '<script>alert(1)</script>"))
    #expect(findings.contains(Self.big))
    #expect(findings.contains("ctl\u{FFFD}\u{FFFD}\u{FFFD}end") || findings.contains("ctl\\u0001"))
  }

  // MARK: Template errors

  @Test func templateProblemsAreReported() throws {
    let model = try Self.demoModel(register: nil)
    let dir = try TestSupport.temporaryDirectory()
    let templates = TemplateSet(directory: dir)
    let xhtml = try String(contentsOf: Self.templates.reportXHTML, encoding: .utf8)
    try xhtml.write(to: templates.reportXHTML, atomically: true, encoding: .utf8)
    try "body { color: black; }\n".write(to: templates.reportCSS, atomically: true, encoding: .utf8)
    #expect(try HTMLReport.render(model, templates: templates).count > 1000)

    // A stylesheet with markup characters would be escaped inside <style>: refused.
    try "a::after { content: \"</style><script>\"; }\n".write(to: templates.reportCSS, atomically: true, encoding: .utf8)
    #expect(throws: RenderError.self) { try HTMLReport.render(model, templates: templates) }
    try "body { color: black; }\n".write(to: templates.reportCSS, atomically: true, encoding: .utf8)

    // A missing slot.
    try xhtml.replacingOccurrences(of: "data-slot=\"findings\"", with: "data-x=\"findings\"")
      .write(to: templates.reportXHTML, atomically: true, encoding: .utf8)
    #expect(throws: RenderError.self) { try HTMLReport.render(model, templates: templates) }

    // The README lists exactly the slots the renderer fills.
    let readme = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    let sentence = try #require(
      readme.range(of: "renderer fills (their content is replaced):").flatMap { start in
        readme.range(of: "; a missing", range: start.upperBound..<readme.endIndex).map { readme[start.upperBound..<$0.lowerBound] }
      })
    let listed = sentence.split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    #expect(listed.sorted() == HTMLReport.slotNames.sorted())

    // A template that is not well-formed (an HTML entity XML does not know).
    try xhtml.replacingOccurrences(of: "<h2>Findings</h2>", with: "<h2>Findings&nbsp;</h2>")
      .write(to: templates.reportXHTML, atomically: true, encoding: .utf8)
    #expect(throws: XMLError.self) { try HTMLReport.render(model, templates: templates) }
  }
}
