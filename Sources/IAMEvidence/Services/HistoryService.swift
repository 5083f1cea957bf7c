extension EvidenceWorkflow {
  /// The checks with error results in a snapshot's counts: only their errors need reading for a trend.
  static func erring(_ counts: [String: StatusCounts]) -> Set<String> {
    Set(counts.filter { $0.value.error > 0 }.keys)
  }
  /// The trend of one account over [from, to] (nil bounds: all snapshots): each snapshot's counts and
  /// open results fetched in capture order and fed to a ``TrendBuilder``. A snapshot never assessed
  /// is an error (its counts would read as a gap in the findings, not a fact).
  public func trend(account: String?, from: Timestamp?, to: Timestamp?, cadenceDays: Int = 31) throws -> TrendReport {
    try trendReport(account: try store.resolveAccount(account), from: from, to: to, cadenceDays: cadenceDays)
  }

  /// The trend of `acct` (an account id, not resolved: one without snapshots has an empty trend).
  func trendReport(account acct: String, from: Timestamp?, to: Timestamp?, cadenceDays: Int) throws -> TrendReport {
    let snapshots = try store.snapshots(account: acct).filter { Self.inPeriod($0, from: from, to: to) }
    var builder = TrendBuilder(account: acct, from: from, to: to, cadenceDays: cadenceDays)
    for s in snapshots {
      let counts = try store.statusCounts(snapshotID: s.id)
      if counts.isEmpty { try requireAssessed(s, naming: store.path) }
      builder.add(
        s, counts: counts,
        openResults: try store.openResults(snapshotID: s.id) + store.errorResults(snapshotID: s.id, checks: Self.erring(counts)),
        versions: try store.checkVersions(snapshotID: s.id))
    }
    return builder.report()
  }

  /// Compares snapshots `fromID` and `toID` (they must belong to one account and be assessed);
  /// privileges gained and lost are read with `capabilities` (the catalog's declarations).
  public func drift(from fromID: Int, to toID: Int, capabilities: CapabilityMap = .catalog) throws -> DriftReport {
    guard let from = try store.snapshot(id: fromID), let to = try store.snapshot(id: toID) else {
      throw WorkflowError(path: store.path, message: "no snapshot \(fromID) or \(toID)")
    }
    guard from.account == to.account else {
      throw WorkflowError(
        path: store.path, message: "snapshots \(fromID) and \(toID) belong to different accounts (\(from.account), \(to.account))")
    }
    for s in [from, to] { try requireAssessed(s, naming: store.path) }
    let a = try store.loadSnapshot(id: fromID)
    let b = try store.loadSnapshot(id: toID)
    var report = DriftReport.compute(
      from: from, to: to, old: a, new: b, oldResults: try results(snapshotID: fromID), newResults: try results(snapshotID: toID),
      oldVersions: try store.checkVersions(snapshotID: fromID), newVersions: try store.checkVersions(snapshotID: toID))
    report.privileges = PrivilegeDrift.between(
      try privilegedEntries(of: from, since: [:], capabilities: capabilities),
      try privilegedEntries(of: to, since: [:], capabilities: capabilities))
    return report
  }

  /// The drift between each consecutive pair of `snapshots` (one account, oldest first, each
  /// assessed): what the package's per-pair drift files hold. Each snapshot, its results and its
  /// register are read once, whatever the number of pairs.
  public func consecutiveDrifts(_ snapshots: [SnapshotRecord], capabilities: CapabilityMap = .catalog) throws -> [DriftReport] {
    try seriesDrifts(snapshots, overall: false, capabilities: capabilities).pairs
  }

  /// ``consecutiveDrifts(_:capabilities:)``, and with `overall` the drift from the first snapshot to
  /// the last as ``drift(from:to:capabilities:)`` computes it, from the same reads (nil for fewer than
  /// three snapshots: then it is the only pair, or none).
  func seriesDrifts(
    _ snapshots: [SnapshotRecord], overall: Bool, capabilities: CapabilityMap
  ) throws -> (pairs: [DriftReport], overall: DriftReport?) {
    guard snapshots.count > 1 else { return ([], nil) }
    typealias Side = (
      record: SnapshotRecord, snapshot: AuthorizationSnapshot, results: [CheckResult], versions: [String: Int],
      register: [PrivilegedPrincipal]
    )
    // Consecutive snapshots share most of their (content-addressed) results: each is decoded once.
    var cache: [Int64: CheckResult] = [:]
    func side(_ s: SnapshotRecord) throws -> Side {
      try requireAssessed(s, naming: store.path)
      var results = try store.results(snapshotID: s.id, cache: &cache)
      CheckResult.sortForReport(&results)
      return (
        s, try store.loadSnapshot(id: s.id), results, try store.checkVersions(snapshotID: s.id),
        try privilegedEntries(of: s, since: [:], capabilities: capabilities)
      )
    }
    func compare(_ old: Side, _ new: Side) -> DriftReport {
      var report = DriftReport.compute(
        from: old.record, to: new.record, old: old.snapshot, new: new.snapshot, oldResults: old.results,
        newResults: new.results, oldVersions: old.versions, newVersions: new.versions)
      report.privileges = PrivilegeDrift.between(old.register, new.register)
      return report
    }
    var reports: [DriftReport] = []
    let first = try side(snapshots[0])
    var previous = first
    for s in snapshots.dropFirst() {
      guard s.account == previous.record.account else {
        throw WorkflowError(
          path: store.path,
          message: "snapshots \(previous.record.id) and \(s.id) belong to different accounts (\(previous.record.account), \(s.account))")
      }
      let next = try side(s)
      reports.append(compare(previous, next))
      previous = next
    }
    return (reports, overall && snapshots.count > 2 ? compare(first, previous) : nil)
  }

  /// Compares the snapshots two selectors name (ids, `latest`, `previous`, dates). Two ids need no
  /// account; anything else is resolved within `account`, or the only account of the database.
  public func drift(from: String, to: String, account: String?) throws -> DriftReport {
    let acct: String? = (Int(from) != nil && Int(to) != nil) ? account : try store.resolveAccount(account)
    let a = try store.resolveSnapshot(from, account: acct)
    let b = try store.resolveSnapshot(to, account: acct)
    return try drift(from: a.id, to: b.id)
  }
}
