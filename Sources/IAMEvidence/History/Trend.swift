import SQLiteDB

/// The life of one finding (by ``CheckResult/findingKey``) across a series of snapshots.
public struct FindingLifetime: Sendable, Hashable {
  public var key: String
  public var checkID: String
  /// A short description of the subject (principal and policy).
  public var subject: String
  public var firstSeen: Timestamp
  public var lastSeen: Timestamp
  /// Capture time of the first snapshot after `lastSeen` in which it no longer fails (nil: still open
  /// at the end of the series).
  public var resolvedAt: Timestamp?
  /// Whole days from first seen to resolution (or to the last snapshot of the series).
  public var daysOpen: Int
  /// Status in the last snapshot where it was seen open (`fail` or `excepted`).
  public var lastStatus: ResultStatus
}

/// A gap in coverage: two consecutive snapshots (or a period boundary and a snapshot) further apart
/// than the expected cadence.
public struct CoverageGap: Sendable, Hashable {
  /// Start of the gap (a snapshot's capture time, or the period start).
  public var from: Timestamp
  public var to: Timestamp
  public var days: Int
  /// The snapshot ids bounding the gap (nil for a period boundary).
  public var fromSnapshot: Int?
  public var toSnapshot: Int?
}

/// `iam-evidence trend`: per-snapshot counts, finding lifetimes and coverage gaps.
public struct TrendReport: Sendable {
  public var account: String
  public var snapshots: [SnapshotRecord]
  public var rows: [HistoryRow]
  public var findings: [FindingLifetime]
  public var gaps: [CoverageGap]
  public var cadenceDays: Int
}

extension EvidenceStore {
  /// Finding keys, checks, statuses and subjects of the open (fail or excepted) results of `snapshotID`.
  func resultKeys(snapshotID: Int) throws(StoreError) -> [(key: String, check: String, status: ResultStatus, subject: String)] {
    try wrap {
      let ids = try db.query("SELECT open_ids FROM snapshot_results WHERE snapshot_id = ? ORDER BY check_id", [snapshotID])
        .flatMap { IDList.decode($0.string("open_ids") ?? "[]") }
      let find = try db.prepare(
        """
        SELECT finding_key, check_id, status, principal_type, principal_name, policy_name, policy_arn, policy_version
        FROM result_details WHERE id = ?
        """)
      return try ids.compactMap { detailID -> SQLiteRow? in
        try find.bind([detailID])
        return try find.step()
      }.compactMap { row in
        guard let key = row.string("finding_key"), let check = row.string("check_id"),
          let status = row.string("status").flatMap(ResultStatus.init(rawValue:))
        else { return nil }
        var subject: [String] = []
        if let t = row.string("principal_type"), let n = row.string("principal_name") { subject.append("\(t) \(n)") }
        if let arn = row.string("policy_arn") {
          subject.append("managed \(arn)" + (row.string("policy_version").map { " \($0)" } ?? ""))
        } else if let n = row.string("policy_name") {
          subject.append("inline \(n)")
        }
        return (key, check, status, subject.joined(separator: " / "))
      }
    }
  }

