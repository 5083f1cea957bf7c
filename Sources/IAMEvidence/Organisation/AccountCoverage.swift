/// A control's verdict for one account of an organisation over a period, or for the organisation:
/// the per-snapshot ``ControlVerdict`` of the account's latest snapshot in the period, or
/// ``noEvidence`` when there is none to judge.
public enum CoverageVerdict: String, Sendable, Hashable, CaseIterable {
  /// The latest snapshot's verdict is effective.
  case effective
  /// The latest snapshot has a failure of a primary check that is not excepted.
  case notEffective = "not-effective"
  /// The latest snapshot has no such failure but results with status error: the evidence is incomplete.
  case error
  /// No assessed snapshot in the period (for an account of the scope: a coverage gap).
  case noEvidence = "no-evidence"

  /// The verdict of a snapshot's ``ControlVerdict``; nil (no snapshot) is ``noEvidence``.
  public init(_ verdict: ControlVerdict?) {
    switch verdict {
    case .effective?: self = .effective
    case .notEffective?: self = .notEffective
    case .error?: self = .error
    case nil: self = .noEvidence
    }
  }

  /// The organisation's verdict on one control from the verdicts of its accounts in scope:
  /// **not effective** when any account is not effective (a failure found is a failure, whatever the
  /// other accounts show); else **no evidence** when any account has none (a coverage gap: the
  /// organisation cannot be effective while one stands); else **error** when any account's evidence
  /// is incomplete; else **effective**. No account at all is no evidence.
  public static func rollUp(_ verdicts: some Sequence<CoverageVerdict>) -> CoverageVerdict {
    var seen = Set<CoverageVerdict>()
    for v in verdicts { seen.insert(v) }
    if seen.isEmpty { return .noEvidence }
    for v in [CoverageVerdict.notEffective, .noEvidence, .error] where seen.contains(v) { return v }
    return .effective
  }
}

/// What the store gives back about one account for a period: the input of
/// ``AccountCoverage/build(_:scope:from:to:cadenceDays:checks:catalog:)``.
public struct AccountRecords: Sendable {
  /// The 12-digit account id.
  public var account: String
  /// The account's snapshots captured in the period, oldest first (empty: none).
  public var snapshots: [SnapshotRecord]
  /// The status counts per check of the last of ``snapshots`` (``EvidenceStore/statusCounts(snapshotID:)``;
  /// empty when there is no snapshot, or it was never assessed).
  public var latestCounts: [String: StatusCounts]
  /// The size of the last snapshot's privileged-access register (``PrivilegeHistoryBuilder``); nil
  /// when there is no snapshot or it has no result of a check that gives a capability.
  public var privilegedIdentities: Int?

  public init(account: String, snapshots: [SnapshotRecord], latestCounts: [String: StatusCounts] = [:], privilegedIdentities: Int? = nil) {
    self.account = account
    self.snapshots = snapshots
    self.latestCounts = latestCounts
    self.privilegedIdentities = privilegedIdentities
  }
}

/// One control's verdict for one account, and the assessment it rests on (nil: no evidence).
public struct AccountControlVerdict: Sendable, Hashable {
  public var control: Control
  public var verdict: CoverageVerdict
  /// The latest snapshot's assessment of the control (its primary checks' counts); nil when the
  /// account has no assessed snapshot in the period.
  public var assessment: ControlAssessment?
}

/// One account of ``AccountCoverage``: what `accounts` lists per account.
public struct AccountCoverageRow: Sendable {
  public var account: String
  /// The scope file's name for it (nil: none given, or out of scope).
  public var name: String?
  /// The scope file's owner for it.
  public var owner: String?
  /// Listed in the scope file (every account is in scope when no scope file is given).
  public var inScope: Bool
  /// Its snapshots captured in the period, oldest first.
  public var snapshots: [SnapshotRecord]
  /// One verdict per control given a verdict, in ``AccountCoverage/controls`` order.
  public var verdicts: [AccountControlVerdict]
  /// The latest snapshot's status counts over all checks (nil: no snapshot in the period).
  public var counts: StatusCounts?
  /// The latest snapshot's privileged-access register size (nil: not known).
  public var privilegedIdentities: Int?
  /// Gaps in coverage over the period, as `trend` defines them (``CoverageGap/gaps(in:from:to:cadenceDays:)``).
  public var gaps: [CoverageGap]

