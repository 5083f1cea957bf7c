/// Where a finding seen during a period stands at the period's end (its last snapshot).
public enum FindingEndState: String, Sendable, Hashable, CaseIterable {
  /// It fails in the last snapshot.
  case open
  /// It could not be evaluated in the last snapshot (status error): neither open nor shown resolved.
  case error
  /// It fails in the last snapshot, covered by an exception in force.
  case excepted
  /// It no longer fails in the last snapshot (the result passes, or the subject is gone).
  case resolved
  /// Its check's version changed and it is not a finding under the new version: the rules changed, not
  /// the account (see ``FindingLifetime/endedByVersionChange``).
  case endedByVersionChange = "ended-by-version-change"

  /// Reading order: open, error, excepted, resolved, ended by a version change.
  public var rank: Int { Self.allCases.firstIndex(of: self)! }

  /// `open`, `not evaluable`, ... : the words reports use.
  public var label: String {
    switch self {
    case .open: return "open"
    case .error: return "not evaluable"
    case .excepted: return "excepted"
    case .resolved: return "resolved"
    case .endedByVersionChange: return "ended by a check version change"
    }
  }
}

/// A finding seen in at least one snapshot of the period (or in the state at its start: the last
/// snapshot before it), with its first and last sighting and its state at the period's end. Findings
/// that lived and died between two month-ends of a quarter are here, not only those of its last
/// snapshot.
public struct PeriodFinding: Sendable, Hashable {
  /// Its life, from the account's first snapshot through the period's last (the first sighting may
  /// lie before the period). ``FindingLifetime/key`` is its ``CheckResult/findingIdentity``.
  public var lifetime: FindingLifetime
  public var state: FindingEndState
  /// The result as last seen open (fail or excepted): the last snapshot's when it is open there, else
  /// that of the snapshot of its last sighting.
  public var result: CheckResult

  public init(lifetime: FindingLifetime, state: FindingEndState, result: CheckResult) {
    self.lifetime = lifetime
    self.state = state
    self.result = result
  }

  /// ``CheckResult/findingIdentity``.
  public var identity: String { lifetime.key }
  public var checkID: String { lifetime.checkID }

  /// Whether it still stands at the period's end (open, excepted or not evaluable).
  public var standsAtEnd: Bool { state == .open || state == .excepted || state == .error }

  /// The snapshot-independent order of a period's findings: state at the end (open first), the
  /// check's catalog position, first sighting, then identity.
  public static func reportOrder(_ a: PeriodFinding, _ b: PeriodFinding) -> Bool {
    (a.state.rank, CheckCatalog.position(of: a.checkID), a.lifetime.firstSeen, a.identity)
      < (b.state.rank, CheckCatalog.position(of: b.checkID), b.lifetime.firstSeen, b.identity)
  }
}

/// A control's verdict over a period: `effective` only when every snapshot from the period's start
/// to its end is effective.
public enum PeriodVerdict: String, Sendable, Hashable {
  /// Every snapshot of the period, and the state at its start, is effective.
  case effective
  /// Some snapshot of the period, or the state at its start, is not effective.
  case notEffective = "not-effective"
  /// None is not effective, but some snapshot has results that could not be evaluated.
  case error
  /// None is not effective, but no snapshot gives the state at the period's start (none captured at
  /// its start and none before it in the database, or that one was never assessed): the period is not
  /// covered from its start, so it cannot be shown effective.
  case noEvidence = "no-evidence"
}

/// One snapshot's verdict on a control, as a period verdict rests on it.
public struct SnapshotVerdict: Sendable, Hashable {
  public var snapshot: SnapshotRecord
  /// Nil when the snapshot was never assessed.
  public var verdict: ControlVerdict?
  /// Whether this is the last snapshot before the period, which gives the state at its start.
  public var isPeriodStart: Bool

  public init(snapshot: SnapshotRecord, verdict: ControlVerdict?, isPeriodStart: Bool) {
    self.snapshot = snapshot
    self.verdict = verdict
    self.isPeriodStart = isPeriodStart
  }
}

/// One control's verdict over the period and the snapshot verdicts it rests on.
public struct ControlPeriodAssessment: Sendable, Hashable {
  public var control: Control
  public var verdict: PeriodVerdict
  /// The state at the period's start (when it comes from a snapshot before the period) first, then
  /// every snapshot of the period, oldest first.
  public var snapshots: [SnapshotVerdict]
  /// Whether some assessed snapshot gives the state at the period's start.
  public var startCovered: Bool

  /// The verdict from the snapshot verdicts: not effective when any is, else no evidence when the
  /// start is not covered, else error when any is error (or never assessed), else effective.
  public init(control: Control, snapshots: [SnapshotVerdict], startCovered: Bool) {
    self.control = control
    self.snapshots = snapshots
    self.startCovered = startCovered
    let verdicts = snapshots.map(\.verdict)
    if verdicts.contains(.notEffective) {
      verdict = .notEffective
    } else if !startCovered {
      verdict = .noEvidence
    } else if verdicts.contains(where: { $0 != .effective }) {
      verdict = .error
    } else {
      verdict = .effective
    }
  }

