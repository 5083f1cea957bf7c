import Foundation
import Testing

@testable import IAMEvidence

/// `store.trend` and `iam-evidence trend`: per-snapshot counts, finding lifetimes, coverage gaps.
@Suite(.temporaryDirectories) struct TrendTests {
  static func t(_ s: String) -> Timestamp { Timestamp(parsing: s)! }
  static let checks = CheckCatalog.all.map(\.description.id)

  @Test func countsEqualTheStoredResults() throws {
    let (store, records) = try Series.store()
    let report = try store.workflow.trend(account: nil, from: nil, to: nil)
    #expect(report.account == Series.account)
    #expect(report.snapshots.map(\.id) == Series.months.map { records[$0]!.id })
    #expect(report.rows.count == 3 * Self.checks.count)
    for s in report.snapshots {
      let results = try store.workflow.results(snapshotID: s.id)
      let rows = report.rows.filter { $0.snapshotID == s.id }
      #expect(rows.map(\.checkID) == Self.checks)
      for row in rows {
        let rs = results.with(check: row.checkID)
        #expect(row.assessed)
        #expect(row.capturedAt == s.capturedAt)
        #expect(row.counts.fail == rs.filter { $0.status == .fail }.count, "\(s.id) \(row.checkID)")
        #expect(row.counts.excepted == rs.filter { $0.status == .excepted }.count)
        #expect(row.counts.pass == rs.filter { $0.status == .pass }.count)
        #expect(row.counts.error == rs.filter { $0.status == .error }.count)
      }
    }
    #expect(report.rows.contains { $0.counts.fail > 0 })
    #expect(report.gaps.isEmpty, "Jan 31 → Feb 29 → Mar 31: at most 31 days apart")
  }

  @Test func findingLifetimesOfTheSeries() throws {
    let (store, records) = try Series.store()
    let report = try store.workflow.trend(account: nil, from: nil, to: nil)
    let times = Series.months.map { Self.t(Series.capturedAt($0)) }

    // Expected lifetimes, recomputed from the stored results of each month.
    var open: [[String: CheckResult]] = []
    for m in Series.months {
      let rs = try store.workflow.results(snapshotID: records[m]!.id).filter { $0.status == .fail || $0.status == .excepted }
      // A finding's identity is its subject: a managed policy whatever its default version.
      open.append(Dictionary(rs.map { ($0.findingIdentity, $0) }, uniquingKeysWith: { a, _ in a }))
    }
    let allKeys = Set(open.flatMap(\.keys))
    #expect(report.findings.count == allKeys.count)
    #expect(Set(report.findings.map(\.key)) == allKeys)
    for f in report.findings {
      let seen = open.indices.filter { open[$0][f.key] != nil }
      let first = try #require(seen.first)
      let last = try #require(seen.last)
      #expect(f.firstSeen == times[first], "\(f.key)")
      #expect(f.lastSeen == times[last], "\(f.key)")
      if last == times.count - 1 {
        #expect(f.resolvedAt == nil, "\(f.key)")
        #expect(f.daysOpen == times[first].days(until: times[last]))
      } else {
        #expect(f.resolvedAt == times[last + 1], "\(f.key)")
        #expect(f.daysOpen == times[first].days(until: times[last + 1]))
      }
      #expect(f.lastStatus == open[last][f.key]?.status)
      #expect(f.checkID == open[first][f.key]?.checkID)
    }

    // Named cases from the truth files.
    let jan = try store.loadSnapshot(id: records["01"]!.id)
    let mar = try store.loadSnapshot(id: records["03"]!.id)
    func key(_ s: AuthorizationSnapshot, _ principal: String, _ policy: String) throws -> String {
      "kms-full-access-inline|\(try #require(s.principals.first { $0.name == principal }).id)|inline:\(policy)"
    }
    // K00002 (priya_lopez AllowKMS, Resource ["*"]) narrowed to one key in February.
    let fixed = try #require(report.findings.first { $0.key == (try? key(jan, "priya_lopez", "AllowKMS")) })
    #expect(fixed.firstSeen == Self.t("2024-01-31T00:00:00Z"))
    #expect(fixed.lastSeen == Self.t("2024-01-31T00:00:00Z"))
    #expect(fixed.resolvedAt == Self.t("2024-02-29T00:00:00Z"))
    #expect(fixed.daysOpen == 29)
    // K00014 (fatima.wilson@example.com break-glass, kms:* on *) open all along.
    let stillOpen = try #require(report.findings.first { $0.key == (try? key(jan, "fatima.wilson@example.com", "break-glass")) })
    #expect(stillOpen.resolvedAt == nil)
    #expect(stillOpen.lastSeen == Self.t("2024-03-31T00:00:00Z"))
    #expect(stillOpen.daysOpen == 60)
    // K00032 (audit-cross-account-scanner app-permissions, KMS:*) introduced in March.
    let fresh = try #require(report.findings.first { $0.key == (try? key(mar, "audit-cross-account-scanner", "app-permissions")) })
    #expect(fresh.firstSeen == Self.t("2024-03-31T00:00:00Z") && fresh.resolvedAt == nil && fresh.daysOpen == 0)
    // K00012's principal was removed in March: its finding is resolved then.
    let removed = try #require(
      report.findings.first { $0.key == (try? key(jan, "cdk-hnb659fds-lookup-role-479265329499-us-east-2", "kms-access")) })
    #expect(removed.resolvedAt == Self.t("2024-03-31T00:00:00Z") && removed.daysOpen == 60)

