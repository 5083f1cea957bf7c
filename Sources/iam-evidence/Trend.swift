import ArgumentParser
import IAMEvidence

/// `iam-evidence trend`: results over time, finding lifetimes and coverage gaps.
struct Trend: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show per-snapshot result counts, how long each finding stayed open, and gaps in coverage.")

  @OptionGroup var database: DatabaseOptions

  @Option(help: "The account (required when the database holds several).")
  var account: String?

  @Option(help: "Several accounts: all, or ids separated by commas (rows, findings and gaps then carry the account).")
  var accounts: String?

  @Option(help: "With --accounts: the scope file, for account names (and, with all, its accounts never exported).")
  var scope: String?

  @Option(help: "Start of the period (date or time).")
  var from: Timestamp?

  @Option(help: "End of the period (date or time; a bare date includes that whole day).")
  var to: String?

  @Option(help: "Expected days between snapshots; longer gaps are flagged.")
  var cadence = 31

  @Option(help: "text, json or csv.")
  var format: Format = .text

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, csv }

  func validate() throws {
    if accounts != nil && account != nil { throw ValidationError("give --account or --accounts, not both") }
    if scope != nil && accounts == nil { throw ValidationError("--scope goes with --accounts") }
  }

  func run() throws {
    if let accounts {
      try runAccounts(try AccountSelection(parsing: accounts))
      return
    }
    let report = try database.reader().trend(account: account, from: from, to: try PeriodEnd.parse(to), cadenceDays: cadence)
    switch format {
    case .json: Terminal.raw(JSONWriter.pretty(report.jsonValue))
    case .csv: Terminal.raw(CSV.trend(report), terminator: "")
    case .text: Self.printText(report, label: report.account)
    }
  }

  /// `--accounts`: one trend per account; text prints each as for one account, under its name.
  func runAccounts(_ selection: AccountSelection) throws {
    let trend = try database.reader().trend(
      accounts: selection, scope: try AccountScope.option(scope), from: from, to: try PeriodEnd.parse(to), cadenceDays: cadence)
    switch format {
    case .json: Terminal.raw(JSONWriter.pretty(trend.jsonValue))
    case .csv: Terminal.raw(trend.csv, terminator: "")
    case .text:
      for (i, a) in trend.accounts.enumerated() {
        if i > 0 { Terminal.out("") }
        Self.printText(
          a.report, label: TerminalText.escape(a.name.map { "\(a.account) (\($0))" } ?? a.account) + (a.inScope ? "" : " (out of scope)"))
      }
    }
  }

  /// The text of one account's trend, headed `account LABEL: N snapshot(s)`.
  static func printText(_ report: TrendReport, label: String) {
    Terminal.out("account \(label): \(Plural.count(report.snapshots.count, "snapshot"))")
    let header = ["SNAPSHOT", "CAPTURED-AT", "CHECK", "VERSION", "FAIL", "ERROR", "EXCEPTED", "PASS"]
    let rows = report.rows.map { r in
      [String(r.snapshotID), r.capturedAt.description, r.checkID, r.checkVersion.map(String.init) ?? "-"]
        + (r.assessed
          ? [String(r.counts.fail), String(r.counts.error), String(r.counts.excepted), String(r.counts.pass)]
          : ["-", "-", "-", "- (not assessed)"])
    }
    Terminal.out(TextTable.render(header: header, rows: rows))
    Terminal.out("")
    Terminal.out("findings (first seen, last seen, resolved at, days open):")
    for f in report.findings {
      let end =
        f.resolvedAt.map { "resolved \($0.dateString)" } ?? f.endedByVersionChange.map { "check version changed \($0.dateString)" }
        ?? "OPEN"
      Terminal.out(
        TerminalText.escape(
          "  \(f.checkID)  \(f.subject)  \(f.firstSeen.dateString)\(f.firstSeenAtVersionChange ? " (at a check version change)" : "") .. \(f.lastSeen.dateString)  \(end)  \(f.daysOpen) days"
        ))
    }
    for c in report.versionChanges {
      Terminal.out(
        TerminalText.escape("check VERSION CHANGED at snapshot \(c.snapshotID) (\(c.capturedAt.dateString)): \(c.description)"))
    }
    if report.snapshots.isEmpty && report.gaps.isEmpty {
      // No snapshot and an open-ended period: no gap can be measured, and "no gap" would be false.
      Terminal.out("coverage GAP: no snapshot in the period")
    } else if report.gaps.isEmpty {
      Terminal.out("coverage: no gap longer than \(report.cadenceDays) days")
    } else {
      for g in report.gaps {
        Terminal.out("coverage GAP: \(g.days) days from \(g.from.dateString) to \(g.to.dateString) (cadence \(report.cadenceDays) days)")
      }
    }
  }
}

/// The end of a period: a bare date covers that whole day.
enum PeriodEnd {
  static func parse(_ text: String?) throws -> Timestamp? {
    guard let text else { return nil }
    guard let t = Timestamp(parsing: text) else { throw ValidationError("\(text) is not a date or time") }
    return text.count == 10 ? Timestamp(epochSeconds: t.epochSeconds + 86_399) : t
  }
}
