import ArgumentParser
import IAMEvidence

/// `iam-evidence check-db`: the database's integrity check, read-only.
struct CheckDB: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-db",
    abstract: "Check the database: recompute what can be recomputed and recheck the ledger's hash chain (read-only).",
    discussion: """
      Every listed state, document and result exists; counts match the lists; document texts, result \
      details and long strings still have their SHA-256; the ledger's chain is intact and its digests \
      are those of the rows as they are. Prints OK, or each problem naming table and row (exit 2). \
      report and package run the same check on the snapshots they cover before writing evidence.
      """)

  @OptionGroup var database: DatabaseOptions

  func run() throws {
    let workflow = try database.reader()
    let report = try workflow.checkIntegrity()
    if report.isOK {
      let chain = report.chainHead.map { ", chain head \($0.head) (entry \($0.entry))" } ?? ", empty ledger"
      Terminal.out(
        "OK: \(workflow.store.path): \(report.snapshots.count) snapshot(s), \(report.ledgerEntries) ledger entries"
          + (report.backfilledEntries > 0 ? " (\(report.backfilledEntries) backfilled by a migration)" : "") + chain)
      return
    }
    for problem in report.problems { Terminal.out("problem: \(problem)") }
    throw CommandFailure(message: "\(workflow.store.path): fails its integrity check (\(report.problems.count) problem(s))")
  }
}
