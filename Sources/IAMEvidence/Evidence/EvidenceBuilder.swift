import SQLiteDB

/// What to report on.
public enum ReportScope: Sendable {
  /// One snapshot (`latest`, an id, a date...) and no history beyond it.
  case snapshot(String)
  /// Every snapshot captured in [from, to]; the latest of them is the current state.
  case period(from: Timestamp, to: Timestamp)
}

extension EvidenceStore {
  /// Status counts per check of snapshot `id` (empty when not assessed).
  public func statusCounts(snapshotID id: Int) throws(StoreError) -> [String: StatusCounts] {
    try wrap {
      var out: [String: StatusCounts] = [:]
      for row in try db.query("SELECT check_id, fail, excepted, pass, error FROM snapshot_results WHERE snapshot_id = ?", [id]) {
        guard let check = row.string("check_id") else { continue }
        var counts = out[check, default: StatusCounts()]
        for status in ResultStatus.allCases { counts[status] += row.int(status.rawValue) ?? 0 }
        out[check] = counts
      }
      return out
    }
  }

  /// The accounts that have snapshots.
  public func accounts() throws(StoreError) -> [String] {
    try wrap { try db.query("SELECT DISTINCT account_id FROM snapshots ORDER BY account_id").compactMap { $0.string("account_id") } }
  }

  /// The one account a command works on: `--account`, or the only account in the database. Several
  /// accounts and no `--account` is an error: reports never mix accounts silently.
  public func resolveAccount(_ account: String?) throws(StoreError) -> String {
    let all = try accounts()
    if let account {
      guard all.contains(account) else { throw StoreError(path: path, message: "no snapshot of account \(account)") }
      return account
    }
    switch all.count {
    case 0: throw StoreError(path: path, message: "the database holds no snapshot yet")
    case 1: return all[0]
    default:
      throw StoreError(path: path, message: "the database holds several accounts (\(all.joined(separator: ", "))); pass --account")
    }
  }

  /// Gathers the evidence for `scope` as plain values.
  public func evidence(scope: ReportScope, account: String?, generatedAt: Timestamp) throws(StoreError) -> EvidenceModel {
    let current: SnapshotRecord
    var period: [SnapshotRecord]
    var from: Timestamp?
    var to: Timestamp?
    switch scope {
    case .snapshot(let selector):
      if let id = Int(selector), account == nil {
        guard let r = try snapshot(id: id) else { throw StoreError(path: path, message: "no snapshot \(id)") }
        current = r
      } else {
        current = try resolveSnapshot(selector, account: try resolveAccount(account))
      }
      period = [current]
    case .period(let f, let t):
      let acct = try resolveAccount(account)
      period = try snapshots(account: acct).filter { $0.capturedAt >= f && $0.capturedAt <= t }
      guard let last = period.last else {
        throw StoreError(path: path, message: "no snapshot of account \(acct) captured between \(f) and \(t)")
      }
      current = last
      (from, to) = (f, t)
    }
    guard try isAssessed(snapshotID: current.id) else {
      throw StoreError(
        path: path, message: "snapshot \(current.id) has not been assessed; run `iam-evidence assess --snapshot \(current.id)`")
    }
    let results = try self.results(snapshotID: current.id)
    let assessment = try latestAssessment(snapshotID: current.id)
    let checks = CheckCatalog.all.map(\.description)
    let catalog = ControlCatalog.bundled
    var controlIDs: [String] = []
    for c in checks { for id in c.controls where !controlIDs.contains(id) { controlIDs.append(id) } }
    controlIDs.sort { a, b in a == "A.8.2" ? b != "A.8.2" : (b == "A.8.2" ? false : a.compare(numerically: b)) }

    var history: [HistoryRow] = []
    for s in period { history += HistoryRow.rows(for: s, counts: try statusCounts(snapshotID: s.id)) }

    var exceptions: [ExceptionUse] = []
    if let a = assessment, !a.exceptionsContent.isEmpty,
      let register = try? ExceptionRegister(recordedBytes: Array(a.exceptionsContent.utf8), source: a.exceptionsSource ?? "exceptions")
    {
      let stale = Set(a.staleExceptions)
      for e in register.exceptions {
        exceptions.append(
          ExceptionUse(
            exception: e, appliedTo: results.filter { $0.exception?.id == e.id }.count,
            expiredMatches: results.filter { r in
              r.notes.contains { $0.code == "exception-expired" && $0.message.hasPrefix("Exception \(e.id) ") }
            }.count,
            isStale: stale.contains(e.id), daysLeft: current.capturedAt.days(until: e.expiresOn)))
      }
    }
    return EvidenceModel(
      toolName: IAMEvidenceVersion.name, toolVersion: IAMEvidenceVersion.current, sqliteVersion: SQLiteDB.sqliteVersion,
      generatedAt: generatedAt, account: current.account, periodFrom: from, periodTo: to, current: current, snapshots: period,
      assessment: assessment, controls: controlIDs.compactMap(catalog.control), checks: checks, results: results,
      exceptions: exceptions, history: history)
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