    let json = report.jsonValue
    let element = try #require(json["findings"]?.arrayValue?.first { $0["key"] == .string(fixed.key) })
    #expect(element["resolved_at"] == .string("2024-02-29T00:00:00Z"))
    #expect(element["days_open"]?.numberText == "29")
    let openElement = try #require(json["findings"]?.arrayValue?.first { $0["key"] == .string(stillOpen.key) })
    #expect(openElement["resolved_at"] == .null)
  }

  @Test func gapInCoverage() throws {
    let (store, records) = try Series.store(["01", "03"])
    let report = try store.workflow.trend(account: nil, from: nil, to: nil)
    #expect(report.cadenceDays == 31)
    #expect(report.gaps.count == 1)
    let gap = try #require(report.gaps.first)
    #expect(gap.from == Self.t("2024-01-31T00:00:00Z") && gap.to == Self.t("2024-03-31T00:00:00Z"))
    #expect(gap.days == 60)
    #expect(gap.fromSnapshot == records["01"]!.id && gap.toSnapshot == records["03"]!.id)
    #expect(try store.workflow.trend(account: nil, from: nil, to: nil, cadenceDays: 90).gaps.isEmpty)
    #expect(try store.workflow.trend(account: nil, from: nil, to: nil, cadenceDays: 60).gaps.isEmpty, "exactly the cadence is no gap")
    #expect(try store.workflow.trend(account: nil, from: nil, to: nil, cadenceDays: 59).gaps.count == 1)
  }

  @Test func periodBoundsBeyondTheSnapshotsAreGaps() throws {
    let (store, records) = try Series.store()
    let report = try store.workflow.trend(account: Series.account, from: Self.t("2023-11-30"), to: Self.t("2024-06-30T23:59:59Z"))
    #expect(report.snapshots.count == 3)
    #expect(report.gaps.count == 2)
    let start = try #require(report.gaps.first)
    #expect(start.from == Self.t("2023-11-30") && start.to == Self.t("2024-01-31T00:00:00Z") && start.days == 62)
    #expect(start.fromSnapshot == nil && start.toSnapshot == records["01"]!.id)
    let end = try #require(report.gaps.last)
    #expect(end.from == Self.t("2024-03-31T00:00:00Z") && end.to == Self.t("2024-06-30T23:59:59Z") && end.days == 91)
    #expect(end.fromSnapshot == records["03"]!.id && end.toSnapshot == nil)
    // Bounds close to the snapshots: no gap; bounds also select the snapshots.
    #expect(try store.workflow.trend(account: nil, from: Self.t("2024-01-01"), to: Self.t("2024-04-15")).gaps.isEmpty)
    let narrowed = try store.workflow.trend(account: nil, from: Self.t("2024-02-01"), to: Self.t("2024-03-31T23:59:59Z"))
    #expect(narrowed.snapshots.map(\.id) == [records["02"]!.id, records["03"]!.id])
    #expect(narrowed.rows.count == 2 * Self.checks.count)
    #expect(narrowed.findings.allSatisfy { $0.firstSeen >= Self.t("2024-02-29T00:00:00Z") })
    // A period holding no snapshot at all is one gap.
    let empty = try store.workflow.trend(account: nil, from: Self.t("2024-05-01"), to: Self.t("2024-07-31"))
    #expect(empty.snapshots.isEmpty && empty.rows.isEmpty && empty.findings.isEmpty)
    #expect(empty.gaps.count == 1 && empty.gaps.first?.days == 91)
  }

  @Test func trendCommandFormats() throws {
    let (_, db) = try DriftCommandTests.seriesDatabase()
    let json = try DriftCommandTests.json(try TestSupport.run(["trend", "--db", db, "--format", "json"]))
    let rows = try #require(json["rows"]?.arrayValue)
    #expect(rows.count == 3 * Self.checks.count)
    for key in ["snapshot", "captured_at", "check", "fail", "excepted", "pass", "error"] {
      #expect(rows.allSatisfy { $0[key] != nil }, "rows lack \(key)")
    }
    let findings = try #require(json["findings"]?.arrayValue)
    #expect(!findings.isEmpty)
    for key in ["first_seen", "last_seen", "resolved_at", "days_open"] {
      #expect(findings.allSatisfy { $0[key] != nil }, "findings lack \(key)")
    }
    #expect(findings.contains { $0["resolved_at"] == .null } && findings.contains { $0["resolved_at"]?.stringValue != nil })
    #expect(json["gaps"]?.arrayValue?.isEmpty == true)

    // The cadence option and the period bounds reach the gaps.
    let gapped = try DriftCommandTests.json(
      try TestSupport.run(["trend", "--db", db, "--format", "json", "--cadence", "20", "--from", "2024-01-01", "--to", "2024-03-31"]))
    #expect(gapped["cadence_days"]?.numberText == "20")
    #expect(gapped["gaps"]?.arrayValue?.count == 3, "Jan 1 → Jan 31, Jan 31 → Feb 29, Feb 29 → Mar 31")

    let csv = try TestSupport.run(["trend", "--db", db, "--format", "csv"])
    #expect(csv.status == 0, "\(csv.stderr)")
    let records = CheckCommandTests.csvRecords(csv.stdout)
    // The counts in the report's order: fail, error, excepted, pass.
    #expect(Array(records.first?.prefix(7) ?? []) == ["snapshot", "captured_at", "check", "fail", "error", "excepted", "pass"])
    #expect(records.count == 1 + 3 * Self.checks.count)
    #expect(records.dropFirst().allSatisfy { $0.count == records[0].count })

    let text = try TestSupport.run(["trend", "--db", db, "--cadence", "20"])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("coverage GAP: 29 days from 2024-01-31 to 2024-02-29"), "\(text.stdout)")
  }

  @Test func gapFlaggedByTheCommand() throws {
    let dir = try TestSupport.temporaryDirectory()
    let db = dir.appendingPathComponent("e.sqlite").path
    for m in ["01", "03"] {
      let run = try TestSupport.run(["ingest", "--db", db, "--captured-at", Series.capturedAt(m), Series.url(m).path])
      #expect(run.status == 0, "\(run.stderr)")
    }
    let flagged = try DriftCommandTests.json(try TestSupport.run(["trend", "--db", db, "--format", "json"]))
    #expect(flagged["gaps"]?.arrayValue?.count == 1)
    #expect(flagged["gaps"]?.arrayValue?.first?["days"]?.numberText == "60")
    let relaxed = try DriftCommandTests.json(try TestSupport.run(["trend", "--db", db, "--format", "json", "--cadence", "90"]))
    #expect(relaxed["gaps"]?.arrayValue?.isEmpty == true)
  }
}
