/// The life of one finding (by ``CheckResult/findingIdentity``: a managed policy is one finding
/// whatever its default version) across a series of snapshots.
public struct FindingLifetime: Sendable, Hashable {
  /// ``CheckResult/findingIdentity``.
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
  /// When the finding was open as its check's version changed and is not a finding under the new
  /// version: the capture time of that snapshot. Such a finding is not resolved (``resolvedAt`` is
  /// nil): the rules changed, not the account.
  public var endedByVersionChange: Timestamp? = nil
  /// Whether it was first seen in a snapshot where its check's version changed: it may have existed
  /// before under the old rules, so it is not necessarily new in the account.
  public var firstSeenAtVersionChange: Bool = false
  /// The ids of the snapshots of the first and the last sighting (0 when not known).
  public var firstSnapshotID: Int = 0
  public var lastSnapshotID: Int = 0
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

extension CoverageGap {
  /// The gaps in coverage of `snapshots` (one account's, oldest first) over [from, to] (nil bounds:
  /// the series as given): consecutive snapshots further apart than `cadenceDays`, the period's start
  /// and the first snapshot, the last snapshot and the period's end; with no snapshot and both bounds,
  /// the whole period. What `trend` and `accounts` report as `gaps`.
  public static func gaps(in snapshots: [SnapshotRecord], from: Timestamp?, to: Timestamp?, cadenceDays: Int) -> [CoverageGap] {
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
    return gaps
  }

  /// The `gaps` member of `trend --format json` and `accounts --format json`.
  public var jsonValue: JSONValue {
    func n(_ i: Int) -> JSONValue { .number(String(i)) }
    return .object([
      ("from", .string(from.description)), ("to", .string(to.description)), ("days", n(days)),
      ("from_snapshot", fromSnapshot.map(n) ?? .null), ("to_snapshot", toSnapshot.map(n) ?? .null),
    ])
  }
}

/// `iam-evidence trend`: per-snapshot counts, finding lifetimes and coverage gaps.
public struct TrendReport: Sendable {
  public var account: String
  public var snapshots: [SnapshotRecord]
  public var rows: [HistoryRow]
  public var findings: [FindingLifetime]
  public var gaps: [CoverageGap]
  public var cadenceDays: Int
  /// Where a check's version changed between two consecutive assessed snapshots (including a check
  /// first assessed, or no longer assessed), in snapshot then catalog order.
  public var versionChanges: [CheckVersionChange] = []
}

/// Computes a ``TrendReport`` from fetched rows, one snapshot at a time, oldest first: a pure
/// computation (``EvidenceWorkflow/trend(account:from:to:cadenceDays:)`` fetches the rows), fed
/// incrementally so that a year of daily snapshots never holds every snapshot's open results at once.
public struct TrendBuilder: Sendable {
  private struct Open: Sendable {
    var check: String
    var subject: String
    var first: Timestamp
    var last: Timestamp
    var resolved: Timestamp?
    var lastStatus: ResultStatus
    var endedByVersionChange: Timestamp?
    var firstSeenAtVersionChange: Bool
    var firstSnapshot: Int
    var lastSnapshot: Int
  }

  public let account: String
  public let from: Timestamp?
  public let to: Timestamp?
  public let cadenceDays: Int
  private var snapshots: [SnapshotRecord] = []
  private var rows: [HistoryRow] = []
  private var lifetimes: [String: Open] = [:]
  private var order: [String] = []
  /// The check versions of the last assessed snapshot added.
  private var previousVersions: [String: Int]?
  private var versionChanges: [CheckVersionChange] = []

  /// A trend of `account` over [from, to] (nil bounds: the series as given). Gaps longer than
  /// `cadenceDays` between consecutive snapshots, or between a given bound and the nearest snapshot,
  /// are reported.
  public init(account: String, from: Timestamp?, to: Timestamp?, cadenceDays: Int = 31) {
    self.account = account
    self.from = from
    self.to = to
    self.cadenceDays = cadenceDays
  }

