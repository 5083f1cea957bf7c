extension EvidenceWorkflow {
  /// Gathers the evidence for `scope` as plain values: the store's records of the current snapshot
  /// and the period, built into an ``EvidenceModel`` by ``EvidenceBuilder``.
  public func evidence(scope: ReportScope, account: String?, generatedAt: Timestamp) throws -> EvidenceModel {
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
    try requireAssessed(current, naming: store.path)
    var counts: [Int: [String: StatusCounts]] = [:]
    var versions: [Int: [String: Int]] = [:]
    for s in period {
      counts[s.id] = try store.statusCounts(snapshotID: s.id)
      versions[s.id] = try store.checkVersions(snapshotID: s.id)
    }
    return EvidenceBuilder.build(
      EvidenceRecords(
        current: current, period: period, periodFrom: from, periodTo: to, results: try results(snapshotID: current.id), counts: counts,
        assessment: try store.latestAssessment(snapshotID: current.id), sqliteVersion: EvidenceStore.sqliteVersion, versions: versions),
      generatedAt: generatedAt)
  }

  /// Stored results of snapshot `id` in report order (most severe first, then catalog order of the
  /// check, principal and policy), optionally of one check and of some statuses.
  public func results(snapshotID id: Int, check: String? = nil, statuses: Set<ResultStatus>? = nil) throws -> [CheckResult] {
    try store.results(snapshotID: id, check: check, statuses: statuses).sorted(by: CheckResult.reportOrder)
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

  /// Refuses a snapshot without results: its evidence would say nothing.
  func requireAssessed(_ s: SnapshotRecord, naming path: String?) throws {
    guard try store.isAssessed(snapshotID: s.id) else {
      throw WorkflowError(path: path, message: "snapshot \(s.id) has not been assessed; run `iam-evidence assess --snapshot \(s.id)`")
    }
  }
}