  /// One sentence on what the verdict rests on, for reports and README.txt.
  public var explanation: String {
    let notEffective = snapshots.filter { $0.verdict == .notEffective }
    func one(_ v: SnapshotVerdict) -> String {
      "snapshot \(v.snapshot.id) (\(v.snapshot.capturedAt.dateString)\(v.isPeriodStart ? ", the state at the period's start" : ""))"
    }
    // A long series (daily snapshots) is summed up: how many, the first and the last.
    func list(_ s: [SnapshotVerdict]) -> String {
      guard s.count > 4, let first = s.first, let last = s.last else { return s.map(one).joined(separator: ", ") }
      return "\(s.count) of the \(snapshots.count) snapshots, from \(one(first)) to \(one(last))"
    }
    switch verdict {
    case .notEffective:
      return "Not effective in \(list(notEffective))."
    case .noEvidence:
      return
        "No snapshot gives the state at the period's start (none was captured at its start, and the database holds no assessed snapshot before it): the period is not covered from its start, so the control cannot be shown effective throughout."
    case .error:
      let open = snapshots.filter { $0.verdict != .effective }
      return "No snapshot is not effective, but \(list(open)) could not be fully evaluated (status error, or never assessed)."
    case .effective:
      return
        "Effective in every snapshot from the period's start to its end (\(snapshots.count == 1 ? "1 snapshot" : "\(snapshots.count) snapshots"))."
    }
  }
}

extension EvidenceModel {
  /// Whether the evidence covers a period (`report --from --to`, `package`), not a single snapshot.
  public var isPeriod: Bool { periodFrom != nil && periodTo != nil }

  /// Whether some snapshot gives the state at the period's start: the first snapshot of the period is
  /// captured at the start, or the last snapshot before the period (``periodStart``) was assessed.
  public var periodStartCovered: Bool {
    guard let from = periodFrom else { return true }
    if let first = snapshots.first, first.capturedAt <= from { return true }
    return periodStart != nil && !periodStartCounts.isEmpty
  }

  /// The verdict of every control given one, over the period: per snapshot (the state at the start
  /// first, when it comes from a snapshot before the period) and for the whole period. Empty for the
  /// evidence of a single snapshot.
  public var periodVerdicts: [ControlPeriodAssessment] {
    guard isPeriod else { return [] }
    let start: [ControlAssessment]? =
      periodStart.flatMap { _ in
        periodStartCounts.isEmpty ? nil : ControlAssessment.all(controls: controls, checks: checks, counts: periodStartCounts)
      }
    let perSnapshot = snapshots.map { ($0, controlVerdicts(snapshotID: $0.id)) }
    return controlVerdicts.map { current in
      var list: [SnapshotVerdict] = []
      if let s = periodStart {
        list.append(
          SnapshotVerdict(snapshot: s, verdict: start?.first { $0.control.id == current.control.id }?.verdict, isPeriodStart: true))
      }
      for (s, verdicts) in perSnapshot {
        list.append(
          SnapshotVerdict(snapshot: s, verdict: verdicts?.first { $0.control.id == current.control.id }?.verdict, isPeriodStart: false))
      }
      return ControlPeriodAssessment(control: current.control, snapshots: list, startCovered: periodStartCovered)
    }
  }

  /// `A.8.2 over the period: not-effective, ...`: what the CLI prints for a period.
  public var periodVerdictSummary: String {
    periodVerdicts.map { "\($0.control.id) over the period: \($0.verdict.rawValue)" }.joined(separator: ", ")
  }

  /// The period's findings of one check.
  public func periodFindings(of checkID: String) -> [PeriodFinding] { periodFindings.filter { $0.checkID == checkID } }
}

extension EvidenceBuilder {
  /// The period's findings from the lifetimes of the findings seen in it, the current snapshot's
  /// results and the results of their last sighting (by ``CheckResult/findingIdentity``), in
  /// ``PeriodFinding/reportOrder(_:_:)``. A lifetime without a result to show is left out (a damaged
  /// database: the integrity check refuses it first).
  static func periodFindings(
    lifetimes: [FindingLifetime], current: SnapshotRecord, results: [CheckResult], lastSeen: [String: CheckResult]
  ) -> [PeriodFinding] {
    // Only the identities seen in the period matter (none for the evidence of one snapshot): a key
    // made for each of 300,000 results took a second.
    guard !lifetimes.isEmpty else { return [] }
    var now: [String: CheckResult] = [:]
    for r in results {
      // One result per identity is expected; should two share one, the more severe is kept.
      if let old = now[r.findingIdentity], old.status.severityRank <= r.status.severityRank { continue }
      now[r.findingIdentity] = r
    }
    return lifetimes.compactMap { l -> PeriodFinding? in
      let end = now[l.key]
      if l.lastSnapshotID == current.id, let r = end, r.status == .fail || r.status == .excepted {
        return PeriodFinding(lifetime: l, state: r.status == .fail ? .open : .excepted, result: r)
      }
      guard let last = lastSeen[l.key] ?? end else { return nil }
      let state: FindingEndState =
        end?.status == .error ? .error : (l.endedByVersionChange != nil && l.resolvedAt == nil ? .endedByVersionChange : .resolved)
      return PeriodFinding(lifetime: l, state: state, result: last)
    }.sorted(by: PeriodFinding.reportOrder)
  }
}
