/// The summary printed after assessing a snapshot: a line naming it, then one line per check with
/// its counts by status.
public enum AssessSummary {
  public static func line(record: SnapshotRecord, outcome: Assessor.Outcome) -> String {
    // One pass over the results, reading two fields of each in place: an account's assessment holds
    // tens of thousands of large results, and copying each once per check cost more than the checks.
    var counts: [String: StatusCounts] = [:]
    outcome.results.withUnsafeBufferPointer { results in
      for i in results.indices { counts[results[i].checkID, default: StatusCounts()][results[i].status] += 1 }
    }
    let parts = CheckCatalog.all.map { check -> String in
      let c = counts[check.description.id] ?? StatusCounts()
      return "\(check.description.id): " + ResultStatus.allCases.map { "\(c[$0]) \($0.rawValue)" }.joined(separator: ", ")
    }
    return "assessed snapshot \(record.id) (\(record.account), captured \(record.capturedAt))\n  " + parts.joined(separator: "\n  ")
  }
}
