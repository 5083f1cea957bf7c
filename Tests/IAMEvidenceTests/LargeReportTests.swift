import Crypto
import Foundation
import Testing
import XMLTree

@testable import IAMEvidence

/// Reports of large populations: evidence.xml streamed (the same bytes as the tree) and validated as
/// written, population.csv holding every result, report.html summarising the checks with more than
/// ``HTMLReport/populationRowLimit`` subjects and naming both files with their row counts and
/// SHA-256, every finding still in report.html.
@Suite(.temporaryDirectories) struct LargeReportTests {
  static let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
  static let ns = ["h": XMLNamespaces.xhtml]

  /// The dev-series quarter with its current snapshot's results of `check` replaced by `passes`
  /// passes and `fails` failures (distinct principals; the failures first, as in report order).
  static func largeModel(check: String = "kms-full-access-inline", passes: Int, fails: Int) throws -> EvidenceModel {
    var model = try HTMLReportTests.devSeriesModel(try HTMLReportTests.devSeriesStore())
    let template = try #require(model.results.first { $0.checkID == check })
    func result(_ i: Int, _ status: ResultStatus) -> CheckResult {
      var r = template
      r.status = status
      let name = String(format: "user-%05d", i)
      r.principal = PrincipalRef(type: .user, id: "AIDA\(i)", name: name, arn: "arn:aws:iam::479265329499:user/\(name)")
      r.policy = PolicyRef(kind: .inline, name: "\(name)-policy", documentSHA256: String(repeating: "a", count: 64))
      r.exception = nil
      r.why = status == .fail ? "Statement[0] allows kms:* on all keys (\(name))." : "No statement allows a target action."
      return r
    }
    let others = model.results.filter { $0.checkID != check }
    let generated = (0..<fails).map { result($0, .fail) } + (fails..<fails + passes).map { result($0, .pass) }
    var all = others.filter { $0.status != .pass } + generated.filter { $0.status != .pass }
    all += others.filter { $0.status == .pass } + generated.filter { $0.status == .pass }
    model.results = all
    return model
  }

  static func bytes(_ dir: URL, _ name: String) throws -> [UInt8] { try TestSupport.bytes(dir.appendingPathComponent(name)) }

  // MARK: evidence.xml

  @Test func streamedEvidenceIsTheTreesBytesAndValid() throws {
    for model in [try EvidenceXMLTests.quarter(), try Self.largeModel(passes: 700, fails: 30)] {
      let streamed = try EvidenceXML.render(model, templates: Self.templates)
      #expect(streamed == EvidenceXML.build(model).xmlBytes(indented: true))
      let schema = try XMLSchema(contentsOfFile: Self.templates.evidenceXSD.path)
      try schema.validate(try XMLDocument(bytes: streamed))
    }
  }

  @Test func anInvalidEvidenceDocumentLeavesNoReport() throws {
    var model = try Self.largeModel(passes: 50, fails: 3)
    let index = try #require(model.results.firstIndex { $0.status == .fail })
    model.results[index].status = .excepted
    model.results[index].exception = AppliedException(id: "EX-1", approvedBy: "ciso@example.com", expiresOn: "some day")
    let out = try TestSupport.temporaryDirectory().appendingPathComponent("report")
    let error = try #require(throws: XMLError.self) { try ReportRenderer.write(model, templates: Self.templates, to: out) }
    #expect(error.kind == .validation)
    #expect(error.message.contains("some day"), "\(error)")
    #expect(!FileManager.default.fileExists(atPath: out.path), "nothing is put in place")
    #expect(try FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path).isEmpty, "no staging folder left")
    #expect(throws: XMLError.self) { try ReportRenderer.render(model, templates: Self.templates) }
  }

  // MARK: A population too large to list

  @Test func aLargePopulationIsSummarisedAndItsFilesNamed() throws {
    let check = "kms-full-access-inline"
    let model = try Self.largeModel(check: check, passes: 900, fails: 240)
    #expect(model.counts(of: check).total > HTMLReport.populationRowLimit)
    #expect(model.counts(of: check).fail > HTMLReport.compactFindingsLimit)
    let out = try TestSupport.temporaryDirectory().appendingPathComponent("report")
    let written = try ReportRenderer.write(model, templates: Self.templates, to: out)
    #expect(written.map(\.lastPathComponent) == ReportRenderer.fileNames)
    let html = try Self.bytes(out, "report.html")
    let text = String(decoding: html, as: UTF8.self)
    let doc = try HTMLReportTests.parse(html)

    // population.csv: the header, then every result, each check's rows together in the report's order.
    let csv = String(decoding: try Self.bytes(out, "population.csv"), as: UTF8.self)
    var lines = csv.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines.removeLast() == "")
    #expect(lines.removeFirst() == CSV.populationHeader.joined(separator: ","))
    #expect(lines.count == model.results.count)
    #expect(Set(lines.map { $0.split(separator: ",").last.map(String.init) ?? "" }) == Set(model.results.map(\.findingKey)))
    let checks = lines.map { $0.split(separator: ",")[1] }
    var order: [Substring] = []
    for c in checks where order.last != c { order.append(c) }
    #expect(order.map(String.init) == HTMLReport.populationOrder(model).filter { model.counts(of: $0).total > 0 })
    let first = try #require(checks.firstIndex { $0 == check }) + 1
    let last = try #require(checks.lastIndex { $0 == check }) + 1
    #expect(last - first + 1 == model.counts(of: check).total)

