/// What to report on.
public enum ReportScope: Sendable {
  /// One snapshot (`latest`, an id, a date...) and no history beyond it.
  case snapshot(String)
  /// Every snapshot captured in [from, to]; the latest of them is the current state.
  case period(from: Timestamp, to: Timestamp)
}

/// The records an evidence document is built from, as the store gives them back.
public struct EvidenceRecords: Sendable {
  /// The snapshot whose results are the current state (the latest of the period).
  public var current: SnapshotRecord
  /// Every snapshot of the period, oldest first (current included).
  public var period: [SnapshotRecord]
  /// The reporting period; nil for a single snapshot.
  public var periodFrom: Timestamp?
  public var periodTo: Timestamp?
  /// The current snapshot's results, in report order.
  public var results: [CheckResult]
  /// The status counts per check of each snapshot of the period, by snapshot id (empty: not assessed).
  public var counts: [Int: [String: StatusCounts]]
  /// The current snapshot's latest assessment.
  public var assessment: AssessmentRecord?
  /// The SQLite version of the store, for the chain of custody.
  public var sqliteVersion: String
  /// The ledger heads of the period's snapshots, from the integrity check.
  public var ledger: LedgerHeads
  /// The current snapshot's privileged-access register (``PrivilegedRegister``).
  public var privileged: [PrivilegedPrincipal]
  /// The privileged identities per snapshot (``PrivilegeHistoryBuilder``); the period's are kept.
  public var privilegedCounts: [PrivilegedCount]
  /// The check versions of each snapshot of the period (check id → the version of its latest
  /// assessment), by snapshot id.
  public var versions: [Int: [String: Int]]
  /// The last snapshot before the period and its counts (``EvidenceModel/periodStart``).
  public var periodStart: SnapshotRecord? = nil
  public var periodStartCounts: [String: StatusCounts] = [:]
  /// The lifetimes of the findings seen in the period or in ``periodStart`` (``TrendBuilder`` over the
  /// account's snapshots through the current one).
  public var lifetimes: [FindingLifetime] = []
  /// The result of each of those findings as last seen open, by identity, for those not open in the
  /// current snapshot.
  public var lastSeenResults: [String: CheckResult] = [:]
  /// The access reviews of the period's snapshots with their follow-ups (``EvidenceWorkflow/reviewEvidence(of:capabilities:)``).
  public var reviews: [ReviewEvidence] = []
  /// The provenance of the snapshots, by id (``EvidenceModel/provenance``).
  public var provenance: [Int: SnapshotProvenance] = [:]
  /// The build of the tool stating the evidence (``EvidenceModel/toolBuild``).
  public var build: ToolBuild = .current

  public init(
    current: SnapshotRecord, period: [SnapshotRecord], periodFrom: Timestamp? = nil, periodTo: Timestamp? = nil,
    results: [CheckResult], counts: [Int: [String: StatusCounts]], assessment: AssessmentRecord?, sqliteVersion: String,
    ledger: LedgerHeads = LedgerHeads(snapshots: [:]), privileged: [PrivilegedPrincipal] = [],
    privilegedCounts: [PrivilegedCount] = [], versions: [Int: [String: Int]] = [:]
  ) {
    self.ledger = ledger
    self.current = current
    self.period = period
    self.periodFrom = periodFrom
    self.periodTo = periodTo
    self.results = results
    self.counts = counts
    self.assessment = assessment
    self.sqliteVersion = sqliteVersion
    self.privileged = privileged
    self.privilegedCounts = privilegedCounts
    self.versions = versions
  }
}

/// Builds the ``EvidenceModel`` from fetched records: a pure function (no store, no clock).
public enum EvidenceBuilder {
  /// The evidence of `records`, stamped `generatedAt`, judged by `checks` and described with `catalog`.
  public static func build(
    _ records: EvidenceRecords, generatedAt: Timestamp, checks: [CheckDescription] = CheckCatalog.all.map(\.description),
    catalog: ControlCatalog = .bundled, actionCatalog: ActionCatalog = .bundled
  ) -> EvidenceModel {
    let current = records.current

    let periodIDs = Set(records.period.map(\.id))
    var history: [HistoryRow] = []
    for s in records.period {
      history += HistoryRow.rows(for: s, counts: records.counts[s.id] ?? [:], versions: records.versions[s.id] ?? [:])
    }

    var exceptions: [ExceptionUse] = []
    if let a = records.assessment, !a.exceptionsContent.isEmpty,
      let register = try? ExceptionRegister(recordedBytes: Array(a.exceptionsContent.utf8), source: a.exceptionsSource ?? "exceptions")
    {
      let stale = Set(a.staleExceptions)
      let unapplied = unappliedMatches(
        records.results, register: register, account: current.account, capturedAt: current.capturedAt, checks: checks)
      // The results each exception was applied to, or covers a source of (each result counted once
      // per exception), in one pass over the results.
      var applied: [String: Int] = [:]
      for r in records.results where r.exception != nil || !r.coveringExceptions.isEmpty {
        var ids = Set(r.coveringExceptions.map(\.exception.id))
        if let id = r.exception?.id { ids.insert(id) }
        for id in ids { applied[id, default: 0] += 1 }
      }
      // An exception limited to other accounts does not concern this account's evidence.
      for e in register.exceptions where e.applies(toAccount: current.account) {
        exceptions.append(
          ExceptionUse(
            exception: e,
            appliedTo: applied[e.id] ?? 0,
            expiredMatches: unapplied.expired[e.id] ?? 0, notYetApprovedMatches: unapplied.notYetApproved[e.id] ?? 0,
            isStale: stale.contains(e.id), daysLeft: current.capturedAt.days(until: e.expiresOn)))
      }
    }
    var model = EvidenceModel(
      toolName: records.build.name, toolVersion: records.build.version, sqliteVersion: records.sqliteVersion,
      generatedAt: generatedAt, account: current.account, periodFrom: records.periodFrom, periodTo: records.periodTo, current: current,
      snapshots: records.period, assessment: records.assessment, controls: controls(of: checks, catalog: catalog), checks: checks,
      results: records.results, exceptions: exceptions, history: history, ledger: records.ledger, privileged: records.privileged,
      privilegedCounts: records.privilegedCounts.filter { periodIDs.contains($0.snapshotID) },
      actionCatalog: ActionCatalogInfo(catalog: actionCatalog, checks: checks), periodStart: records.periodStart,
      periodStartCounts: records.periodStartCounts,
      periodFindings: periodFindings(
        lifetimes: records.lifetimes, current: current, results: records.results, lastSeen: records.lastSeenResults),
      reviews: records.reviews)
    model.toolBuild = records.build
    model.provenance = records.provenance
    return model
  }

