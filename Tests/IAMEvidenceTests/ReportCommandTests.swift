import Foundation
import SQLiteDB
import Testing
import XMLTree

@testable import IAMEvidence

/// The `report` command end to end: default layout, golden HTML, atomic writes.
@Suite(.temporaryDirectories) struct ReportCommandTests {
  /// A database with the three dev-series months in a temporary folder.
  static func quarterDatabase() throws -> URL {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("evidence.sqlite")
    for (month, day) in [("2024-01", "31"), ("2024-02", "29"), ("2024-03", "31")] {
      let run = try TestSupport.run([
        "ingest", "--db", db.path, "--captured-at", "\(month)-\(day)T23:00:00Z", TestSupport.fixture("dev-series/\(month).json").path,
      ])
      #expect(run.status == 0, "\(run.stderr)")
    }
    return dir
  }

  @Test func writesUnderReportsAccountAndCapturedDateByDefault() throws {
    let dir = try Self.quarterDatabase()
    let run = try TestSupport.run(
      [
        "report", "--db", "evidence.sqlite", "--from", "2024-01-01", "--to", "2024-03-31", "--templates",
        TestSupport.packageRoot.appendingPathComponent("Templates").path, "--generated-at", "2099-04-02T09:00:00Z",
      ], cwd: dir)
    #expect(run.status == 0, "\(run.stderr)")
    let out = dir.appendingPathComponent("Reports/479265329499/2024-03-31")
    for name in ["report.html", "evidence.xml", "evidence.xsd", "population.csv"] {
      #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name)")
    }
    // Nothing else: no temporary file is left behind.
    let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
    #expect(names == ["evidence.xml", "evidence.xsd", "population.csv", "report.html"])
    // The copy of the schema validates the evidence written beside it.
    let schema = try XMLSchema(contentsOfFile: out.appendingPathComponent("evidence.xsd").path)
    try schema.validate(try XMLDocument(contentsOfFile: out.appendingPathComponent("evidence.xml").path))
    #expect(run.stdout.contains("A.8.2 verdict: not-effective"))
  }

  @Test func sameDatabaseGivesByteIdenticalFilesAndSourceDateEpochIsTheClock() throws {
    let dir = try Self.quarterDatabase()
    let templates = TestSupport.packageRoot.appendingPathComponent("Templates").path
    func render(_ out: String, _ extra: [String], env: [String: String] = [:]) throws -> [Data] {
      let run = try TestSupport.run(
        ["report", "--db", "evidence.sqlite", "--snapshot", "latest", "--templates", templates, "--out", out] + extra, environment: env,
        cwd: dir)
      #expect(run.status == 0, "\(run.stderr)")
      return try ["report.html", "evidence.xml"].map { try Data(contentsOf: dir.appendingPathComponent(out).appendingPathComponent($0)) }
    }
    let a = try render("a", ["--generated-at", "2099-04-02T09:00:00Z"])
    let b = try render("b", [], env: ["SOURCE_DATE_EPOCH": "4078803600"])  // 2099-04-02T09:00:00Z
    #expect(a == b)
  }

  /// Golden file of the HTML report on a fixed fixture; library versions vary by machine and are
  /// masked. Set IAM_EVIDENCE_UPDATE_GOLDEN=1 to rewrite after a deliberate change.
  @Test func htmlMatchesTheGoldenFile() throws {
    let model = try EvidenceXMLTests.quarter()
    let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
    var text = String(decoding: try HTMLReport.render(model, templates: templates), as: UTF8.self)
    text = text.replacingOccurrences(of: SQLiteDB.sqliteVersion, with: "SQLITE-VERSION")
    text = text.replacingOccurrences(of: libxml2Version, with: "LIBXML2-VERSION")
    let golden = TestSupport.packageRoot.appendingPathComponent("Tests/IAMEvidenceTests/Golden/report-dev-series.html")
    if ProcessInfo.processInfo.environment["IAM_EVIDENCE_UPDATE_GOLDEN"] == "1" {
      try Data(text.utf8).write(to: golden)
    }
    #expect(text == (try String(contentsOf: golden, encoding: .utf8)))
  }

  @Test func aFailingRenderLeavesThePreviousReportUntouched() throws {
    let dir = try Self.quarterDatabase()
    let good = TestSupport.packageRoot.appendingPathComponent("Templates").path
    let first = try TestSupport.run(
      ["report", "--db", "evidence.sqlite", "--templates", good, "--out", "out", "--generated-at", "2099-04-02T09:00:00Z"], cwd: dir)
    #expect(first.status == 0)
    let before = try Data(contentsOf: dir.appendingPathComponent("out/report.html"))
    // Broken templates: a copy whose evidence schema is not XML at all.
    let broken = dir.appendingPathComponent("broken-templates")
    try FileManager.default.copyItem(atPath: good, toPath: broken.path)
    try Data("not a schema".utf8).write(to: broken.appendingPathComponent("evidence.xsd"))
    let second = try TestSupport.run(
      ["report", "--db", "evidence.sqlite", "--templates", broken.path, "--out", "out", "--generated-at", "2099-04-03T00:00:00Z"],
      cwd: dir)
    #expect(second.status == 2)
    #expect(try Data(contentsOf: dir.appendingPathComponent("out/report.html")) == before)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("out").path).sorted() == [
        "evidence.xml", "evidence.xsd", "population.csv", "report.html",
      ])
  }

  /// A report or package dated before the latest ingest time of the data it reports on is refused:
  /// exit 2, a message naming the ingest time, and nothing written (no folder, no zip).
  @Test func generatedAtBeforeTheIngestTimeIsRefused() throws {
    let dir = try Self.quarterDatabase()
    let store = try EvidenceStore(readingAt: dir.appendingPathComponent("evidence.sqlite").path)
    let latest = try #require(try store.snapshots(account: "479265329499").map(\.ingestedAt).max())
    let templates = TestSupport.packageRoot.appendingPathComponent("Templates").path
    let before = Timestamp(epochSeconds: latest.epochSeconds - 1).description
    let report = try TestSupport.run(
      [
        "report", "--db", "evidence.sqlite", "--from", "2024-01-01", "--to", "2024-03-31", "--templates", templates, "--out", "out",
        "--generated-at", before,
      ],
      cwd: dir)
    #expect(report.status == 2)
    #expect(report.stderr.contains("--generated-at \(before) is earlier than the ingest time"), "\(report.stderr)")
    #expect(report.stderr.contains(latest.description))
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    let package = try TestSupport.run(
      [
        "package", "--db", "evidence.sqlite", "--from", "2024-01-01", "--to", "2024-03-31", "--templates", templates, "--out", "q1.zip",
        "--generated-at", before,
      ],
      cwd: dir)
    #expect(package.status == 2)
    #expect(package.stderr.contains("is earlier than the ingest time"), "\(package.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("q1.zip").path))
    // At the ingest time itself, both are accepted.
    let atIngest = try TestSupport.run(
      [
        "report", "--db", "evidence.sqlite", "--from", "2024-01-01", "--to", "2024-03-31", "--templates", templates, "--out", "out",
        "--generated-at", latest.description,
      ],
      cwd: dir)
    #expect(atIngest.status == 0, "\(atIngest.stderr)")
  }
}
