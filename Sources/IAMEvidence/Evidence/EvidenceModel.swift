import Foundation

/// The verdict on one control for one snapshot, from the checks whose primary control it is.
public enum ControlVerdict: String, Sendable, Hashable {
  /// None of its primary checks has a failure that is not excepted, or a result with status error.
  case effective
  /// Some primary check has a failure that is not excepted.
  case notEffective = "not-effective"
  /// No failure, but some primary check has results with status error: the evidence is incomplete.
  case error

  /// The verdict from the status counts of a control's primary checks (an excepted failure does not
  /// count: the exceptions register is the record of its authorisation).
  public init(counts: some Sequence<StatusCounts>) {
    var fail = 0
    var error = 0
    for c in counts {
      fail += c.fail
      error += c.error
    }
    self = fail > 0 ? .notEffective : (error > 0 ? .error : .effective)
  }
}

/// One control's verdict for one snapshot and what it rests on: the counts of each check whose
/// primary control it is.
public struct ControlAssessment: Sendable, Hashable {
  public var control: Control
  public var verdict: ControlVerdict
  /// The control's primary checks (catalog order, the founding test first) with their status counts.
  public var checks: [(id: String, counts: StatusCounts)]
  /// The founding test among them (``CheckDescription/isPrimary``), if any.
  public var foundingCheck: String?

  public static func == (a: ControlAssessment, b: ControlAssessment) -> Bool {
    a.control == b.control && a.verdict == b.verdict && a.foundingCheck == b.foundingCheck
      && a.checks.map(\.id) == b.checks.map(\.id) && a.checks.map(\.counts) == b.checks.map(\.counts)
  }
  public func hash(into h: inout Hasher) {
    h.combine(control)
    h.combine(verdict)
  }

  /// The primary checks with failures that are not excepted.
  public var failingChecks: [String] { checks.filter { $0.counts.fail > 0 }.map(\.id) }
  /// The primary checks with results that could not be evaluated.
  public var erroneousChecks: [String] { checks.filter { $0.counts.error > 0 }.map(\.id) }
  /// Counts over all its primary checks.
  public var total: StatusCounts {
    checks.reduce(into: StatusCounts()) { t, c in for s in ResultStatus.allCases { t[s] += c.counts[s] } }
  }

  /// A verdict for every control of `controls` that is the primary control of at least one of
  /// `checks`, in the order of `controls`, from each check's `counts` (a check without counts counts
  /// as nothing examined).
  public static func all(controls: [Control], checks: [CheckDescription], counts: [String: StatusCounts]) -> [ControlAssessment] {
    controls.compactMap { control in
      let primary = checks.filter { $0.primaryControl == control.id }
      guard !primary.isEmpty else { return nil }
      let rows = primary.map { (id: $0.id, counts: counts[$0.id] ?? StatusCounts()) }
      return ControlAssessment(
        control: control, verdict: ControlVerdict(counts: rows.map(\.counts)), checks: rows,
        foundingCheck: primary.first(where: \.isPrimary)?.id)
    }
  }
}

/// The action catalog the checks' targets are read against, as the evidence names it: "every
/// action" means every action of this catalog.
public struct ActionCatalogInfo: Sendable, Hashable {
  public var source: ActionCatalog.Source
  public var services: Int
  public var actions: Int
  /// ``ActionCatalog/sourceDescription``.
  public var description: String
  /// The number of catalog actions of each check's target, by check id (checks without one absent).
  public var targetSizes: [String: Int]