  /// The controls `checks` map to, as evidence lists them: the founding check's primary control first
  /// (A.8.2 for this catalog), then by number.
  public static func controls(of checks: [CheckDescription], catalog: ControlCatalog = .bundled) -> [Control] {
    var controlIDs: [String] = []
    for c in checks { for id in c.controls where !controlIDs.contains(id) { controlIDs.append(id) } }
    let founding = (checks.first(where: \.isPrimary) ?? checks.first)?.primaryControl
    controlIDs.sort { a, b in a == founding ? b != founding : (b == founding ? false : a.compare(numerically: b)) }
    return controlIDs.compactMap(catalog.control)
  }

  /// For each exception of `register`, the failing results it matched but could not apply at
  /// `capturedAt`, having expired or not yet been approved: the register matched against the results
  /// again, by the rule the assessment applied (``Assessor/assess(_:capturedAt:account:register:checks:evaluator:engine:evaluated:)``:
  /// none of the matching exceptions in force, an identity result's sources included:
  /// ``ExceptionRegister/coverage(of:account:sourceChecks:)``), not read from notes.
  static func unappliedMatches(
    _ results: [CheckResult], register: ExceptionRegister, account: String, capturedAt: Timestamp, checks: [CheckDescription] = []
  ) -> (expired: [String: Int], notYetApproved: [String: Int]) {
    var expired: [String: Int] = [:]
    var notYetApproved: [String: Int] = [:]
    guard !register.exceptions.isEmpty else { return (expired, notYetApproved) }
    var sourceChecks: [String: [String]] = [:]
    for c in checks where !c.sourceChecks.isEmpty { sourceChecks[c.id] = c.sourceChecks }
    for r in results where r.status == .fail {
      let coverage = register.coverage(of: r, account: account, sourceChecks: sourceChecks[r.checkID] ?? [])
      if coverage.applied(at: capturedAt) != nil { continue }
      for e in coverage.matched {
        switch e.period(at: capturedAt) {
        case .expired: expired[e.id, default: 0] += 1
        case .notYetApproved: notYetApproved[e.id, default: 0] += 1
        case .inForce: break
        }
      }
    }
    return (expired, notYetApproved)
  }
}

extension HistoryRow {
  /// One row per catalog check for snapshot `s`, from its stored counts and check versions: the
  /// history of reports and the rows of `trend` are built here, so the chart and the trend always
  /// agree.
  public static func rows(for s: SnapshotRecord, counts: [String: StatusCounts], versions: [String: Int] = [:]) -> [HistoryRow] {
    CheckCatalog.all.map(\.description.id).map { check in
      HistoryRow(
        snapshotID: s.id, capturedAt: s.capturedAt, checkID: check, counts: counts[check] ?? StatusCounts(), assessed: !counts.isEmpty,
        checkVersion: versions[check])
    }
  }
}

extension HistoryRow {
  /// Where a check's version changed between consecutive assessed snapshots of `rows` (snapshots in
  /// the order of `snapshots`; unassessed ones are skipped).
  public static func versionChanges(_ rows: [HistoryRow], snapshots: [SnapshotRecord]) -> [CheckVersionChange] {
    var previous: [String: Int]?
    var changes: [CheckVersionChange] = []
    for s in snapshots {
      let mine = rows.filter { $0.snapshotID == s.id }
      guard mine.contains(where: \.assessed) else { continue }
      var versions: [String: Int] = [:]
      for r in mine { if let v = r.checkVersion { versions[r.checkID] = v } }
      if versions.isEmpty { continue }  // versions unknown: nothing to compare
      if let previous { changes += CheckVersionChange.between(previous, versions, at: s) }
      previous = versions
    }
    return changes
  }
}

extension String {
  /// `A.8.2` < `A.8.3` < `A.8.24`: compares dotted numbers numerically.
  func compare(numerically other: String) -> Bool {
    let a = split(separator: ".").map { Int($0) ?? 0 }
    let b = other.split(separator: ".").map { Int($0) ?? 0 }
    return a.lexicographicallyPrecedes(b)
  }
}
