import Foundation
import SQLiteDB
import Testing

@testable import IAMEvidence

/// A check's version changes: `assess` stores the new version's results, every reader uses exactly
/// one version per snapshot and check (the latest assessed), and trend and drift mark the change
/// instead of reporting findings as new or resolved because of it.
@Suite(.temporaryDirectories) struct CheckVersionTests {
  static let checkID = "kms-decrypt-all-keys"

  /// The version of `kms-decrypt-all-keys` this tool ships ("v1" below), and the next ("v2").
  static let shipped = DecryptAllKeys().description.version
  static let next = shipped + 1

  /// `kms-decrypt-all-keys` as a later tool would ship it: the next version, whose (made-up) new rule
  /// passes customer-managed policies, so that its results really differ from the shipped version's.
  struct DecryptVersion2: Check {
    let base = DecryptAllKeys()
    var description: CheckDescription {
      var d = base.description
      d.version = CheckVersionTests.next
      return d
    }
    func run(_ context: CheckContext) -> [CheckResult] {
      base.run(context).map { r in
        var r = r
        r.checkVersion = CheckVersionTests.next
        if r.policy?.kind == .managed && r.status == .fail {
          r.status = .pass
          r.statements = []
          r.offendingStatements = []
          r.reasons = []
          r.remediation = []
          r.why = "Version 2 judges inline policies only."
        }
        return r
      }
    }
  }

  /// The catalog with `kms-decrypt-all-keys` at the next version.
  static let catalogV2: [any Check] = CheckCatalog.all.map { $0.description.id == checkID ? DecryptVersion2() : $0 }

  static func isOpen(_ r: CheckResult) -> Bool { r.status == .fail || r.status == .excepted }

