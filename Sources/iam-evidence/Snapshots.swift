import ArgumentParser
import IAMEvidence

/// `iam-evidence snapshots`: list what the database holds.
struct Snapshots: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the snapshots in the database.")

  @OptionGroup var database: DatabaseOptions

  @Option(help: "Only this account's snapshots.")
  var account: String?

  @Option(help: "text or json.")
  var format: ListFormat = .text

  func run() throws {
    let store = try database.openForReading()
    let records = try store.snapshots(account: account)
    switch format {
    case .json:
      Terminal.raw(JSONWriter.pretty(.array(records.map(\.jsonValue))))
    case .text:
      let header = ["ID", "ACCOUNT", "CAPTURED-AT", "INGESTED-AT", "USERS", "GROUPS", "ROLES", "MANAGED", "INLINE", "SHA256", "SOURCE"]
      let rows = records.map { r in
        [
          String(r.id), r.account, r.capturedAt.description + (r.capturedAtSource == .option ? "" : " (\(r.capturedAtSource.rawValue))"),
          r.ingestedAt.description, String(r.counts.users), String(r.counts.groups), String(r.counts.roles),
          String(r.counts.managedPolicies), String(r.counts.inlinePolicies), String(r.sha256.prefix(12)),
          r.sourceName + (r.isTruncated ? " (truncated)" : ""),
        ]
      }
      Terminal.out(TextTable.render(header: header, rows: rows))
    }
  }
}

/// Plain aligned columns for terminals; cells escaped (``TerminalText``) before they are measured.
enum TextTable {
  static func render(header: [String], rows: [[String]]) -> String {
    let rows = rows.map { $0.map { TerminalText.escape($0) } }
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
        .joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
  }
}