  /// The latest snapshot in the period, whose results are the account's current state.
  public var latest: SnapshotRecord? { snapshots.last }

  /// In scope and without any snapshot in the period: nothing shows that its controls work.
  public var isCoverageGap: Bool { inScope && snapshots.isEmpty }

  /// Its verdict on control `id` (nil: the control is given no verdict).
  public func verdict(of id: String) -> CoverageVerdict? { verdicts.first { $0.control.id == id }?.verdict }

  /// `111122223333 (payments-prod)`, or the id alone when it has no name.
  public var label: String { name.map { "\(account) (\($0))" } ?? account }
}

/// The organisation's verdict on one control, and the accounts in scope behind it.
public struct OrganisationControlVerdict: Sendable, Hashable {
  public var control: Control
  /// ``CoverageVerdict/rollUp(_:)`` of the verdicts of the accounts in scope.
  public var verdict: CoverageVerdict
  /// The accounts in scope by their verdict on this control (ids in row order).
  public var accounts: [CoverageVerdict: [String]]
}

/// The coverage of an organisation's accounts over a period: one row per account (in scope or not),
/// the coverage gaps, and the organisation's verdict per control. A pure computation over
/// ``AccountRecords`` (``EvidenceWorkflow/accounts(scope:from:to:cadenceDays:)`` fetches them).
///
/// Rules:
/// - Every account of the scope file and every account of the database gets a row; without a scope
///   file, every account of the database is in scope.
/// - An account's verdict on a control is that of its latest snapshot in the period, by the
///   per-snapshot rule (``ControlAssessment``); with no snapshot in the period it is
///   ``CoverageVerdict/noEvidence`` on every control, and for an account in scope that is a
///   **coverage gap**.
/// - The organisation's verdict on a control rolls up the accounts in scope only
///   (``CoverageVerdict/rollUp(_:)``): it is never effective while a coverage gap stands. Accounts out
///   of scope are listed and left out of it.
public struct AccountCoverage: Sendable {
  /// The period (nil bounds: unbounded).
  public var from: Timestamp?
  public var to: Timestamp?
  /// The expected days between snapshots (longer gaps are listed).
  public var cadenceDays: Int
  /// The scope file applied (nil: every account of the database is in scope).
  public var scope: AccountScope?
  /// The controls given a verdict (primary control of some check), the founding control first.
  public var controls: [Control]
  /// Accounts in scope first, then the others, each by id.
  public var rows: [AccountCoverageRow]
  /// One per control of ``controls``, in that order.
  public var organisation: [OrganisationControlVerdict]

  /// The accounts in scope.
  public var inScope: [AccountCoverageRow] { rows.filter(\.inScope) }
  /// The accounts of the database that the scope does not list.
  public var outOfScope: [AccountCoverageRow] { rows.filter { !$0.inScope } }
  /// The accounts in scope with no snapshot in the period.
  public var coverageGaps: [AccountCoverageRow] { rows.filter(\.isCoverageGap) }

  /// The row of account `id`.
  public func row(_ id: String) -> AccountCoverageRow? { rows.first { $0.account == id } }