    // report.html names both files with their row counts and SHA-256, and where the check's rows are.
    for name in ["population.csv", "evidence.xml"] {
      let digest = SHA256.hash(data: try Self.bytes(out, name)).hexString
      #expect(text.contains(digest), "\(name)'s SHA-256")
    }
    let files = try #require(try doc.firstNode(matching: "//h:div[@class='population-files']", namespaces: Self.ns)).textContent
    #expect(files.contains("\(HTMLReport.grouped(model.results.count)) rows after the header line"))
    #expect(files.contains("holds the \(HTMLReport.grouped(model.results.count)) results"))
    let block = try #require(try doc.firstNode(matching: "//h:div[@id='population-\(check)']", namespaces: Self.ns))
    #expect(try block.nodes(matching: ".//h:table", namespaces: Self.ns).isEmpty, "the big check is not listed")
    #expect(block.textContent.contains("rows \(HTMLReport.grouped(first)) to \(HTMLReport.grouped(last)) of population.csv"))
    // The other checks keep their tables, a row per result.
    for id in HTMLReport.populationOrder(model) where id != check && model.counts(of: id).total > 0 {
      let rows = try doc.nodes(matching: "//h:div[@id='population-\(id)']//h:tbody/h:tr", namespaces: Self.ns)
      #expect(rows.count == model.counts(of: id).total, "\(id)")
    }

    // Every finding is in the report, numbered once: the big check's as rows of a table, the others as articles.
    let numbered = try doc.nodes(matching: "//h:section[@id='findings']//*[starts-with(@id,'finding-')]", namespaces: Self.ns)
    #expect(numbered.compactMap { $0.attribute("id") } == (1...model.findings.count).map { "finding-\($0)" })
    let rows = try doc.nodes(matching: "//h:table[contains(@class,'compact-findings-table')]/h:tbody/h:tr", namespaces: Self.ns)
    #expect(rows.count == model.counts(of: check).fail)
    #expect(rows.allSatisfy { $0.textContent.contains("Statement[0] allows kms:*") })
    #expect(
      try doc.nodes(matching: "//h:section[@id='findings']//h:article", namespaces: Self.ns).count
        == model.findings.count - model.counts(of: check).fail)

    // evidence.xml: the whole population, valid.
    let evidence = try XMLDocument(bytes: try Self.bytes(out, "evidence.xml"))
    try XMLSchema(contentsOfFile: Self.templates.evidenceXSD.path).validate(evidence)
    #expect(
      try evidence.nodes(matching: "//e:population/e:result", namespaces: ["e": EvidenceXML.namespace]).count == model.results.count)

    // The same files in memory (the package's), and again: byte-identical.
    let outputs = try ReportRenderer.render(model, templates: Self.templates)
    for o in outputs { #expect(o.bytes == (try Self.bytes(out, o.name)), "\(o.name)") }
    try ReportRenderer.write(model, templates: Self.templates, to: out)
    for o in outputs { #expect(o.bytes == (try Self.bytes(out, o.name)), "\(o.name) again") }
  }

  @Test func aSmallPopulationIsListedWholeAndTheFilesAreNotNamed() throws {
    let model = try HTMLReportTests.devSeriesModel(try HTMLReportTests.devSeriesStore())
    #expect(!HTMLReport.summarisesPopulation(model))
    let outputs = try ReportRenderer.render(model, templates: Self.templates)
    let html = try #require(outputs.first { $0.name == "report.html" }).bytes
    #expect(html == (try HTMLReport.render(model, templates: Self.templates)))
    let doc = try HTMLReportTests.parse(html)
    #expect(try doc.nodes(matching: "//h:div[@class='population-files']", namespaces: Self.ns).isEmpty)
    #expect(try doc.nodes(matching: "//h:section[@id='population']//h:tbody/h:tr", namespaces: Self.ns).count == model.results.count)
    let csv = try #require(outputs.first { $0.name == "population.csv" }).bytes
    #expect(csv.filter { $0 == UInt8(ascii: "\n") }.count == model.results.count + 1)
  }

  // MARK: population.csv fields

  @Test func populationFieldsAreQuotedAndFormulasNeutralised() throws {
    let sink = RenderSinkCollector()
    var model = try Self.largeModel(passes: 2, fails: 0)
    let index = try #require(model.results.firstIndex { $0.principal?.name == "user-00000" })
    model.results[index].principal?.name = "=HYPERLINK(\"x\")"
    model.results[index].policy?.name = "a,b\r\nc"
    try CSV.writePopulation(model, order: HTMLReport.populationOrder(model), to: sink.sink)
    let text = try sink.text()
    #expect(text.contains(",\"'=HYPERLINK(\"\"x\"\")\","))
    #expect(text.contains(",\"a,b\r\nc\","))
    #expect(CSV.field("a\r\nb") == "\"a\r\nb\"")
    #expect(CSV.field("-1") == "'-1")
  }

  // MARK: The model's derived collections

  @Test func derivedCollectionsFollowTheResults() throws {
    var model = try Self.largeModel(passes: 10, fails: 0)
    let before = model.findings.count
    let counts = model.counts(of: "kms-full-access-inline")
    let copy = model
    let index = try #require(model.results.firstIndex { $0.checkID == "kms-full-access-inline" && $0.status == .pass })
    model.results[index].status = .fail
    #expect(model.findings.count == before + 1)
    #expect(model.counts(of: "kms-full-access-inline").fail == counts.fail + 1)
    #expect(copy.findings.count == before, "a copy keeps its own")
    #expect(copy.counts(of: "kms-full-access-inline") == counts)
  }
}

/// A ``RenderSink`` into memory.
private final class RenderSinkCollector {
  var bytes: [UInt8] = []
  lazy var sink = RenderSink { [unowned self] in self.bytes.append(contentsOf: $0) }
  func text() throws -> String {
    try sink.flush()
    return String(decoding: bytes, as: UTF8.self)
  }
}
