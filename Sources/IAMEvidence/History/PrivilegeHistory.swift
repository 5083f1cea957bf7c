/// The number of privileged identities (users and roles holding at least one capability) in one
/// snapshot: the register's line in the trend.
public struct PrivilegedCount: Sendable, Hashable {
  public var snapshotID: Int
  public var capturedAt: Timestamp
  public var count: Int
  /// False when the snapshot has no results of any check that gives a capability (never assessed, or
  /// assessed without those checks): it says nothing about privileges, and `count` is 0.
  public var assessed: Bool

  public init(snapshotID: Int, capturedAt: Timestamp, count: Int, assessed: Bool) {
    self.snapshotID = snapshotID
    self.capturedAt = capturedAt
    self.count = count
    self.assessed = assessed
  }
}

/// Follows the privileged principals of one account from snapshot to snapshot, oldest first, and says
/// since when each has been privileged without interruption: a pure computation over the open results
/// the store lists per snapshot (``EvidenceStore/openPrincipalResults(snapshotID:checks:)``).
///
/// **Privileged since** a snapshot S: the capture time of the earliest snapshot from which the same
/// principal (same type and unique id, ``PrivilegedRegister/key(_:)``; a recreated principal has a
/// new id and starts again) held at least one capability in every snapshot up to S. A snapshot where it
/// held none ends the run; a later capability starts a new one. A snapshot without results of any
/// capability check (not assessed) says nothing and neither ends nor extends a run, as in the trend.
public struct PrivilegeHistoryBuilder: Sendable {
  public let capabilities: CapabilityMap
  /// For each principal privileged in the last assessed snapshot added: the start of its run.
  public private(set) var since: [String: Timestamp] = [:]
  /// One count per snapshot added, in order.
  public private(set) var counts: [PrivilegedCount] = []

  public init(capabilities: CapabilityMap) { self.capabilities = capabilities }

  /// Adds the next snapshot (in capture order) with its result lists of the capability checks and
  /// their open results about principals. Only the check versions that count are followed
  /// (``ResultListRecord/currentVersions(_:)``).
  public mutating func add(_ s: SnapshotRecord, lists: [ResultListRecord], open: [OpenPrincipalResult]) {
    let relevant = lists.filter { capabilities.byCheck[$0.checkID] != nil }
    guard !relevant.isEmpty else {
      counts.append(PrivilegedCount(snapshotID: s.id, capturedAt: s.capturedAt, count: 0, assessed: false))
      return
    }
    let current = ResultListRecord.currentVersions(relevant)
    var held = Set<String>()
    for r in open where r.status == .fail || r.status == .excepted {
      guard current.contains(CheckVersion(id: r.checkID, version: r.checkVersion)),
        capabilities.capability(check: r.checkID, principalType: r.principal.type) != nil
      else { continue }
      held.insert(PrivilegedRegister.key(r.principal))
    }
    var next: [String: Timestamp] = [:]
    for k in held { next[k] = since[k] ?? s.capturedAt }
    since = next
    counts.append(PrivilegedCount(snapshotID: s.id, capturedAt: s.capturedAt, count: held.count, assessed: true))
  }
}