  /// The coverage of `records` (one per account of the database; accounts of `scope` missing from
  /// them have no snapshot) over [from, to], judged by `checks`.
  public static func build(
    _ records: [AccountRecords], scope: AccountScope?, from: Timestamp?, to: Timestamp?, cadenceDays: Int = 31,
    checks: [CheckDescription] = CheckCatalog.all.map(\.description), catalog: ControlCatalog = .bundled
  ) -> AccountCoverage {
    let allControls = EvidenceBuilder.controls(of: checks, catalog: catalog)
    // The controls given a verdict, as ControlAssessment.all lists them.
    let controls = ControlAssessment.all(controls: allControls, checks: checks, counts: [:]).map(\.control)
    var byAccount: [String: AccountRecords] = [:]
    for r in records { byAccount[r.account] = r }
    for a in scope?.accounts ?? [] where byAccount[a.id] == nil { byAccount[a.id] = AccountRecords(account: a.id, snapshots: []) }

    var rows: [AccountCoverageRow] = byAccount.values.map { r in
      let scoped = scope?.account(r.account)
      let latest = r.snapshots.last
      let assessments: [ControlAssessment]? =
        latest != nil && !r.latestCounts.isEmpty
        ? ControlAssessment.all(controls: allControls, checks: checks, counts: r.latestCounts) : nil
      let verdicts = controls.map { c in
        let a = assessments?.first { $0.control.id == c.id }
        return AccountControlVerdict(control: c, verdict: CoverageVerdict(a?.verdict), assessment: a)
      }
      var counts: StatusCounts? = nil
      if latest != nil {
        var total = StatusCounts()
        for c in r.latestCounts.values { for s in ResultStatus.allCases { total[s] += c[s] } }
        counts = total
      }
      return AccountCoverageRow(
        account: r.account, name: scoped?.name, owner: scoped?.owner, inScope: scope == nil || scoped != nil, snapshots: r.snapshots,
        verdicts: verdicts, counts: counts, privilegedIdentities: latest == nil ? nil : r.privilegedIdentities,
        gaps: CoverageGap.gaps(in: r.snapshots, from: from, to: to, cadenceDays: cadenceDays))
    }
    rows.sort { a, b in a.inScope != b.inScope ? a.inScope : a.account < b.account }

    let organisation = controls.map { c in
      var accounts: [CoverageVerdict: [String]] = [:]
      for row in rows where row.inScope { accounts[row.verdict(of: c.id) ?? .noEvidence, default: []].append(row.account) }
      return OrganisationControlVerdict(
        control: c, verdict: CoverageVerdict.rollUp(rows.filter(\.inScope).map { $0.verdict(of: c.id) ?? .noEvidence }),
        accounts: accounts)
    }
    return AccountCoverage(
      from: from, to: to, cadenceDays: cadenceDays, scope: scope, controls: controls, rows: rows, organisation: organisation)
  }
}

extension AccountCoverageRow {
  /// The `accounts --format json` object: `account`, `name`, `in_scope`, `snapshots_in_period`,
  /// `latest_snapshot`, `latest_captured_at`, `verdicts` (control id → verdict), `fail`, `error`,
  /// `excepted`, `pass` (the latest snapshot, every check), `privileged_identities`, `gaps`. Counts
  /// are null, not 0, for an account with no snapshot in the period: nothing was examined.
  public var jsonValue: JSONValue {
    func n(_ i: Int?) -> JSONValue { i.map { .number(String($0)) } ?? .null }
    return .object([
      ("account", .string(account)),
      ("name", name.map(JSONValue.string) ?? .null),
      ("in_scope", .bool(inScope)),
      ("snapshots_in_period", n(snapshots.count)),
      ("latest_snapshot", n(latest?.id)),
      ("latest_captured_at", latest.map { .string($0.capturedAt.description) } ?? .null),
      ("verdicts", .object(verdicts.map { ($0.control.id, .string($0.verdict.rawValue)) })),
      ("fail", n(counts?.fail)),
      ("error", n(counts?.error)),
      ("excepted", n(counts?.excepted)),
      ("pass", n(counts?.pass)),
      ("privileged_identities", n(privilegedIdentities)),
      ("gaps", .array(gaps.map(\.jsonValue))),
    ])
  }
}

extension AccountCoverage {
  /// The `accounts --format json` array: one object per row (``AccountCoverageRow/jsonValue``).
  public var jsonValue: JSONValue { .array(rows.map(\.jsonValue)) }
}
