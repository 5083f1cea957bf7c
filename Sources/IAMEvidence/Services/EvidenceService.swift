extension EvidenceWorkflow {
  /// Gathers the evidence for `scope` as plain values: the store's records of the current snapshot
  /// and the period, built into an ``EvidenceModel`` by ``EvidenceBuilder``; the privileged-access
  /// register is read with `capabilities` (the catalog's declarations).
  public func evidence(
    scope: ReportScope, account: String?, generatedAt: Timestamp, capabilities: CapabilityMap = .catalog
  ) throws -> EvidenceModel {
    // One read transaction: the rows checked are the rows reported, whatever is committed meanwhile.
    try store.consistentRead { try gatherEvidence(scope: scope, account: account, generatedAt: generatedAt, capabilities: capabilities) }
  }

  private func gatherEvidence(
    scope: ReportScope, account: String?, generatedAt: Timestamp, capabilities: CapabilityMap
  ) throws -> EvidenceModel {
    let current: SnapshotRecord
    var period: [SnapshotRecord]
    var from: Timestamp?
    var to: Timestamp?
    switch scope {
    case .snapshot(let selector):
      if let id = Int(selector), account == nil {
        guard let r = try store.snapshot(id: id) else { throw WorkflowError(path: store.path, message: "no snapshot \(id)") }
        current = r
      } else {
        current = try store.resolveSnapshot(selector, account: try store.resolveAccount(account))
      }
      period = [current]
    case .period(let f, let t):
      let acct = try store.resolveAccount(account)
      period = try store.snapshots(account: acct).filter { $0.capturedAt >= f && $0.capturedAt <= t }
      guard let last = period.last else {
        throw WorkflowError(path: store.path, message: "no snapshot of account \(acct) captured between \(f) and \(t)")
      }
      current = last
      (from, to) = (f, t)
    }
    for s in period { try requireAssessed(s, naming: store.path) }
    // The state at the period's start: the last snapshot before it, when the period's first snapshot
    // was captured after its start (the verdict for the period rests on it too).
    var start: SnapshotRecord?
    if let f = from, let first = period.first, first.capturedAt > f {
      start = try store.snapshots(account: current.account).last { $0.capturedAt < f }
    }
    // The current snapshot's results are read from the rows the integrity check verifies.
    let (ledger, read) = try requireIntegrity(start.map { [$0] + period } ?? period, readingResultsOf: current)
    // Sorted on the other core while the rest is read from the database (a large account's 336,847
    // results take 0.45 s to sort).
    let sorting = BackgroundMutation(consume read) { CheckResult.sortForReport(&$0) }
    var counts: [Int: [String: StatusCounts]] = [:]
    var versions: [Int: [String: Int]] = [:]
    for s in period {
      counts[s.id] = try store.statusCounts(snapshotID: s.id)
      versions[s.id] = try store.checkVersions(snapshotID: s.id)
    }
    // The register's history starts at the account's first snapshot, before the period if need be:
    // "privileged since" does not stop at the period's start.
    let privileged = try privilegedHistory(through: current, registersOf: [current.id], capabilities: capabilities)
    let latestAssessment = try store.latestAssessment(snapshotID: current.id)
    let startCounts = try start.map { try store.statusCounts(snapshotID: $0.id) } ?? [:]
    let history =
      from == nil
      ? nil : try periodFindingHistory(through: current, windowStart: (start ?? period.first ?? current).capturedAt)
    let reviews = try reviewEvidence(of: period, capabilities: capabilities)
    let provenance = try store.provenance(snapshotIDs: (start.map { [$0.id] } ?? []) + period.map(\.id))
    var records = EvidenceRecords(
      current: current, period: period, periodFrom: from, periodTo: to, results: sorting.value(), counts: counts,
      assessment: latestAssessment, sqliteVersion: EvidenceStore.sqliteVersion, ledger: ledger,
      privileged: privileged.registers.first?.entries ?? [], privilegedCounts: privileged.counts, versions: versions)
    if let history {
      records.periodStart = start
      records.periodStartCounts = startCounts
      (records.lifetimes, records.lastSeenResults) = history
    }
    records.reviews = reviews
    records.provenance = provenance
    return EvidenceBuilder.build(records, generatedAt: generatedAt)
  }

  /// The lifetimes of the findings seen from `windowStart` through `current` (a ``TrendBuilder`` fed
  /// with the account's snapshots from its first one, so that a first sighting before the window is
  /// known; a snapshot never assessed says nothing), and the result of each of them as last seen
  /// open, by identity, for those not open in `current`.
  func periodFindingHistory(
    through current: SnapshotRecord, windowStart: Timestamp
  ) throws -> (lifetimes: [FindingLifetime], lastSeen: [String: CheckResult]) {
    let series = try store.snapshots(account: current.account)
    guard let end = series.firstIndex(where: { $0.id == current.id }) else { return ([], [:]) }
    var builder = TrendBuilder(account: current.account, from: nil, to: nil)
    for s in series[...end] {
      let counts = try store.statusCounts(snapshotID: s.id)
      builder.add(
        s, counts: counts,
        openResults: counts.isEmpty
          ? [] : try store.openResults(snapshotID: s.id) + store.errorResults(snapshotID: s.id, checks: Self.erring(counts)),
        versions: try store.checkVersions(snapshotID: s.id))
    }
    let lifetimes = builder.report().findings.filter { $0.lastSeen >= windowStart }
    var wanted: [Int: Set<String>] = [:]
    for l in lifetimes where l.lastSnapshotID != current.id { wanted[l.lastSnapshotID, default: []].insert(l.key) }
    var lastSeen: [String: CheckResult] = [:]
    for (id, keys) in wanted.sorted(by: { $0.key < $1.key }) {
      for r in try store.results(snapshotID: id, statuses: [.fail, .excepted]) where keys.contains(r.findingIdentity) {
        if let old = lastSeen[r.findingIdentity], old.status.severityRank <= r.status.severityRank { continue }
        lastSeen[r.findingIdentity] = r
      }
    }
    return (lifetimes, lastSeen)
  }

  /// Stored results of snapshot `id` in report order (most severe first, then catalog order of the
  /// check, principal and policy), optionally of one check and of some statuses.
  public func results(snapshotID id: Int, check: String? = nil, statuses: Set<ResultStatus>? = nil) throws -> [CheckResult] {
    var results = try store.results(snapshotID: id, check: check, statuses: statuses)
    CheckResult.sortForReport(&results)
    return results
  }

  /// What `findings` lists: the snapshot `selector` names and its results of `check` with `statuses`
  /// (nil: all), in report order. A snapshot never assessed is an error, not an empty list.
  public func findings(
    snapshot selector: String, account: String?, check: String?, statuses: Set<ResultStatus>?
  ) throws -> (snapshot: SnapshotRecord, results: [CheckResult]) {
    let record = try store.resolveSnapshot(selector, account: account)
    try requireAssessed(record, naming: nil)
    return (record, try results(snapshotID: record.id, check: check, statuses: statuses))
  }

  /// Every inconsistency the database's integrity check finds (``EvidenceStore/checkIntegrity(snapshotIDs:)``
  /// over every snapshot), and its ledger's state: what `check-db` prints.
  public func checkIntegrity() throws -> IntegrityReport { try store.checkIntegrity() }

  /// Refuses to build evidence on rows that fail their integrity check (damaged or edited since they
  /// were written); returns the snapshots' ledger heads, which the evidence carries, and the results
  /// of `current` (one of `snapshots`) in the order stored, read from the rows the check verified.
  func requireIntegrity(
    _ snapshots: [SnapshotRecord], readingResultsOf current: SnapshotRecord
  ) throws -> (heads: LedgerHeads, results: [CheckResult]) {
    let (report, results) = try store.checkIntegrity(snapshotIDs: snapshots.map(\.id), readingResultsOf: current.id)
    guard let first = report.problems.first else { return (report.heads, results) }
    throw WorkflowError(
      path: store.path,
      message: "fails its integrity check, so no evidence is written from it: \(first)"
        + (report.problems.count > 1
          ? " (and \(report.problems.count - 1) more problem(s): `iam-evidence check-db --db \(store.path)` lists them)" : ""))
  }

  /// Refuses a snapshot without results: its evidence would say nothing. (Ingest assesses every new
  /// snapshot, so this is one whose ingest was killed after the snapshot's commit: reading commands
  /// never write, so they say how to assess it rather than doing it.)
  func requireAssessed(_ s: SnapshotRecord, naming path: String?) throws {
    guard try store.isAssessed(snapshotID: s.id) else {
      throw WorkflowError(path: path, message: "snapshot \(s.id) was never assessed; run `iam-evidence assess --snapshot \(s.id)`")
    }
  }
}
