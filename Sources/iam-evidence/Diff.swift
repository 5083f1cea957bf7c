import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence diff`: drift between two snapshots.
struct Diff: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show what changed between two snapshots: findings, principals, policies (statement by statement).",
    discussion: """
      FROM and TO are snapshot ids, latest, previous, or a date (the latest snapshot captured on or before it). With \
      --accounts, give no FROM and TO: each account's first and last snapshot captured in the period (--from, --to; \
      unbounded when absent) are compared, and an account with fewer than two there is listed as such.
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(help: "The account (needed with latest/previous/dates when the database holds several).")
  var account: String?

  @Option(help: "Several accounts: all, or ids separated by commas (text or json).")
  var accounts: String?

  @Option(help: "With --accounts: the scope file, for account names (and, with all, its accounts never exported).")
  var scope: String?

  @Option(name: .customLong("from"), help: "With --accounts: start of the period (date or time).")
  var periodFrom: Timestamp?

  @Option(name: .customLong("to"), help: "With --accounts: end of the period (a bare date includes that whole day).")
  var periodTo: String?

  @Option(help: "text, json, html or xml.")
  var format: Format = .text

  @Option(help: "Write to this file (atomically) instead of standard output.")
  var out: String?

  @Option(help: "Report templates folder for html/xml (default: $IAM_EVIDENCE_TEMPLATES, else the installed ones).")
  var templates: String?

  @Argument(help: ArgumentHelp("The older snapshot.", valueName: "from-snapshot"))
  var from: String?

  @Argument(help: ArgumentHelp("The newer snapshot.", valueName: "to-snapshot"))
  var to: String?

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, html, xml }

  /// The templates (html and xml only), said on standard error.
  func located() throws -> TemplateSet {
    let templateSet = try TemplateSet.locate(explicit: templates)
    Terminal.note(templateSet.summary)
    return templateSet
  }

  func validate() throws {
    if accounts == nil {
      guard from != nil, to != nil else { throw ValidationError("give the two snapshots to compare (FROM TO), or --accounts") }
      if scope != nil || periodFrom != nil || periodTo != nil { throw ValidationError("--scope, --from and --to go with --accounts") }
      return
    }
    if account != nil { throw ValidationError("give --account or --accounts, not both") }
    if from != nil || to != nil {
      throw ValidationError("with --accounts, give the period with --from and --to instead of FROM and TO")
    }
    if format == .html || format == .xml { throw ValidationError("--accounts writes text or json") }
  }

  func run() throws {
    if let accounts {
      let drift = try database.reader().drift(
        accounts: try AccountSelection(parsing: accounts), scope: try AccountScope.option(scope), from: periodFrom,
        to: try PeriodEnd.parse(periodTo))
      let text = format == .json ? JSONWriter.pretty(drift.jsonValue) + "\n" : drift.text
      try emit(Array(text.utf8))
      return
    }
    guard let from, let to else { return }
    let drift = try database.reader().drift(from: from, to: to, account: account)
    let bytes: [UInt8]
    switch format {
    case .json: bytes = Array((JSONWriter.pretty(drift.jsonValue) + "\n").utf8)
    case .text: bytes = Array(DriftText.render(drift).utf8)
    case .xml: bytes = try DriftXML.render(drift, templates: try located())
    case .html: bytes = try DriftHTML.render(drift, templates: try located())
    }
    try emit(bytes)
  }

  /// To `--out` (atomically), else to standard output.
  func emit(_ bytes: [UInt8]) throws {
    if let out {
      try ReportWriter.writeAtomically(bytes, to: URL(fileURLWithPath: out))
    } else {
      FileHandle.standardOutput.write(Data(bytes))
    }
  }
}
