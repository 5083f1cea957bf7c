import ArgumentParser
import IAMEvidence

/// `iam-evidence findings`: list stored results.
struct Findings: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the results of a snapshot (default: the failures of the latest).")

  @OptionGroup var database: DatabaseOptions

  @Option(help: "A snapshot id, latest, previous, or a date.")
  var snapshot = "latest"

  @Option(help: "Only snapshots of this account.")
  var account: String?

  @Option(help: "Only this check.")
  var check: String?

  @Option(help: "fail, pass, excepted, error, or all.")
  var status = "fail"

  @Option(help: "text, json or csv.")
  var format: Format = .text

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, csv }

  func validate() throws {
    if status != "all" && ResultStatus(rawValue: status) == nil {
      throw ValidationError("--status must be fail, pass, excepted, error or all")
    }
    if let check, CheckCatalog.check(id: check) == nil { throw ValidationError("unknown check \(check) (see `iam-evidence checks`)") }
  }

  func run() throws {
    let statuses: Set<ResultStatus>? = status == "all" ? nil : [ResultStatus(rawValue: status)!]
    let (record, results) = try database.reader().findings(
      snapshot: snapshot, account: account, check: check, statuses: statuses)
    switch format {
    case .json:
      Terminal.raw(JSONWriter.pretty(.array(results.map { $0.jsonValue(snapshot: record.id) })))
    case .csv:
      Terminal.raw(CSV.findings(results, snapshot: record.id), terminator: "")
    case .text:
      if results.isEmpty {
        Terminal.out("snapshot \(record.id): no \(status == "all" ? "" : status + " ")results" + (check.map { " for \($0)" } ?? ""))
      }
      // Each line escaped whole: names (and texts quoting them) may hold control characters.
      func line(_ text: String) { Terminal.out(TerminalText.escape(text)) }
      for r in results {
        let who = r.principal.map { "\($0.type.rawValue) \($0.name)" } ?? "-"
        let what =
          r.policy.map { p in p.kind == .inline ? "inline \(p.name)" : "managed \(p.arn ?? p.name) \(p.versionID ?? "")" }
          ?? "effective access"
        line("\(r.status.rawValue.uppercased())  \(r.checkID)  \(who)  \(what)")
        line("    \(r.why)")
        for n in r.notes { line("    note \(n.code): \(n.message)") }
      }
    }
  }
}
