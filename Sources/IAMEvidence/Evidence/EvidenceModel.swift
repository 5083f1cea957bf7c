/// The overall verdict on the control for the current snapshot.
public enum ControlVerdict: String, Sendable {
  /// No failing and no erroneous result of the primary test.
  case effective
  /// Failing results of the primary test exist.
  case notEffective = "not-effective"
  /// No failures, but results with status error: the evidence is incomplete.
  case inconclusive
}

/// An exception as reported: the register's entry and what it did in the current snapshot.
public struct ExceptionUse: Sendable, Hashable {
  public var exception: PolicyException
  /// Results it turned into `excepted`.
  public var appliedTo: Int
  /// Failing results it matched but could not apply, having expired.
  public var expiredMatches: Int
  /// Failing results it matched but could not apply, having been approved only after the snapshot
  /// was captured (noted `exception-not-yet-approved`: a backdated approval excuses nothing).
  public var notYetApprovedMatches: Int = 0
  /// Matched nothing in the current snapshot.
  public var isStale: Bool
  /// Days from the report's reference time to the last day in force (negative once expired).
  public var daysLeft: Int
}

extension ExceptionUse {
  /// Whether the exception covers every check, principal and policy (`"scope_all": true`): while in
  /// force it excepts every failure of every check, so reports show it prominently.
  public var isScopeAll: Bool { exception.isScopeAll }
}

/// Everything an evidence document says, computed once and consumed by every renderer (HTML, XML,
/// OSCAL). Plain values only: renderers never query the store.
public struct EvidenceModel: Sendable {
  public var toolName: String
  public var toolVersion: String
  public var sqliteVersion: String
  public var generatedAt: Timestamp
  public var account: String
  /// The reporting period; nil ends mean "the snapshot itself".
  public var periodFrom: Timestamp?
  public var periodTo: Timestamp?
  /// The snapshot whose results are the current state (the latest in the period).
  public var current: SnapshotRecord
  /// Every snapshot in the period, oldest first (current included).
  public var snapshots: [SnapshotRecord]
  public var assessment: AssessmentRecord?
  /// The controls the checks map to, primary first.
  public var controls: [Control]
  public var checks: [CheckDescription]
  /// The current snapshot's results: the whole population, in report order.
  public var results: [CheckResult]
  public var exceptions: [ExceptionUse]
  public var history: [HistoryRow]
  /// The database ledger's heads for these snapshots (tamper evidence); empty when not known.
  public var ledger: LedgerHeads
  /// The current snapshot's privileged-access register, in reading order.
  public var privileged: [PrivilegedPrincipal] = []
  /// The number of privileged identities in each snapshot of the period, oldest first.
  public var privilegedCounts: [PrivilegedCount] = []

  /// Results of one check.
  public func results(of checkID: String) -> [CheckResult] { results.filter { $0.checkID == checkID } }

  /// Counts per check for the current snapshot.
  public func counts(of checkID: String) -> StatusCounts { StatusCounts(results(of: checkID)) }

  /// Findings: every result that is not a pass, most severe first.
  public var findings: [CheckResult] { results.filter { $0.status != .pass } }

  /// The verdict on A.8.2 from the primary test.
  public var verdict: ControlVerdict {
    let primary = checks.first(where: \.isPrimary)?.id ?? checks.first?.id ?? ""
    let c = counts(of: primary)
    if c.fail > 0 { return .notEffective }
    if c.error > 0 { return .inconclusive }
    return .effective
  }

  /// The period as text: `2024-01-01 – 2024-03-31`, or the current snapshot's capture date.
  public var periodDescription: String {
    if let f = periodFrom, let t = periodTo { return "\(f.dateString) to \(t.dateString)" }
    return "snapshot of \(current.capturedAt.dateString)"
  }
}
