import ArgumentParser
import IAMEvidence

/// `iam-evidence accounts`: every account, in scope or not, its coverage over a period and the
/// organisation's verdict per control.
struct Accounts: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "List every account with its snapshots, latest verdicts and counts, coverage gaps, and the organisation's verdict per control.",
    discussion: """
      An account of the scope file with no snapshot in the period is a coverage gap: its verdict is no-evidence on every \
      control, and the organisation's verdict cannot be effective while it stands. Accounts of the database that the \
      scope file does not list are out of scope and left out of the organisation's verdict. Without --scope, every \
      account of the database is in scope.
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(help: "The scope file: {\"accounts\": [{\"id\": \"111122223333\", \"name\": \"...\", \"owner\": \"...\"}]}.")
  var scope: String?

  @Option(help: "Start of the period (date or time).")
  var from: Timestamp?

  @Option(help: "End of the period (date or time; a bare date includes that whole day).")
  var to: String?

  @Option(help: "Expected days between snapshots; longer gaps are listed.")
  var cadence = 31

  @Option(help: "text, json or csv.")
  var format: Format = .text

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, csv }

  func run() throws {
    let scopeFile = try AccountScope.option(scope)
    let coverage = try database.reader().accounts(scope: scopeFile, from: from, to: try PeriodEnd.parse(to), cadenceDays: cadence)
    switch format {
    case .json: Terminal.raw(JSONWriter.pretty(coverage.jsonValue))
    case .csv: Terminal.raw(AccountsText.csv(coverage), terminator: "")
    case .text: Terminal.out(AccountsText.render(coverage), terminator: "")
    }
  }
}
