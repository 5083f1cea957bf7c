import ArgumentParser
import IAMEvidence

/// `iam-evidence privileged`: the privileged-access register.
struct Privileged: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List the privileged-access register: every user and role holding a privileged capability, and since when.",
    discussion: """
      A principal holds a capability when its result for the check that gives it is fail or excepted \
      (admin, escalation, kms-full-access; for roles public-trust and oidc-unrestricted). Privileged \
      since: the capture time of the earliest snapshot from which it held one in every snapshot of its \
      account up to this one.
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(help: "A snapshot id, latest, previous, a date, or all.")
  var snapshot = "latest"

  @Option(help: "Only snapshots of this account.")
  var account: String?

  @Option(help: "text, json or csv.")
  var format: Format = .text

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, csv }

  func run() throws {
    let registers = try database.reader().privileged(snapshot: snapshot, account: account)
    switch format {
    case .json: Terminal.out(JSONWriter.pretty(.array(registers.flatMap(\.entries).map(\.jsonValue))))
    case .csv: Terminal.out(CSV.privileged(registers.flatMap(\.entries)), terminator: "")
    case .text: Terminal.out(PrivilegedText.render(registers), terminator: "")
    }
  }
}