  /// The trend of one account over [from, to] (nil bounds: all snapshots). Gaps longer than
  /// `cadenceDays` between consecutive snapshots, or between a given bound and the nearest snapshot,
  /// are reported.
  public func trend(account: String?, from: Timestamp?, to: Timestamp?, cadenceDays: Int = 31) throws(StoreError) -> TrendReport {
    let acct = try resolveAccount(account)
    let snapshots = try self.snapshots(account: acct).filter { s in
      (from.map { s.capturedAt >= $0 } ?? true) && (to.map { s.capturedAt <= $0 } ?? true)
    }
    var rows: [HistoryRow] = []
    struct Open {
      var check: String
      var subject: String
      var first: Timestamp
      var last: Timestamp
      var resolved: Timestamp?
      var lastStatus: ResultStatus
    }
    var lifetimes: [String: Open] = [:]
    var order: [String] = []
    for s in snapshots {
      let counts = try statusCounts(snapshotID: s.id)
      rows += HistoryRow.rows(for: s, counts: counts)
      guard !counts.isEmpty else { continue }  // an unassessed snapshot says nothing about findings
      var openNow = Set<String>()
      for r in try resultKeys(snapshotID: s.id) where r.status == .fail || r.status == .excepted {
        openNow.insert(r.key)
        if var l = lifetimes[r.key] {
          if l.resolved != nil {
            // Reopened: a new episode starts; the lifetime keeps its first sighting and is open again.
            l.resolved = nil
          }
          l.last = s.capturedAt
          l.lastStatus = r.status
          lifetimes[r.key] = l
        } else {
          lifetimes[r.key] = Open(
            check: r.check, subject: r.subject, first: s.capturedAt, last: s.capturedAt, resolved: nil, lastStatus: r.status)
          order.append(r.key)
        }
      }
      for (key, l) in lifetimes where l.resolved == nil && !openNow.contains(key) && l.last < s.capturedAt {
        lifetimes[key]!.resolved = s.capturedAt
      }
    }
    let end = snapshots.last?.capturedAt
    let findings = order.compactMap { key -> FindingLifetime? in
      guard let l = lifetimes[key] else { return nil }
      let until = l.resolved ?? end ?? l.last
      return FindingLifetime(
        key: key, checkID: l.check, subject: l.subject, firstSeen: l.first, lastSeen: l.last, resolvedAt: l.resolved,
        daysOpen: l.first.days(until: until), lastStatus: l.lastStatus)
    }.sorted {
      (CheckCatalog.position(of: $0.checkID), $0.firstSeen, $0.key) < (CheckCatalog.position(of: $1.checkID), $1.firstSeen, $1.key)
    }

    var gaps: [CoverageGap] = []
    let limit = Int64(cadenceDays) * 86_400
    if let from, let first = snapshots.first, first.capturedAt.epochSeconds - from.epochSeconds > limit {
      gaps.append(
        CoverageGap(from: from, to: first.capturedAt, days: from.days(until: first.capturedAt), fromSnapshot: nil, toSnapshot: first.id))
    }
    for (a, b) in zip(snapshots, snapshots.dropFirst()) where b.capturedAt.epochSeconds - a.capturedAt.epochSeconds > limit {
      gaps.append(
        CoverageGap(
          from: a.capturedAt, to: b.capturedAt, days: a.capturedAt.days(until: b.capturedAt), fromSnapshot: a.id, toSnapshot: b.id))
    }
    if let to, let last = snapshots.last, to.epochSeconds - last.capturedAt.epochSeconds > limit {
      gaps.append(CoverageGap(from: last.capturedAt, to: to, days: last.capturedAt.days(until: to), fromSnapshot: last.id, toSnapshot: nil))
    }
    if snapshots.isEmpty, let from, let to {
      gaps.append(CoverageGap(from: from, to: to, days: from.days(until: to), fromSnapshot: nil, toSnapshot: nil))
    }
    return TrendReport(account: acct, snapshots: snapshots, rows: rows, findings: findings, gaps: gaps, cadenceDays: cadenceDays)
  }
}

extension TrendReport {
  /// The `trend --format json` object: `rows`, `findings`, `gaps`.
  public var jsonValue: JSONValue {
    func n(_ i: Int) -> JSONValue { .number(String(i)) }
    func t(_ x: Timestamp?) -> JSONValue { x.map { .string($0.description) } ?? .null }
    return .object([
      ("account", .string(account)),
      ("cadence_days", n(cadenceDays)),
      (
        "rows",
        .array(
          rows.map { r in
            .object([
              ("snapshot", n(r.snapshotID)), ("captured_at", .string(r.capturedAt.description)), ("check", .string(r.checkID)),
              ("fail", n(r.counts.fail)), ("excepted", n(r.counts.excepted)), ("pass", n(r.counts.pass)), ("error", n(r.counts.error)),
              ("assessed", .bool(r.assessed)),
            ])
          })
      ),
      (
        "findings",
        .array(
          findings.map { f in
            .object([
              ("key", .string(f.key)), ("check", .string(f.checkID)), ("subject", .string(f.subject)), ("first_seen", t(f.firstSeen)),
              ("last_seen", t(f.lastSeen)), ("resolved_at", t(f.resolvedAt)), ("days_open", n(f.daysOpen)),
              ("last_status", .string(f.lastStatus.rawValue)),
            ])
          })
      ),
      (
        "gaps",
        .array(
          gaps.map { g in
            .object([
              ("from", t(g.from)), ("to", t(g.to)), ("days", n(g.days)), ("from_snapshot", g.fromSnapshot.map(n) ?? .null),
              ("to_snapshot", g.toSnapshot.map(n) ?? .null),
            ])
          })
      ),
    ])
  }
}
