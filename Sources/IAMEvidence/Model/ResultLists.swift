/// One stored list of results (a row of `snapshot_results`): a snapshot's results of one check
/// version, written by one assessment.
public struct ResultListRecord: Sendable, Hashable {
  public var checkID: String
  public var checkVersion: Int
  /// The assessment that stored it (ids grow with time).
  public var assessmentID: Int

  public init(checkID: String, checkVersion: Int, assessmentID: Int) {
    self.checkID = checkID
    self.checkVersion = checkVersion
    self.assessmentID = assessmentID
  }

  public var checkVersionRef: CheckVersion { CheckVersion(id: checkID, version: checkVersion) }

  /// The version of each check that counts in a snapshot, when its stored lists hold several versions
  /// of one check (a check's version changed and the snapshot was assessed again): **the version
  /// stored by the latest assessment** (the highest assessment id; within one assessment, which runs
  /// each check once, the higher version). Results of two versions of one check are never added up.
  /// The privileged-access register (its entries, history and drift) applies this rule and no other.
  public static func currentVersions(_ lists: [ResultListRecord]) -> Set<CheckVersion> {
    var latest: [String: ResultListRecord] = [:]
    for l in lists {
      if let kept = latest[l.checkID], (kept.assessmentID, kept.checkVersion) >= (l.assessmentID, l.checkVersion) { continue }
      latest[l.checkID] = l
    }
    return Set(latest.values.map(\.checkVersionRef))
  }
}

/// A `fail` or `excepted` result about a principal, as the store lists a snapshot's open results for
/// the privileged-access register's history (no detail, only what identifies the principal).
public struct OpenPrincipalResult: Sendable, Hashable {
  public var checkID: String
  public var checkVersion: Int
  public var status: ResultStatus
  public var principal: PrincipalRef

  public init(checkID: String, checkVersion: Int, status: ResultStatus, principal: PrincipalRef) {
    self.checkID = checkID
    self.checkVersion = checkVersion
    self.status = status
    self.principal = principal
  }
}

/// A role's `RoleLastUsed` in one snapshot: both nil when the role has no recorded use.
public struct RoleLastUse: Sendable, Hashable {
  public var date: Timestamp?
  public var region: String?

  public init(date: Timestamp?, region: String?) {
    self.date = date
    self.region = region
  }
}
