import Crypto

/// One account of an organisation's evidence: its coverage row and the evidence of one account, as
/// `report --account` gathers it (``EvidenceWorkflow/evidence(scope:account:generatedAt:capabilities:)``).
public struct AccountEvidence: Sendable {
  /// The account's row of the organisation's coverage (name from the scope file, verdicts, counts, gaps).
  public var row: AccountCoverageRow
  /// The account's evidence over the period (or of its latest snapshot, without a period).
  public var model: EvidenceModel
  /// The account's trend over the period.
  public var trend: TrendReport

  public init(row: AccountCoverageRow, model: EvidenceModel, trend: TrendReport) {
    self.row = row
    self.model = model
    self.trend = trend
  }

  public var account: String { row.account }
  /// `111122223333 (payments-prod)`, or the id alone.
  public var label: String { row.label }
}

/// The organisation's trend at one capture day: the accounts' snapshots captured that day (UTC),
/// added up.
public struct OrganisationTrendPoint: Sendable, Hashable {
  /// The capture day, `2024-03-31`.
  public var day: String
  /// The accounts with an assessed snapshot captured that day.
  public var accounts: Int
  /// Their results over every check, added up.
  public var counts: StatusCounts
  /// Their privileged identities (the registers' sizes), added up.
  public var privilegedIdentities: Int
  /// Per control given a verdict (id), how many of these accounts' snapshots are not effective.
  public var notEffective: [String: Int]
}

/// The evidence of an organisation for one report or package (`report --accounts`, `package
/// --accounts`): the coverage of the accounts selected over the period (``AccountCoverage``: every
/// account of the scope, coverage gaps, out-of-scope accounts, the organisation's verdict per
/// control), and the evidence of each account in scope that has a snapshot in the period, in the
/// coverage's order (in scope, by id). Accounts out of scope are listed by the coverage only: they are
/// not part of the organisation's evidence.
public struct OrganisationEvidence: Sendable {
  public var coverage: AccountCoverage
  /// The accounts in scope with evidence, in ``AccountCoverage/rows`` order.
  public var accounts: [AccountEvidence]
  /// The period (nil bounds: each account's latest snapshot, no period).
  public var periodFrom: Timestamp?
  public var periodTo: Timestamp?
  public var generatedAt: Timestamp
  public var toolBuild: ToolBuild
  /// Every selected account's trend (coverage gaps and out-of-scope accounts included): `trend.csv`.
  public var trends: OrganisationTrend

  public init(
    coverage: AccountCoverage, accounts: [AccountEvidence], periodFrom: Timestamp?, periodTo: Timestamp?, generatedAt: Timestamp,
    toolBuild: ToolBuild = .current, trends: OrganisationTrend
  ) {
    self.coverage = coverage
    self.accounts = accounts
    self.periodFrom = periodFrom
    self.periodTo = periodTo
    self.generatedAt = generatedAt
    self.toolBuild = toolBuild
    self.trends = trends
  }

  /// Whether the evidence is of a period (`--from`/`--to`).
  public var isPeriod: Bool { periodFrom != nil && periodTo != nil }

  /// `2024-01-01 to 2024-03-31`, or `latest snapshot of each account`.
  public var periodDescription: String {
    if let f = periodFrom, let t = periodTo { return "\(f.dateString) to \(t.dateString)" }
    return "latest snapshot of each account"
  }

  /// The evidence of account `id`, if it is part of the organisation's evidence.
  public func evidence(of id: String) -> AccountEvidence? { accounts.first { $0.account == id } }

  /// The accounts in scope that are not effective on some control, or have no evidence (coverage
  /// gaps): what the first page answers. In coverage order.
  public var attention: [AccountCoverageRow] {
    coverage.inScope.filter { row in row.verdicts.contains { $0.verdict != .effective } }
  }

  /// The accounts with evidence ranked by open findings: failures of their latest snapshot, then
  /// errors, then excepted results, most first; ties by id.
  public var ranking: [AccountEvidence] {
    accounts.sorted { a, b in
      let x = a.row.counts ?? StatusCounts()
      let y = b.row.counts ?? StatusCounts()
      if x.fail != y.fail { return x.fail > y.fail }
      if x.error != y.error { return x.error > y.error }
      if x.excepted != y.excepted { return x.excepted > y.excepted }
      return a.account < b.account
    }
  }

  /// The organisation's verdict on each control over the period (evidence of a period only): the
  /// roll-up (``CoverageVerdict/rollUp(_:)``) of each account's verdict over the period
  /// (``EvidenceModel/periodVerdicts``), a coverage gap counting as no evidence. Nil without a period.
  public var periodVerdicts: [OrganisationControlVerdict]? {
    guard isPeriod else { return nil }
    return coverage.controls.map { c in
      var byVerdict: [CoverageVerdict: [String]] = [:]
      for row in coverage.inScope {
        let v = evidence(of: row.account)?.model.periodVerdicts.first { $0.control.id == c.id }.map { CoverageVerdict(period: $0.verdict) }
        byVerdict[v ?? .noEvidence, default: []].append(row.account)
      }
      return OrganisationControlVerdict(
        control: c, verdict: CoverageVerdict.rollUp(byVerdict.flatMap { v, ids in ids.map { _ in v } }), accounts: byVerdict)
    }
  }