  /// Adds the next snapshot of the series with its status counts per check (empty: not assessed),
  /// its open (fail or excepted) results and its check versions (check id → version; empty: unknown,
  /// then no version change is marked). Findings of a check whose version changed since the previous
  /// assessed snapshot are neither resolved nor new because of it (see ``FindingLifetime``). Error
  /// results may be passed among `openResults` (``EvidenceStore/errorResults(snapshotID:checks:)``):
  /// an open finding whose subject could not be evaluated in this snapshot is not resolved by it.
  public mutating func add(_ s: SnapshotRecord, counts: [String: StatusCounts], openResults: [OpenResult], versions: [String: Int] = [:]) {
    snapshots.append(s)
    rows += HistoryRow.rows(for: s, counts: counts, versions: versions)
    guard !counts.isEmpty else { return }  // an unassessed snapshot says nothing about findings
    var changed = Set<String>()
    if let previous = previousVersions, !previous.isEmpty, !versions.isEmpty {
      let changes = CheckVersionChange.between(previous, versions, at: s)
      versionChanges += changes
      changed = Set(changes.map(\.checkID))
    }
    if !versions.isEmpty { previousVersions = versions }
    var openNow = Set<String>()
    // Not evaluable here (an error result): neither still open nor resolved by this snapshot.
    let unknownNow = Set(openResults.lazy.filter { $0.status == .error }.map(\.findingIdentity))
    for r in openResults where r.status == .fail || r.status == .excepted {
      let key = r.findingIdentity
      openNow.insert(key)
      if var l = lifetimes[key] {
        if l.resolved != nil || l.endedByVersionChange != nil {
          // Reopened: a new episode starts; the lifetime keeps its first sighting and is open again.
          l.resolved = nil
          l.endedByVersionChange = nil
        }
        // Two results of one identity in a snapshot (not expected): a failure outweighs an exception.
        if l.lastSnapshot != s.id || r.status == .fail { l.lastStatus = r.status }
        l.last = s.capturedAt
        l.lastSnapshot = s.id
        lifetimes[key] = l
      } else {
        lifetimes[key] = Open(
          check: r.checkID, subject: Self.subject(r), first: s.capturedAt, last: s.capturedAt, resolved: nil, lastStatus: r.status,
          endedByVersionChange: nil, firstSeenAtVersionChange: changed.contains(r.checkID), firstSnapshot: s.id, lastSnapshot: s.id)
        order.append(key)
      }
    }
    for (key, l) in lifetimes
    where l.resolved == nil && l.endedByVersionChange == nil && !openNow.contains(key) && !unknownNow.contains(key)
      && l.last < s.capturedAt
    {
      if changed.contains(l.check) {
        lifetimes[key]!.endedByVersionChange = s.capturedAt
      } else {
        lifetimes[key]!.resolved = s.capturedAt
      }
    }
  }

  /// A short description of a result's subject: `user alice / inline admin`, `managed <arn>` (a
  /// managed policy without its version: the finding is the policy's, whatever version is default).
  static func subject(_ r: OpenResult) -> String {
    var subject: [String] = []
    if let t = r.principalType, let n = r.principalName { subject.append("\(t) \(n)") }
    if let arn = r.policyARN {
      subject.append("managed \(arn)")
    } else if let n = r.policyName {
      subject.append("inline \(n)")
    }
    return subject.joined(separator: " / ")
  }

  /// The trend of the snapshots added so far.
  public func report() -> TrendReport {
    let end = snapshots.last?.capturedAt
    let findings = order.compactMap { key -> FindingLifetime? in
      guard let l = lifetimes[key] else { return nil }
      let until = l.resolved ?? l.endedByVersionChange ?? end ?? l.last
      return FindingLifetime(
        key: key, checkID: l.check, subject: l.subject, firstSeen: l.first, lastSeen: l.last, resolvedAt: l.resolved,
        daysOpen: l.first.days(until: until), lastStatus: l.lastStatus, endedByVersionChange: l.endedByVersionChange,
        firstSeenAtVersionChange: l.firstSeenAtVersionChange, firstSnapshotID: l.firstSnapshot, lastSnapshotID: l.lastSnapshot)
    }.sorted {
      (CheckCatalog.position(of: $0.checkID), $0.firstSeen, $0.key) < (CheckCatalog.position(of: $1.checkID), $1.firstSeen, $1.key)
    }

    let gaps = CoverageGap.gaps(in: snapshots, from: from, to: to, cadenceDays: cadenceDays)
    return TrendReport(
      account: account, snapshots: snapshots, rows: rows, findings: findings, gaps: gaps, cadenceDays: cadenceDays,
      versionChanges: versionChanges)
  }
}

extension TrendReport {
  /// The `trend --format json` object: `rows` (with each check's `version`), `findings`, `gaps`,
  /// `version_changes`.
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
              ("assessed", .bool(r.assessed)), ("version", r.checkVersion.map(n) ?? .null),
            ])
          })
      ),
      (
        "findings",
        .array(
          findings.map { f in
            .object([
              ("key", .string(f.key)), ("check", .string(f.checkID)), ("subject", .string(f.subject)), ("first_seen", t(f.firstSeen)),
              ("first_snapshot", n(f.firstSnapshotID)), ("last_seen", t(f.lastSeen)), ("last_snapshot", n(f.lastSnapshotID)),
              ("resolved_at", t(f.resolvedAt)), ("days_open", n(f.daysOpen)),
              ("last_status", .string(f.lastStatus.rawValue)), ("ended_by_version_change", t(f.endedByVersionChange)),
              ("first_seen_at_version_change", .bool(f.firstSeenAtVersionChange)),
            ])
          })
      ),
      ("gaps", .array(gaps.map(\.jsonValue))),
      (
        "version_changes",
        .array(
          versionChanges.map { c in
            .object([
              ("check", .string(c.checkID)), ("from_version", c.fromVersion.map(n) ?? .null), ("to_version", c.toVersion.map(n) ?? .null),
              ("snapshot", n(c.snapshotID)), ("captured_at", t(c.capturedAt)),
            ])
          })
      ),
    ])
  }
}
