import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// How the report and evidence.xml show the register (issue 14, defect 9): an exception for
/// everything (`"scope_all": true`) is shown prominently and counted; failures matched by an
/// exception approved only after the capture are counted per exception, beside the expired matches.
@Suite struct ExceptionReportTests {
  static let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
  static let ns = HTMLReportTests.ns

  static let scopeAll = """
    {"id":"EX-ALL","check":"*","scope":{"principal":"*"},"scope_all":true,"justification":"Account being decommissioned",
     "approved_by":"ciso@example.com","approved_on":"2024-01-01","expires_on":"2024-12-31"}
    """

  /// ``ExceptionTests/snapshot()`` (data-loader: two failing inline policies; analyst: one) captured
  /// 2024-06-30: EX-LATE covers data-loader but was approved on 2024-07-15, EX-OLD covers analyst but
  /// expired on 2024-03-31.
  static func lateAndExpired() throws -> EvidenceModel {
    try EvidenceBuilderTests.model(
      register: try ExceptionTests.register([
        ExceptionTests.entry(id: "EX-LATE", principal: "data-loader", approvedOn: "2024-07-15"),
        ExceptionTests.entry(id: "EX-OLD", principal: "analyst", expiresOn: "2024-03-31"),
      ]))
  }

  static func use(_ id: String, _ model: EvidenceModel) throws -> ExceptionUse {
    try #require(model.exceptions.first { $0.exception.id == id })
  }

  static func exceptionsSection(_ model: EvidenceModel) throws -> (XMLDocument, XMLElement) {
    let doc = try HTMLReportTests.parse(try HTMLReport.render(model, templates: templates))
    return (doc, try #require(try doc.firstNode(matching: "//h:section[@id='exceptions']", namespaces: ns)))
  }

  @Test func matchesApprovedAfterTheCaptureAreCountedPerException() throws {
    let model = try Self.lateAndExpired()
    #expect(try Self.use("EX-LATE", model).notYetApprovedMatches == 2)
    #expect(try Self.use("EX-LATE", model).expiredMatches == 0)
    #expect(try Self.use("EX-OLD", model).notYetApprovedMatches == 0)
    #expect(try Self.use("EX-OLD", model).expiredMatches == 1)
    #expect(model.exceptions.allSatisfy { $0.appliedTo == 0 && !$0.isStale })
    // The same failures the assessment noted, counted from the data.
    #expect(model.results.filter { r in r.notes.contains { $0.code == "exception-not-yet-approved" } }.count == 2)

    let (doc, section) = try Self.exceptionsSection(model)
    let text = section.textContent
    #expect(text.contains("Approved after the capture, matching 2 failing results"))
    #expect(text.contains("2 failing results captured before the exception was approved (exception-not-yet-approved)"))
    #expect(text.contains("Expired but still matching 1 failing result"))
    let summary = try #require(
      try doc.firstNode(matching: "//h:section[@id='exceptions']//h:p[@class='exceptions-summary']", namespaces: Self.ns)
    ).textContent
    #expect(summary.contains("2 exceptions in the register: 0 in force, 1 expired, 1 approved after the capture; 0 stale"), "\(summary)")
    #expect(summary.contains("2 matches of a failing result by an exception approved after the capture, not applied"), "\(summary)")
    #expect(summary.contains("1 match of a failing result by an expired exception, not applied"), "\(summary)")
    #expect(!summary.contains("scope_all"))

    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: Self.templates))
    let e = ["e": EvidenceXML.namespace]
    #expect(
      try xml.firstNode(matching: "//e:exceptions/e:exception[@id='EX-LATE']", namespaces: e)?.attribute("notYetApprovedMatches") == "2")
    #expect(
      try xml.firstNode(matching: "//e:exceptions/e:exception[@id='EX-OLD']", namespaces: e)?.attribute("notYetApprovedMatches") == "0")
    #expect(try xml.nodes(matching: "//e:exceptions/e:exception[@scopeAll]", namespaces: e).isEmpty)
  }

  @Test func anExceptionForEverythingIsShownFirstWithAWarningAndCounted() throws {
    let register = try ExceptionTests.register([ExceptionTests.entry(id: "EX-A-NARROW", principal: "analyst"), Self.scopeAll])
    let model = try EvidenceBuilderTests.model(register: register)
    #expect(try Self.use("EX-ALL", model).isScopeAll && !(try Self.use("EX-A-NARROW", model).isScopeAll))
    let (_, section) = try Self.exceptionsSection(model)

    // First, although its id sorts after the other's, and marked.
    let articles = try section.nodes(matching: ".//h:article", namespaces: Self.ns)
    #expect(articles.count == 2)
    #expect(articles.first?.attribute("class")?.split(separator: " ").contains("exception-scope-all") == true)
    #expect(articles.first?.textContent.contains("EX-ALL") == true)
    #expect(articles.last?.attribute("class")?.contains("scope-all") == false)
    let flags = try articles[0].nodes(matching: ".//h:p[@class='flags']/h:span", namespaces: Self.ns).map(\.textContent)
    #expect(flags.contains("Scope: everything"))
    let warning = try #require(try articles[0].firstNode(matching: "h:p[@class='scope-all-warning']/h:strong", namespaces: Self.ns))
    #expect(warning.textContent == "Warning: this exception excepts every failure of every check.")
    #expect(try articles[1].nodes(matching: ".//h:p[@class='scope-all-warning']", namespaces: Self.ns).isEmpty)

    // Counted in the section's summary, before anything else is said.
    let summary = try #require(try section.firstNode(matching: ".//h:p[@class='exceptions-summary']", namespaces: Self.ns))
    let bold = try #require(try summary.firstNode(matching: "h:strong", namespaces: Self.ns)).textContent
    #expect(bold.hasPrefix("1 exception covers every check, principal and policy (scope_all: EX-ALL)"), "\(bold)")
    #expect(summary.textContent.contains("2 exceptions in the register: 2 in force, 0 expired; 0 stale"), "\(summary.textContent)")

    // evidence.xml marks it, and the shipped schema accepts the mark (render validates).
    let xml = try XMLDocument(bytes: try EvidenceXML.render(model, templates: Self.templates))
    let e = ["e": EvidenceXML.namespace]
    #expect(try xml.firstNode(matching: "//e:exceptions/e:exception[@id='EX-ALL']", namespaces: e)?.attribute("scopeAll") == "true")
    #expect(try xml.firstNode(matching: "//e:exceptions/e:exception[@id='EX-A-NARROW']", namespaces: e)?.attribute("scopeAll") == nil)
    // ...and only a boolean.
    let built = EvidenceXML.build(model)
    let schema = try XMLSchema(contentsOfFile: Self.templates.evidenceXSD.path)
    try schema.validate(built)
    try #require(try built.firstNode(matching: "//e:exceptions/e:exception[@id='EX-ALL']", namespaces: e)).setAttribute("scopeAll", "maybe")
    #expect(throws: XMLError.self) { try schema.validate(built) }
  }
}
