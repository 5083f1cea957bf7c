/// The privileged-access register of one snapshot.
public struct SnapshotPrivilegedRegister: Sendable {
  public var snapshot: SnapshotRecord
  /// Every user and role holding a capability, in reading order.
  public var entries: [PrivilegedPrincipal]

  public init(snapshot: SnapshotRecord, entries: [PrivilegedPrincipal]) {
    self.snapshot = snapshot
    self.entries = entries
  }
}

extension EvidenceWorkflow {
  /// What `privileged` lists: the register of the snapshot `selector` names (an id, `latest`,
  /// `previous`, a date), or of every snapshot of the account with `all` (oldest first; snapshots
  /// without results of a capability check have no register). A single snapshot never assessed is an
  /// error, not an empty register.
  public func privileged(
    snapshot selector: String, account: String?, capabilities: CapabilityMap = .catalog
  ) throws -> [SnapshotPrivilegedRegister] {
    if selector == "all" {
      let acct = try store.resolveAccount(account)
      guard let last = try store.snapshots(account: acct).last else { return [] }
      return try privilegedHistory(through: last, registersOf: nil, capabilities: capabilities).registers
    }
    let record = try store.resolveSnapshot(selector, account: account)
    try requireAssessed(record, naming: nil)
    let registers = try privilegedHistory(through: record, registersOf: [record.id], capabilities: capabilities).registers
    return registers.isEmpty ? [SnapshotPrivilegedRegister(snapshot: record, entries: [])] : registers
  }

  /// Follows the account of `last` from its first snapshot through `last`, in capture order: the
  /// number of privileged identities in each snapshot, and the register of the snapshots in
  /// `registersOf` (nil: every one) with each principal's ``PrivilegedPrincipal/privilegedSince``.
  public func privilegedHistory(
    through last: SnapshotRecord, registersOf wanted: Set<Int>?, capabilities: CapabilityMap = .catalog
  ) throws -> (registers: [SnapshotPrivilegedRegister], counts: [PrivilegedCount]) {
    let series = try store.snapshots(account: last.account)
    guard let end = series.firstIndex(where: { $0.id == last.id }) else {
      throw WorkflowError(path: store.path, message: "no snapshot \(last.id) in account \(last.account)")
    }
    var builder = PrivilegeHistoryBuilder(capabilities: capabilities)
    var registers: [SnapshotPrivilegedRegister] = []
    for s in series[...end] {
      let (lists, open) = try store.openPrincipalResults(snapshotID: s.id, checks: capabilities.checkIDs)
      builder.add(s, lists: lists, open: open)
      guard wanted?.contains(s.id) ?? true, builder.counts.last?.assessed == true else { continue }
      registers.append(
        SnapshotPrivilegedRegister(
          snapshot: s, entries: try privilegedEntries(of: s, lists: lists, since: builder.since, capabilities: capabilities)))
    }
    return (registers, builder.counts)
  }

  /// The register of snapshot `s` from its stored results of the capability checks, with the given
  /// run starts (``PrivilegeHistoryBuilder/since``; empty: every principal privileged since `s`).
  func privilegedEntries(
    of s: SnapshotRecord, lists: [ResultListRecord]? = nil, since: [String: Timestamp], capabilities: CapabilityMap
  ) throws -> [PrivilegedPrincipal] {
    let checks = capabilities.checkIDs
    let lists = try lists ?? store.resultLists(snapshotID: s.id, checks: checks)
    var results: [CheckResult] = []
    for check in checks { results += try store.results(snapshotID: s.id, check: check, statuses: [.fail, .excepted]) }
    return PrivilegedRegister.entries(
      snapshot: s, results: PrivilegedRegister.currentResults(results, lists: lists), capabilities: capabilities,
      roleUsage: try store.roleLastUse(snapshotID: s.id), since: since)
  }
}