  /// The description of `catalog`, with the sizes of the targets of `checks` (a target the catalog
  /// cannot resolve is left out; ``CheckContext`` refuses it before any assessment).
  public init(catalog: ActionCatalog, checks: [CheckDescription]) {
    source = catalog.source
    services = catalog.services.count
    actions = catalog.count
    description = catalog.sourceDescription
    var sizes: [String: Int] = [:]
    for c in checks {
      if let t = c.target, let set = try? t.resolve(in: catalog) { sizes[c.id] = set.count }
    }
    targetSizes = sizes
  }
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
///
/// What is derived from the results (``findings``, ``currentCounts``, ``controlVerdicts``) is computed
/// on first use and kept until ``results``, ``checks`` or ``controls`` change: renderers read them many
/// times, and with 300,000 results recomputing them on each access copied every result each time.
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
  /// The controls the checks map to: the founding check's primary control first, then by number.
  public var controls: [Control] { didSet { derived = DerivedEvidence() } }
  public var checks: [CheckDescription] { didSet { derived = DerivedEvidence() } }
  /// The current snapshot's results: the whole population, in report order.
  public var results: [CheckResult] { didSet { derived = DerivedEvidence() } }
  public var exceptions: [ExceptionUse]
  public var history: [HistoryRow]
  /// The database ledger's heads for these snapshots (tamper evidence); empty when not known.
  public var ledger: LedgerHeads
  /// The current snapshot's privileged-access register, in reading order.
  public var privileged: [PrivilegedPrincipal] = []
  /// The number of privileged identities in each snapshot of the period, oldest first.
  public var privilegedCounts: [PrivilegedCount] = []
  /// The action catalog of the checks' targets (nil in models built without one).
  public var actionCatalog: ActionCatalogInfo? = nil
  /// The last snapshot captured before the period, which gives the state at its start, when the
  /// period's first snapshot was captured after its start and the database holds one (nil otherwise,
  /// and for the evidence of a single snapshot).
  public var periodStart: SnapshotRecord? = nil
  /// The status counts per check of ``periodStart`` (empty: never assessed).
  public var periodStartCounts: [String: StatusCounts] = [:]
  /// Every finding seen in a snapshot of the period or in ``periodStart``, with its first and last
  /// sighting and its state at the period's end, in ``PeriodFinding/reportOrder(_:_:)`` (empty for the
  /// evidence of a single snapshot).
  public var periodFindings: [PeriodFinding] = []
  /// The access reviews of the period's snapshots (``StoredReview``), oldest snapshot first, with the
  /// follow-up of their `revoke` rows in the account's next snapshot.
  public var reviews: [ReviewEvidence] = []
  /// The build of the tool stating the evidence (``ToolBuild/current``; tests give a fixed one, so that
  /// goldens do not change with every edit of the sources).
  public var toolBuild: ToolBuild = .current
  /// Who took and loaded each snapshot of the evidence (the state at the period's start included), by
  /// snapshot id; a snapshot ingested without provenance is absent.
  public var provenance: [Int: SnapshotProvenance] = [:]

  /// The latest review of the current snapshot (the last imported), which the sign-off names; nil
  /// when the period's last snapshot has no completed review.
  public var currentReview: ReviewEvidence? { reviews.last { $0.snapshot.id == current.id } }

  /// What is derived from ``results``, ``checks`` and ``controls``, computed once (replaced when they change).
  var derived = DerivedEvidence()

  /// Results of one check.
  public func results(of checkID: String) -> [CheckResult] { results.filter { $0.checkID == checkID } }

  /// Counts per check for the current snapshot.
  public func counts(of checkID: String) -> StatusCounts { currentCounts[checkID] ?? StatusCounts() }

  /// Findings: every result that is not a pass, most severe first.
  public var findings: [CheckResult] {
    derived.findings {
      // Through the buffer: only the findings are copied, not every result looked at.
      results.withUnsafeBufferPointer { buffer in
        var out: [CheckResult] = []
        for i in buffer.indices where buffer[i].status != .pass { out.append(buffer[i]) }
        return out
      }
    }
  }

