extension EvidenceWorkflow {
  /// What `accounts` lists: every account of the database and of `scope` over [from, to] (nil
  /// bounds: unbounded), with its latest snapshot's counts and privileged-access register size,
  /// rolled up by ``AccountCoverage/build(_:scope:from:to:cadenceDays:checks:catalog:)``. Reads only
  /// (one read transaction); the latest snapshot of an account in the period must have been
  /// assessed (its verdicts would otherwise read as no evidence, not a fact).
  public func accounts(
    scope: AccountScope?, from: Timestamp?, to: Timestamp?, cadenceDays: Int = 31, capabilities: CapabilityMap = .catalog
  ) throws -> AccountCoverage {
    try store.consistentRead {
      AccountCoverage.build(
        try accountRecords(from: from, to: to, capabilities: capabilities), scope: scope, from: from, to: to, cadenceDays: cadenceDays)
    }
  }

  /// The records of every account of the database (or of those `only` lists) over [from, to]: its
  /// snapshots in the period and its latest one's counts and privileged-access register size.
  func accountRecords(
    from: Timestamp?, to: Timestamp?, capabilities: CapabilityMap, only: Set<String>? = nil
  ) throws -> [AccountRecords] {
    var byAccount: [String: [SnapshotRecord]] = [:]
    for s in try store.snapshots() where only?.contains(s.account) ?? true { byAccount[s.account, default: []].append(s) }
    var records: [AccountRecords] = []
    for (account, all) in byAccount.sorted(by: { $0.key < $1.key }) {
      let inPeriod = all.filter { Self.inPeriod($0, from: from, to: to) }
      guard let latest = inPeriod.last else {
        records.append(AccountRecords(account: account, snapshots: []))
        continue
      }
      let counts = try store.statusCounts(snapshotID: latest.id)
      if counts.isEmpty { try requireAssessed(latest, naming: store.path) }
      // The register's size for the latest snapshot alone: "privileged since" needs the account's
      // history, its size does not.
      let (lists, open) = try store.openPrincipalResults(snapshotID: latest.id, checks: capabilities.checkIDs)
      var privileged = PrivilegeHistoryBuilder(capabilities: capabilities)
      privileged.add(latest, lists: lists, open: open)
      records.append(
        AccountRecords(
          account: account, snapshots: inPeriod, latestCounts: counts,
          privilegedIdentities: privileged.counts.last.flatMap { $0.assessed ? $0.count : nil }))
    }
    return records
  }

  /// `trend --accounts`: the trend of each account `selection` names over [from, to], as
  /// ``trend(account:from:to:cadenceDays:)`` computes it for one (an account of the scope without a
  /// snapshot has an empty trend whose gap is the whole period).
  public func trend(
    accounts selection: AccountSelection, scope: AccountScope?, from: Timestamp?, to: Timestamp?, cadenceDays: Int = 31
  ) throws -> OrganisationTrend {
    try store.consistentRead {
      let ids = try selection.resolve(database: try store.accounts(), scope: scope, path: store.path)
      return OrganisationTrend(
        from: from, to: to, cadenceDays: cadenceDays,
        accounts: try ids.map { id in
          AccountTrend(
            account: id, name: scope?.account(id)?.name, inScope: scope?.contains(id) ?? true,
            report: try trendReport(account: id, from: from, to: to, cadenceDays: cadenceDays))
        })
    }
  }

  /// `diff --accounts`: for each account `selection` names, the drift from its first to its last
  /// snapshot captured in [from, to] (nil bounds: unbounded); an account with fewer than two there
  /// has none.
  public func drift(
    accounts selection: AccountSelection, scope: AccountScope?, from: Timestamp?, to: Timestamp?, capabilities: CapabilityMap = .catalog
  ) throws -> OrganisationDrift {
    try store.consistentRead {
      let ids = try selection.resolve(database: try store.accounts(), scope: scope, path: store.path)
      return OrganisationDrift(
        from: from, to: to,
        accounts: try ids.map { id in
          let inPeriod = try store.snapshots(account: id).filter { Self.inPeriod($0, from: from, to: to) }
          var drift: DriftReport? = nil
          if let first = inPeriod.first, let last = inPeriod.last, first.id != last.id {
            drift = try self.drift(from: first.id, to: last.id, capabilities: capabilities)
          }
          return AccountDrift(
            account: id, name: scope?.account(id)?.name, inScope: scope?.contains(id) ?? true, snapshots: inPeriod, drift: drift)
        })
    }
  }

  /// Whether `s` was captured in [from, to] (nil bounds: unbounded).
  static func inPeriod(_ s: SnapshotRecord, from: Timestamp?, to: Timestamp?) -> Bool {
    (from.map { s.capturedAt >= $0 } ?? true) && (to.map { s.capturedAt <= $0 } ?? true)
  }
}
