/// The summary printed after assessing a snapshot: a line naming it, then one line per check with
/// its counts by status.
public enum AssessSummary {
  public static func line(record: SnapshotRecord, outcome: Assessor.Outcome) -> String {
    var parts: [String] = []
    for check in CheckCatalog.all {
      let rs = outcome.results.filter { $0.checkID == check.description.id }
      let counts = ResultStatus.allCases.map { s in "\(rs.filter { $0.status == s }.count) \(s.rawValue)" }
      parts.append("\(check.description.id): " + counts.joined(separator: ", "))
    }
    return "assessed snapshot \(record.id) (\(record.account), captured \(record.capturedAt))\n  " + parts.joined(separator: "\n  ")
  }
}
