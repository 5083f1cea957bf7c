import Foundation

/// `accounts --format text|csv`: the coverage of an organisation's accounts for terminals and
/// spreadsheets (``AccountCoverage``).
public enum AccountsText {
  /// The table (one row per account), the organisation's verdict per control, the coverage gaps and
  /// the accounts out of scope. Names (from the scope file) are escaped (``TerminalText``), so a
  /// newline or an escape sequence in one can neither fake a line nor act on the terminal.
  public static func render(_ c: AccountCoverage) -> String {
    func e(_ s: String) -> String { TerminalText.escape(s) }
    func label(_ id: String) -> String { e(c.row(id)?.label ?? id) }
    var lines: [String] = []
    let period =
      switch (c.from, c.to) {
      case (let f?, let t?): "period \(f.dateString) to \(t.dateString)"
      case (let f?, nil): "period from \(f.dateString)"
      case (nil, let t?): "period to \(t.dateString)"
      case (nil, nil): "all snapshots"
      }
    let scope = c.scope.map { "scope \(e($0.source))" } ?? "no scope file: every account of the database is in scope"
    lines.append(
      "accounts: \(c.rows.count) (\(c.inScope.count) in scope, \(c.coverageGaps.count) coverage gap\(c.coverageGaps.count == 1 ? "" : "s")); \(period); \(scope)"
    )
    var header = ["ACCOUNT", "NAME", "SCOPE", "SNAPSHOTS", "LATEST"]
    header += c.controls.map(\.id)
    header += ["FAIL", "ERROR", "EXCEPTED", "PASS", "PRIVILEGED", "GAPS"]
    let rows = c.rows.map { r -> [String] in
      var row = [r.account, e(r.name ?? "-"), r.inScope ? "in" : "out", String(r.snapshots.count)]
      row.append(r.latest.map { "\($0.id) (\($0.capturedAt.dateString))" } ?? "-")
      row += r.verdicts.map(\.verdict.rawValue)
      row += numbers(r).map { $0.map(String.init) ?? "-" }
      row.append(String(r.gaps.count))
      return row
    }
    lines.append(table(header: header, rows: rows))
    lines.append("")
    lines.append("organisation verdict (\(c.inScope.count) account\(c.inScope.count == 1 ? "" : "s") in scope):")
    for o in c.organisation {
      var why: [String] = []
      for v in [CoverageVerdict.notEffective, .noEvidence, .error] {
        guard let ids = o.accounts[v], !ids.isEmpty else { continue }
        // A few accounts by name, then how many more: the table lists them all, and a line naming
        // two hundred accounts is read by nobody.
        let named = ids.prefix(listedAccounts).map(label).joined(separator: ", ")
        why.append("\(v.rawValue): \(ids.count) (\(named)\(ids.count > listedAccounts ? ", and \(ids.count - listedAccounts) more" : ""))")
      }
      lines.append("  \(o.control.id) \(o.control.title): \(o.verdict.rawValue)" + (why.isEmpty ? "" : " (\(why.joined(separator: "; ")))"))
    }
    for r in c.coverageGaps {
      lines.append(
        "coverage GAP: account \(label(r.account)) is in scope and has no snapshot in the \(c.from == nil && c.to == nil ? "database" : "period")"
      )
    }
    for r in c.rows where r.inScope {
      for g in r.gaps where !r.snapshots.isEmpty {
        lines.append(
          "gap: account \(label(r.account)): \(g.days) days from \(g.from.dateString) to \(g.to.dateString) (cadence \(c.cadenceDays) days)"
        )
      }
    }
    let out = c.outOfScope
    if !out.isEmpty {
      lines.append(
        "out of scope (not in the scope file; left out of the organisation verdict): "
          + out.map { label($0.account) }.joined(separator: ", "))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// How many accounts the organisation's verdict line names per verdict.
  static let listedAccounts = 5

  /// `accounts --format csv`: one row per account; a column per control's verdict (`verdict A.8.2`),
  /// empty cells where the JSON has null, and the number of gaps.
  public static func csv(_ c: AccountCoverage) -> String {
    var header = ["account", "name", "in_scope", "snapshots_in_period", "latest_snapshot", "latest_captured_at"]
    header += c.controls.map { "verdict \($0.id)" }
    header += ["fail", "error", "excepted", "pass", "privileged_identities", "gaps"]
    let rows = c.rows.map { r -> [String] in
      var row = [r.account, r.name ?? "", String(r.inScope), String(r.snapshots.count)]
      row += [r.latest.map { String($0.id) } ?? "", r.latest?.capturedAt.description ?? ""]
      row += r.verdicts.map(\.verdict.rawValue)
      row += numbers(r).map { $0.map(String.init) ?? "" }
      row.append(String(r.gaps.count))
      return row
    }
    return CSV.table(header: header, rows: rows)
  }

  /// fail, error, excepted, pass and the privileged identities of a row (nil: not known).
  static func numbers(_ r: AccountCoverageRow) -> [Int?] {
    [r.counts?.fail, r.counts?.error, r.counts?.excepted, r.counts?.pass, r.privilegedIdentities]
  }

  /// Aligned columns (the CLI's listing style).
  static func table(header: [String], rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
        .joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
  }
}
