import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// `ingest` stores each check's results while the other checks still run (``EvidenceWorkflow/ingestAndAssess(_:options:register:checks:progress:phase:)``),
/// and links the principal and policy states of the account's previous snapshot by id without
/// writing them. The database it writes must be the one that ingesting, then assessing every
/// snapshot from the whole outcome of the checks writes: every table, row for row, ids included.
@Suite(.temporaryDirectories) struct StreamingAssessmentTests {
  static let months = ["dev-series/2024-01.json", "dev-series/2024-02.json", "dev-series/2024-03.json", "dev-small.json"]

  /// Every row of every table of `store`, by table, in a stable order.
  static func dump(_ store: EvidenceStore) throws -> [String: [String]] {
    var out: [String: [String]] = [:]
    let tables = try store.db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map { try $0.string("name") }
    for table in tables {
      out[table] = try store.db.query("SELECT * FROM \"\(table)\"").map { row in
        zip(row.columns, row.values).map { "\($0)=\($1)" }.joined(separator: "|")
      }.sorted()
    }
    return out
  }

  /// A register excepting the first failing result with a principal of `store`'s first snapshot, and
  /// an exception that matches nothing (stale).
  static func register(from store: EvidenceStore) throws -> ExceptionRegister {
    let fail = try #require(try store.results(snapshotID: 1, statuses: [.fail]).first { $0.principal != nil })
    let text = """
      {"exceptions": [
        {"id": "E1", "check": "\(fail.checkID)", "scope": {"principal": "\(fail.principal!.name)"}, "justification": "accepted",
         "approved_by": "ciso", "approved_on": "2024-01-01", "expires_on": "2099-12-31"},
        {"id": "E2", "check": "\(fail.checkID)", "scope": {"principal": "nobody-at-all"}, "justification": "stale",
         "approved_by": "ciso", "approved_on": "2024-01-01", "expires_on": "2099-12-31"}]}
      """
    return try ExceptionRegister(bytes: Array(text.utf8), source: "exceptions.json")
  }

  @Test func ingestingWhileTheChecksRunWritesTheSameDatabaseAsAssessingAfterwards() throws {
    let (scratch, _) = try TestSupport.makeStore()
    try TestSupport.ingest(scratch, TestSupport.fixture(Self.months[0]))
    try scratch.workflow.assess(snapshotID: 1, now: TestSupport.fixedNow)
    let register = try Self.register(from: scratch)

    let (whole, _) = try TestSupport.makeStore()
    let (streamed, _) = try TestSupport.makeStore()
    for (k, name) in Self.months.enumerated() {
      let url = TestSupport.fixture(name)
      let capturedAt = Timestamp(parsing: "2024-0\(k + 1)-28T00:00:00Z")
      let record = try TestSupport.ingest(whole, url, capturedAt: capturedAt!.description)
      let outcome = try whole.workflow.assess(snapshotID: record.id, register: register, now: TestSupport.fixedNow)

      let source = IngestSource(name: url.lastPathComponent, bytes: try TestSupport.bytes(url), modificationTime: nil)
      var phases: [AssessPhase] = []
      let (ingested, summary) = try streamed.workflow.ingestAndAssess(
        source, options: IngestOptions(capturedAt: capturedAt, now: TestSupport.fixedNow), register: register,
        phase: { phases.append($0) })
      guard case .ingested(let streamedRecord) = ingested else {
        Issue.record("\(name) was not ingested")
        return
      }
      #expect(streamedRecord == record)
      #expect(phases == [.checked, .stored])
      // The summary counts what the whole outcome holds.
      let expected = AssessmentSummary(outcome)
      let got = try #require(summary)
      #expect(got.counts == expected.counts && got.resultCount == expected.resultCount)
      #expect(got.staleExceptions.map(\.id) == expected.staleExceptions.map(\.id))
      #expect(got.resultCount > 0)
    }
    // The register excepted a result and left one exception stale: both paths exercised.
    #expect(try whole.count("SELECT count(*) FROM result_details WHERE status = 'excepted'", []) > 0)
    #expect(try whole.count("SELECT count(*) FROM assessments WHERE stale_exceptions LIKE '%E2%'", []) == Self.months.count)
    let (a, b) = (try Self.dump(whole), try Self.dump(streamed))
    #expect(a.keys.sorted() == b.keys.sorted())
    for table in a.keys.sorted() {
      #expect(a[table] == b[table], "table \(table) differs")
    }
    // Later snapshots linked the earlier states: fewer principal states than principals listed.
    #expect(
      try streamed.count("SELECT count(*) FROM principal_states", [])
        < streamed.count("SELECT count(*) FROM snapshot_principals", []))
    #expect(try streamed.checkIntegrity().problems.isEmpty)
  }
}