  @Test func everyReaderUsesTheLatestAssessedVersionOnly() throws {
    let (store, _) = try TestSupport.makeStore()
    let workflow = store.workflow
    var records: [SnapshotRecord] = []
    for (month, day) in [("2024-01", "2024-01-31"), ("2024-02", "2024-02-29"), ("2024-03", "2024-03-31")] {
      let record = try TestSupport.ingest(store, TestSupport.fixture("dev-series/\(month).json"), capturedAt: "\(day)T23:59:59Z")
      try workflow.assess(snapshotID: record.id, now: TestSupport.fixedNow)
      records.append(record)
    }
    let (second, third) = (records[1], records[2])
    let v1 = try workflow.results(snapshotID: third.id, check: Self.checkID)
    let v1Counts = StatusCounts(v1)
    let managedFailures = v1.filter { $0.policy?.kind == .managed && $0.status == .fail }
    #expect(!managedFailures.isEmpty, "the fixture has failing customer-managed policies for version 2 to judge differently")
    let previousOpen = Set(try workflow.results(snapshotID: second.id, check: Self.checkID).filter(Self.isOpen).map(\.findingIdentity))

    // Assess the last snapshot with version 2.
    let outcome = try workflow.assess(snapshotID: third.id, checks: Self.catalogV2, now: Timestamp(parsing: "2024-07-02T00:00:00Z")!)
    let v2Expected = outcome.results.filter { $0.checkID == Self.checkID }
    #expect(v2Expected.allSatisfy { $0.checkVersion == Self.next })
    let v2Counts = StatusCounts(v2Expected)
    #expect(v2Counts != v1Counts && v2Counts.total == v1Counts.total)

    // Both versions are stored; readers see version 2 only, never the sum.
    #expect(
      try store.db.scalar("SELECT count(*) FROM snapshot_results WHERE snapshot_id = ? AND check_id = ?", [third.id, Self.checkID])
        == .integer(2))
    #expect(try store.checkVersions(snapshotID: third.id)[Self.checkID] == Self.next)
    #expect(try store.checkVersions(snapshotID: third.id)["kms-full-access-inline"] == InlinePolicyFullKMSAccess().description.version)
    #expect(try store.statusCounts(snapshotID: third.id)[Self.checkID] == v2Counts)
    let stored = try workflow.results(snapshotID: third.id, check: Self.checkID)
    #expect(stored.count == v1Counts.total && stored.allSatisfy { $0.checkVersion == Self.next })
    #expect(Set(stored.map(\.findingKey)).count == stored.count, "one result per subject")
    let open = try store.openResults(snapshotID: third.id).filter { $0.checkID == Self.checkID }
    #expect(open.count == v2Counts.fail + v2Counts.excepted)
    #expect(
      try store.db.scalar("SELECT count(*) FROM results WHERE snapshot_id = ? AND check_id = ?", [third.id, Self.checkID])
        == .integer(Int64(v1Counts.total)), "the results view gives one row per subject")
    #expect(try workflow.findings(snapshot: String(third.id), account: nil, check: Self.checkID, statuses: nil).results == stored)

    // Evidence and its renderings: the version 2 counts, the change marked in the history.
    let model = try workflow.evidence(
      scope: .period(from: Timestamp(parsing: "2024-01-01T00:00:00Z")!, to: Timestamp(parsing: "2024-03-31T23:59:59Z")!), account: nil,
      generatedAt: Timestamp(parsing: "2024-07-02T00:00:00Z")!)
    #expect(model.counts(of: Self.checkID) == v2Counts)
    #expect(model.history.first { $0.snapshotID == third.id && $0.checkID == Self.checkID }?.checkVersion == Self.next)
    #expect(model.history.first { $0.snapshotID == second.id && $0.checkID == Self.checkID }?.checkVersion == Self.shipped)
    #expect(model.history.first { $0.snapshotID == third.id && $0.checkID == Self.checkID }?.counts == v2Counts)
    #expect(model.versionChanges.map(\.description) == ["\(Self.checkID) version \(Self.shipped) -> version \(Self.next)"])
    let templates = TemplateSet(directory: TestSupport.packageRoot.appendingPathComponent("Templates"))
    let xml = String(decoding: try EvidenceXML.render(model, templates: templates), as: UTF8.self)
    #expect(
      xml.contains(
        #"<versionChange snapshot="\#(third.id)" check="\#(Self.checkID)" fromVersion="\#(Self.shipped)" toVersion="\#(Self.next)"/>"#))
    let html = String(decoding: try HTMLReport.render(model, templates: templates), as: UTF8.self)
    #expect(html.contains("Check versions changed in the period"))

    // Trend: the findings version 2 no longer reports are not resolved; the change is listed.
    let trend = try workflow.trend(account: nil, from: nil, to: nil)
    #expect(trend.versionChanges.map(\.checkID) == [Self.checkID])
    #expect(trend.versionChanges.first?.snapshotID == third.id)
    #expect(trend.rows.first { $0.snapshotID == third.id && $0.checkID == Self.checkID }?.checkVersion == Self.next)
    let gone = previousOpen.subtracting(open.map(\.findingIdentity))
    #expect(!gone.isEmpty)
    for key in gone {
      let life = try #require(trend.findings.first { $0.key == key })
      #expect(life.resolvedAt == nil, "\(key) is not resolved by a version change")
      #expect(life.endedByVersionChange == third.capturedAt)
    }
    #expect(trend.findings.filter { $0.checkID != Self.checkID }.allSatisfy { $0.endedByVersionChange == nil })
    #expect(trend.jsonValue["version_changes"]?.arrayValue?.count == 1)

    // Drift: the check's findings are not compared; the change is listed with its open counts.
    let drift = try workflow.drift(from: second.id, to: third.id)
    #expect(drift.versionChanges.map(\.change.checkID) == [Self.checkID])
    #expect(drift.versionChanges.first?.openAfter == v2Counts.fail + v2Counts.excepted)
    for list in [drift.newFindings, drift.resolved, drift.stillOpen, drift.newlyExcepted, drift.exceptionExpired] {
      #expect(list.allSatisfy { $0.checkID != Self.checkID })
    }
    #expect(!drift.stillOpen.isEmpty, "the other checks are still compared")
    #expect(DriftText.render(drift).contains("  \(Self.checkID) version \(Self.shipped) -> version \(Self.next): "))
    #expect(!String(decoding: try DriftXML.render(drift, templates: templates), as: UTF8.self).isEmpty)

    // Assessed again with version 1, version 1 is the latest assessed: readers follow it.
    try workflow.assess(snapshotID: third.id, now: Timestamp(parsing: "2024-07-03T00:00:00Z")!)
    #expect(try store.checkVersions(snapshotID: third.id)[Self.checkID] == Self.shipped)
    #expect(try store.statusCounts(snapshotID: third.id)[Self.checkID] == v1Counts)
    #expect(try workflow.results(snapshotID: third.id, check: Self.checkID).allSatisfy { $0.checkVersion == Self.shipped })
    #expect(try workflow.trend(account: nil, from: nil, to: nil).versionChanges.isEmpty)
  }

  /// A snapshot assessed before a check existed and one assessed with it: the new check's findings
  /// are not new in the drift, and the trend marks the check as first assessed.
  @Test func aCheckFirstAssessedIsAVersionChange() throws {
    let (store, _) = try TestSupport.makeStore()
    let workflow = store.workflow
    let first = try TestSupport.ingest(store, TestSupport.fixture("dev-series/2024-01.json"), capturedAt: "2024-01-31T23:59:59Z")
    let second = try TestSupport.ingest(store, TestSupport.fixture("dev-series/2024-02.json"), capturedAt: "2024-02-29T23:59:59Z")
    // The first snapshot as an older tool assessed it: without the administrator checks.
    let older = CheckCatalog.all.filter { !$0.description.id.hasPrefix("admin-") }
    try workflow.assess(snapshotID: first.id, checks: older, now: TestSupport.fixedNow)
    try workflow.assess(snapshotID: second.id, now: TestSupport.fixedNow)
    let drift = try workflow.drift(from: first.id, to: second.id)
    #expect(drift.versionChanges.map(\.change.checkID) == ["admin-access-inline", "admin-access-managed", "admin-access-identity"])
    let versions = Dictionary(uniqueKeysWithValues: CheckCatalog.all.map { ($0.description.id, $0.description.version) })
    #expect(drift.versionChanges.allSatisfy { $0.change.fromVersion == nil && $0.change.toVersion == versions[$0.change.checkID] })
    #expect(drift.newFindings.allSatisfy { !$0.checkID.hasPrefix("admin-") })
    let trend = try workflow.trend(account: nil, from: nil, to: nil)
    #expect(trend.versionChanges.count == 3)
    let adminFindings = trend.findings.filter { $0.checkID.hasPrefix("admin-") }
    #expect(!adminFindings.isEmpty)
    #expect(adminFindings.allSatisfy { $0.firstSeenAtVersionChange })
  }
}
