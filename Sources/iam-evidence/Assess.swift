import ArgumentParser
import IAMEvidence

/// `iam-evidence assess`: run the check catalog over stored snapshots.
struct Assess: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run every check over snapshots and store the results (the whole population, passes included).",
    discussion:
      "Re-assessing replaces a snapshot's results for the same check versions. Exit code 1 with --fail-on fail when any result fails.")

  @OptionGroup var database: DatabaseOptions

  @Option(help: "A snapshot id, latest, previous, a date, or all.")
  var snapshot = "latest"

  @Option(help: "Only snapshots of this account.")
  var account: String?

  @Option(help: "The exceptions register (JSON; see README).")
  var exceptions: String?

  @Option(help: "Exit with code 1 when any result has this status (only: fail).")
  var failOn: FailOn?

  enum FailOn: String, ExpressibleByArgument { case fail }

  func run() throws {
    let workflow = try database.writer(create: false)
    let store = workflow.store
    let register = try ExceptionRegister.option(exceptions)
    let targets = snapshot == "all" ? try store.snapshots(account: account) : [try store.resolveSnapshot(snapshot, account: account)]
    var failing = 0
    for record in targets {
      let outcome = try workflow.assess(snapshotID: record.id, register: register, now: Clock.now())
      failing += outcome.results.filter { $0.status == .fail }.count
      Terminal.out(AssessSummary.line(record: record, outcome: outcome))
      for stale in outcome.staleExceptions {
        Terminal.out(TerminalText.escape("  stale exception \(stale.id): matches no finding in snapshot \(record.id)"))
      }
    }
    if failOn == .fail && failing > 0 { throw ExitCode(1) }
  }
}
