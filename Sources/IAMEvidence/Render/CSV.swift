import Foundation

/// CSV for spreadsheets (RFC 4180 quoting, formula injection neutralised).
public enum CSV {
  /// One field: quoted when needed; a leading `=`, `+`, `-` or `@` (which spreadsheets would run as a
  /// formula) is prefixed with `'`.
  public static func field(_ s: String) -> String {
    var s = s
    if let first = s.first, "=+-@".contains(first) { s = "'" + s }
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
      return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
  }

  /// Lines of fields joined with commas, ending with a newline.
  public static func table(header: [String], rows: [[String]]) -> String {
    ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
  }

  /// The trend table, one row per snapshot and check.
  public static func trend(_ report: TrendReport) -> String {
    table(
      header: ["snapshot", "captured_at", "check", "fail", "excepted", "pass", "error", "assessed"],
      rows: report.rows.map { r in
        [
          String(r.snapshotID), r.capturedAt.description, r.checkID, String(r.counts.fail), String(r.counts.excepted),
          String(r.counts.pass), String(r.counts.error), String(r.assessed),
        ]
      })
  }
}
