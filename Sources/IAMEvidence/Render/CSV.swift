import Foundation

/// CSV for spreadsheets (RFC 4180 quoting, formula injection neutralised).
public enum CSV {
  /// One field: quoted when needed; a leading `=`, `+`, `-` or `@` (which spreadsheets would run as a
  /// formula) is prefixed with `'`.
  public static func field(_ s: String) -> String {
    var s = s
    if let first = s.first, "=+-@".contains(first) { s = "'" + s }
    // Bytes, not characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
    if s.utf8.contains(where: {
      $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r")
    }) {
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

extension CSV {
  /// The columns of `population.csv`: who and what each result examined, by which check version,
  /// with what status — the `result` elements of evidence.xml's population, one row each (the detail
  /// of the findings is in evidence.xml).
  public static let populationHeader = [
    "snapshot", "check", "check_version", "status", "principal_type", "principal_name", "principal_arn", "principal_id",
    "policy_kind", "policy_name", "policy_arn", "policy_version", "document_sha256", "exception", "finding_key",
  ]

  /// The fields of result `r` of snapshot `snapshot` in `population.csv`.
  public static func populationRow(_ r: CheckResult, snapshot: Int) -> [String] {
    [
      String(snapshot), r.checkID, String(r.checkVersion), r.status.rawValue, r.principal?.type.rawValue ?? "", r.principal?.name ?? "",
      r.principal?.arn ?? "", r.principal?.id ?? "", r.policy?.kind.rawValue ?? "", r.policy?.name ?? "", r.policy?.arn ?? "",
      r.policy?.versionID ?? "", r.policy?.documentSHA256 ?? "", r.exception?.id ?? "", r.findingKey,
    ]
  }

  /// Writes `population.csv` to `sink`: the header, then one row per result of `model`, the checks in
  /// `order` (each check's rows together, in the results' report order; a check not in `order` is
  /// left out). Returns the row numbers (1 for the first row after the header) of each check's rows.
  @discardableResult
  public static func writePopulation(_ model: EvidenceModel, order: [String], to sink: RenderSink) throws -> [String: ClosedRange<Int>] {
    var line: [UInt8] = []
    func append(_ fields: [String]) {
      for (i, f) in fields.enumerated() {
        if i > 0 { line.append(UInt8(ascii: ",")) }
        appendField(f, to: &line)
      }
      line.append(UInt8(ascii: "\n"))
    }
    append(populationHeader)
    var byCheck: [String: [Int]] = [:]
    for (i, r) in model.results.enumerated() { byCheck[r.checkID, default: []].append(i) }
    var ranges: [String: ClosedRange<Int>] = [:]
    var row = 0
    for check in order {
      guard let indices = byCheck[check] else { continue }
      ranges[check] = row + 1...row + indices.count
      row += indices.count
      for i in indices {
        append(populationRow(model.results[i], snapshot: model.current.id))
        if line.count >= 1 << 16 {
          try line.withUnsafeBytes { try sink.write($0) }
          line.removeAll(keepingCapacity: true)
        }
      }
    }
    try line.withUnsafeBytes { try sink.write($0) }
    return ranges
  }

  /// Appends ``field(_:)`` of `s` to `line`: the bytes as they are when nothing needs quoting or
  /// neutralising (most fields), else through ``field(_:)``.
  static func appendField(_ s: String, to line: inout [UInt8]) {
    let plain = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
      if let first = bytes.first,
        first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@")
      {
        return false
      }
      for b in bytes where b == UInt8(ascii: ",") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
        return false
      }
      line.append(contentsOf: bytes)
      return true
    }
    if plain != true { line.append(contentsOf: field(s).utf8) }
  }
}
