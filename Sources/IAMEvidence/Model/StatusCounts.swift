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
}

/// One row of the history: a snapshot's counts for one check (the trend's data).
public struct HistoryRow: Sendable, Hashable {
  public var snapshotID: Int
  public var capturedAt: Timestamp
  public var checkID: String
  public var counts: StatusCounts
  /// False when the snapshot was never assessed (counts are then all zero).
  public var assessed: Bool
}
