/// The summary printed after assessing a snapshot: a line naming it, then one line per check with
/// its counts by status.
public enum AssessSummary {
  public static func line(record: SnapshotRecord, outcome: Assessor.Outcome) -> String {
    line(record: record, summary: AssessmentSummary(outcome))
  }

  public static func line(record: SnapshotRecord, summary: AssessmentSummary) -> String {
    let counts = summary.counts
    let parts = CheckCatalog.all.map { check -> String in
      let c = counts[check.description.id] ?? StatusCounts()
      return "\(check.description.id): " + ResultStatus.allCases.map { "\(c[$0]) \($0.rawValue)" }.joined(separator: ", ")
    }
    return "assessed snapshot \(record.id) (\(record.account), captured \(record.capturedAt))\n  " + parts.joined(separator: "\n  ")
  }
}

/// What an assessment found, without its results: the counts by check and status, and the
/// exceptions of the register that matched nothing (``EvidenceWorkflow/ingestAndAssess(_:options:register:checks:progress:phase:)``
/// stores each check's results as it is done and keeps none).
public struct AssessmentSummary: Sendable {
  /// Counts by check id (a check without results is absent).
  public var counts: [String: StatusCounts]
  /// The number of results.
  public var resultCount: Int
  public var staleExceptions: [PolicyException]

  public init(counts: [String: StatusCounts], resultCount: Int, staleExceptions: [PolicyException]) {
    self.counts = counts
    self.resultCount = resultCount
    self.staleExceptions = staleExceptions
  }

  /// The summary of `outcome`: one pass over its results, reading two fields of each in place (an
  /// account's assessment holds tens of thousands of large results).
  public init(_ outcome: Assessor.Outcome) {
    var counts: [String: StatusCounts] = [:]
    outcome.results.withUnsafeBufferPointer { results in
      for i in results.indices { counts[results[i].checkID, default: StatusCounts()][results[i].status] += 1 }
    }
    self.init(counts: counts, resultCount: outcome.results.count, staleExceptions: outcome.staleExceptions)
  }
}
