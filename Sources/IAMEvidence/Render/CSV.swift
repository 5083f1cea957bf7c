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

  /// The trend table, one row per snapshot and check; the counts in the report's order (fail, error,
  /// excepted, pass: most severe first).
  public static func trend(_ report: TrendReport) -> String {
    table(
      header: ["snapshot", "captured_at", "check", "fail", "error", "excepted", "pass", "assessed", "version"],
      rows: report.rows.map { r in
        [
          String(r.snapshotID), r.capturedAt.description, r.checkID, String(r.counts.fail), String(r.counts.error),
          String(r.counts.excepted), String(r.counts.pass), String(r.assessed), r.checkVersion.map(String.init) ?? "",
        ]
      })
  }

  /// The `findings --format csv` table: one row per result of snapshot `snapshot`.
  public static func findings(_ results: [CheckResult], snapshot: Int) -> String {
    let header = [
      "snapshot", "check", "status", "principal_type", "principal_name", "principal_arn", "policy_kind", "policy_name",
      "policy_arn", "policy_version", "statements", "reasons", "notes", "exception", "why",
    ]
    let rows = results.map { r in
      [
        String(snapshot), r.checkID, r.status.rawValue, r.principal?.type.rawValue ?? "", r.principal?.name ?? "",
        r.principal?.arn ?? "", r.policy?.kind.rawValue ?? "", r.policy?.name ?? "", r.policy?.arn ?? "", r.policy?.versionID ?? "",
        r.statements.map(String.init).joined(separator: " "), r.reasons.joined(separator: " "),
        r.notes.map(\.code).joined(separator: " "), r.exception?.id ?? "", r.why,
      ]
    }
    return table(header: header, rows: rows)
  }
}

extension CSV {
  /// The privileged-access register (`privileged --format csv`, `privileged.csv` in the package): one
  /// row per privileged user or role and snapshot. Lists are joined with `; ` (capabilities and
  /// methods with spaces); `last_used` is `never` for a role without a recorded use and empty for users.
  public static func privileged(_ entries: [PrivilegedPrincipal]) -> String {
    table(
      header: [
        "snapshot", "principal_type", "principal_name", "principal_arn", "principal_id", "capabilities", "methods", "sources",
        "exceptions", "last_used", "last_used_region", "privileged_since",
      ],
      rows: entries.map { e in
        [
          String(e.snapshotID), e.principal.type.rawValue, e.principal.name, e.principal.arn, e.principal.id,
          e.capabilities.joined(separator: " "), e.methods.joined(separator: " "),
          e.sources.map(PrivilegedText.label).joined(separator: "; "),
          e.exceptions.map(PrivilegedText.label).joined(separator: "; "),
          e.lastUsed.map { $0.date?.description ?? "never" } ?? "", e.lastUsed?.region ?? "", e.privilegedSince.description,
        ]
      })
  }
}