  /// The organisation's trend: per capture day (UTC) of the accounts' snapshots in the period, the
  /// accounts captured that day with their results, privileged identities and verdicts added up.
  public var trendPoints: [OrganisationTrendPoint] {
    var points: [String: OrganisationTrendPoint] = [:]
    for a in accounts {
      let m = a.model
      for s in m.snapshots {
        guard let verdicts = m.controlVerdicts(snapshotID: s.id) else { continue }
        let day = s.capturedAt.dateString
        var p =
          points[day] ?? OrganisationTrendPoint(day: day, accounts: 0, counts: StatusCounts(), privilegedIdentities: 0, notEffective: [:])
        p.accounts += 1
        for r in m.history where r.snapshotID == s.id && r.assessed {
          for status in ResultStatus.allCases { p.counts[status] += r.counts[status] }
        }
        if let c = m.privilegedCounts.first(where: { $0.snapshotID == s.id }), c.assessed { p.privilegedIdentities += c.count }
        for v in verdicts where v.verdict == .notEffective { p.notEffective[v.control.id, default: 0] += 1 }
        points[day] = p
      }
    }
    return points.values.sorted { $0.day < $1.day }
  }

  /// What the evidence covers and what it does not (``ScopeStatement``): the accounts of the evidence.
  public var scopeStatement: ScopeStatement {
    ScopeStatement(
      accounts: accounts.map(\.account), actionCatalog: accounts.first?.model.actionCatalog?.description, toolBuild: toolBuild)
  }

  /// The SHA-256 (hex) of what the document states, in a canonical JSON form: the period, the
  /// generation time, the tool build, the scope file's accounts, each account of the coverage (in
  /// scope or not, and the ids of its snapshots in the period), and each account's own evidence
  /// digest (``EvidenceModel/evidenceDigest``: its snapshots, their ledger heads and reviews).
  public var evidenceDigest: String {
    let value = JSONValue.object([
      (
        "accounts",
        .array(
          accounts.map { a in .object([("account", .string(a.account)), ("evidence_digest", .string(a.model.evidenceDigest))]) })
      ),
      (
        "coverage",
        .array(
          coverage.rows.map { r in
            .object([
              ("account", .string(r.account)), ("in_scope", .bool(r.inScope)),
              ("snapshots", .array(r.snapshots.map { .number(String($0.id)) })),
            ])
          })
      ),
      ("format", .string("iam-evidence organisation document 1")),
      ("generated_at", .string(generatedAt.description)),
      ("period_from", periodFrom.map { .string($0.description) } ?? .null),
      ("period_to", periodTo.map { .string($0.description) } ?? .null),
      ("scope", coverage.scope.map { s in .array(s.accounts.map { .string($0.id) }) } ?? .null),
      ("tool", .string(toolBuild.description)),
    ])
    return SHA256.hash(data: Array(JSONWriter.canonical(value).utf8)).hexString
  }

  /// The document's id, `IAMEV-` and the first 16 hex digits of ``evidenceDigest`` (as for one
  /// account): report.html, evidence.xml, OSCAL and README.txt made together carry it.
  public var documentID: String {
    let digits = Array(evidenceDigest.uppercased().prefix(16))
    return "IAMEV-" + stride(from: 0, to: 16, by: 4).map { String(digits[$0..<($0 + 4)]) }.joined(separator: "-")
  }

  /// Every snapshot the evidence states (each account's state at the period's start included): for
  /// the `--generated-at` check.
  public var snapshots: [SnapshotRecord] {
    accounts.flatMap { ($0.model.periodStart.map { [$0] } ?? []) + $0.model.snapshots }
  }

  /// `A.8.2: not-effective (2 of 3 accounts in scope), ...`: what the CLI prints.
  public var verdictSummary: String {
    coverage.organisation.map { o in
      let bad = (o.accounts[.notEffective] ?? []).count + (o.accounts[.noEvidence] ?? []).count + (o.accounts[.error] ?? []).count
      return "\(o.control.id) organisation verdict: \(o.verdict.rawValue)"
        + (bad == 0 ? "" : " (\(bad) of \(coverage.inScope.count) accounts in scope not effective or without evidence)")
    }.joined(separator: ", ")
  }
}

extension CoverageVerdict {
  /// A verdict over a period as a coverage verdict (the same four words).
  public init(period: PeriodVerdict) {
    switch period {
    case .effective: self = .effective
    case .notEffective: self = .notEffective
    case .error: self = .error
    case .noEvidence: self = .noEvidence
    }
  }
}