  /// The status counts of every check in the current snapshot (a check without results is absent).
  public var currentCounts: [String: StatusCounts] {
    derived.counts {
      var out: [String: StatusCounts] = [:]
      // Counted a run of one check at a time (results come grouped by check), each result lent, not copied.
      var run: (check: String, counts: StatusCounts)?
      results.withUnsafeBufferPointer { buffer in
        for i in buffer.indices {
          if run?.check != buffer[i].checkID {
            if let (check, counts) = run { out[check, default: StatusCounts()].add(counts) }
            run = (buffer[i].checkID, StatusCounts())
          }
          run?.counts[buffer[i].status] += 1
        }
      }
      if let (check, counts) = run { out[check, default: StatusCounts()].add(counts) }
      return out
    }
  }

  /// The verdict on every control that is the primary control of some check, for the current
  /// snapshot, in the order of ``controls`` (the founding test's control first).
  public var controlVerdicts: [ControlAssessment] {
    derived.verdicts { ControlAssessment.all(controls: controls, checks: checks, counts: currentCounts) }
  }

  /// The verdicts of snapshot `id` of the period from its history rows (nil when it was not assessed).
  public func controlVerdicts(snapshotID id: Int) -> [ControlAssessment]? {
    if id == current.id { return controlVerdicts }
    let rows = history.filter { $0.snapshotID == id }
    guard rows.contains(where: \.assessed) else { return nil }
    var counts: [String: StatusCounts] = [:]
    for r in rows { counts[r.checkID] = r.counts }
    return ControlAssessment.all(controls: controls, checks: checks, counts: counts)
  }

  /// Where a check's version changed between consecutive assessed snapshots of the period (from the
  /// history rows' versions).
  public var versionChanges: [CheckVersionChange] { HistoryRow.versionChanges(history, snapshots: snapshots) }

  /// `A.8.2 verdict: not-effective, A.5.15 verdict: effective, ...`: what the CLI prints.
  public var verdictSummary: String {
    controlVerdicts.map { "\($0.control.id) verdict: \($0.verdict.rawValue)" }.joined(separator: ", ")
  }

  /// The founding control's verdict (the first of ``controlVerdicts``).
  public var verdict: ControlVerdict { controlVerdicts.first?.verdict ?? .effective }

  /// The check founding the evidence (``CheckDescription/isPrimary``), else the first check.
  public var foundingCheck: CheckDescription? { checks.first(where: \.isPrimary) ?? checks.first }

  /// The founding check's primary control: the control the evidence is first of all about.
  public var foundingControl: Control? {
    foundingCheck?.primaryControl.flatMap { id in controls.first { $0.id == id } } ?? controls.first
  }

  /// The period as text: `2024-01-01 – 2024-03-31`, or the current snapshot's capture date.
  public var periodDescription: String {
    if let f = periodFrom, let t = periodTo { return "\(f.dateString) to \(t.dateString)" }
    return "snapshot of \(current.capturedAt.dateString)"
  }
}

/// The collections an ``EvidenceModel`` derives from its results, each computed on first use and
/// kept. A copy of the model shares them; changing its results, checks or controls gives it new,
/// empty ones. (Shared between threads, hence the lock.)
final class DerivedEvidence: @unchecked Sendable {
  private let lock = NSLock()
  private var findings: [CheckResult]?
  private var counts: [String: StatusCounts]?
  private var verdicts: [ControlAssessment]?

  func findings(_ compute: () -> [CheckResult]) -> [CheckResult] { cached(\.findings, compute) }
  func counts(_ compute: () -> [String: StatusCounts]) -> [String: StatusCounts] { cached(\.counts, compute) }
  func verdicts(_ compute: () -> [ControlAssessment]) -> [ControlAssessment] { cached(\.verdicts, compute) }

  /// The value at `key`, computed by `compute` (outside the lock: it may read other derived values).
  private func cached<T>(_ key: ReferenceWritableKeyPath<DerivedEvidence, T?>, _ compute: () -> T) -> T {
    if let value = lock.withLock({ self[keyPath: key] }) { return value }
    let value = compute()
    lock.withLock { if self[keyPath: key] == nil { self[keyPath: key] = value } }
    return value
  }
}
