/// Counts of results by status.
public struct StatusCounts: Sendable, Hashable {
  public var fail = 0
  public var excepted = 0
  public var pass = 0
  public var error = 0

  public init(fail: Int = 0, excepted: Int = 0, pass: Int = 0, error: Int = 0) {
    self.fail = fail
    self.excepted = excepted
    self.pass = pass
    self.error = error
  }

  public init(_ results: some Sequence<CheckResult>) {
    for r in results { self[r.status] += 1 }
  }

  public subscript(status: ResultStatus) -> Int {
    get {
      switch status {
      case .fail: return fail
      case .excepted: return excepted
      case .pass: return pass
      case .error: return error
      }
    }
    set {
      switch status {
      case .fail: fail = newValue
      case .excepted: excepted = newValue
      case .pass: pass = newValue
      case .error: error = newValue
      }
    }
  }

  public var total: Int { fail + excepted + pass + error }

  /// Adds `other`'s counts.
  mutating func add(_ other: StatusCounts) {
    fail += other.fail
    excepted += other.excepted
    pass += other.pass
    error += other.error
  }
}

/// One row of the history: a snapshot's counts for one check (the trend's data).
public struct HistoryRow: Sendable, Hashable {
  public var snapshotID: Int
  public var capturedAt: Timestamp
  public var checkID: String
  public var counts: StatusCounts
  /// False when the snapshot was never assessed (counts are then all zero).
  public var assessed: Bool
  /// The version of the check whose results these are (its latest assessment of the snapshot); nil
  /// when the check has no results there (not assessed, or not assessed with this check).
  public var checkVersion: Int? = nil
}

/// A check whose version differs between two snapshots (or that one of them was not assessed with):
/// its results follow other rules, so trend and drift mark the change instead of reporting findings
/// as new or resolved because of it.
public struct CheckVersionChange: Sendable, Hashable {
  public var checkID: String
  /// The version before (nil: the earlier snapshot holds no results of the check).
  public var fromVersion: Int?
  /// The version after (nil: the later snapshot holds no results of the check).
  public var toVersion: Int?
  /// The snapshot where the new version is first seen, and its capture time.
  public var snapshotID: Int
  public var capturedAt: Timestamp

  public init(checkID: String, fromVersion: Int?, toVersion: Int?, snapshotID: Int, capturedAt: Timestamp) {
    self.checkID = checkID
    self.fromVersion = fromVersion
    self.toVersion = toVersion
    self.snapshotID = snapshotID
    self.capturedAt = capturedAt
  }

  /// `kms-decrypt-all-keys version 1 -> 2`, `admin-access-inline not assessed -> version 1`.
  public var description: String {
    func v(_ x: Int?) -> String { x.map { "version \($0)" } ?? "not assessed" }
    return "\(checkID) \(v(fromVersion)) -> \(v(toVersion))"
  }

  /// The changes between the versions `before` and `after` (check id → version) of two assessed
  /// snapshots, in catalog order; the later is `snapshot`.
  public static func between(_ before: [String: Int], _ after: [String: Int], at snapshot: SnapshotRecord) -> [CheckVersionChange] {
    Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }
      .sorted { (CheckCatalog.position(of: $0), $0) < (CheckCatalog.position(of: $1), $1) }
      .map {
        CheckVersionChange(
          checkID: $0, fromVersion: before[$0], toVersion: after[$0], snapshotID: snapshot.id, capturedAt: snapshot.capturedAt)
      }
  }
}
