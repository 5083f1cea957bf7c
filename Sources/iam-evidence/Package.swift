import ArgumentParser
import Foundation
import IAMEvidence

/// `iam-evidence package`: the auditor handoff bundle for a period.
struct PackageCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "package",
    abstract: "Write the auditor handoff zip for a period: report, evidence, OSCAL, drift, trend, manifest and signature.",
    discussion: """
      With --exceptions, every snapshot of the period is re-assessed with that register first (unless \
      its latest assessment already used those exact bytes), so the \
      package's evidence and its exceptions.json agree. The source files are included by default, read \
      from where they were ingested and checked against their recorded SHA-256; one that cannot be \
      (not readable here, or changed since) is left out and README.txt says why. --include-snapshots \
      makes that an error instead; --no-snapshots leaves them all out.
      """)

  @OptionGroup var database: DatabaseOptions

  @Option(help: "The account (required when the database holds several).")
  var account: String?

  @Option(
    help:
      "An organisation: all, or account ids separated by commas. One package for all of them (accounts.csv, drift per account, trend.csv with an account column)."
  )
  var accounts: String?

  @Option(help: "With --accounts: the scope file (the accounts in scope, their names and owners).")
  var scope: String?

  @Option(help: "Start of the period.")
  var from: Timestamp

  @Option(help: "End of the period (a bare date includes that whole day).")
  var to: String

  @Option(help: "The zip to write.")
  var out: String

  @Option(help: "The exceptions register to assess the period with and to include.")
  var exceptions: String?

  @Flag(help: "Require every source snapshot file (the default includes those it can and states why any is left out).")
  var includeSnapshots = false

  @Flag(help: "Leave the source snapshot files out.")
  var noSnapshots = false

  @Option(help: "Sign the manifest with this Ed25519 private key (from `iam-evidence keygen`).")
  var signKey: String?

  @Option(help: "Report templates folder (default: $IAM_EVIDENCE_TEMPLATES, else the installed ones beside the executable).")
  var templates: String?

  @Option(help: "The package's timestamp (default: SOURCE_DATE_EPOCH, else now); not earlier than the data's latest ingest time.")
  var generatedAt: Timestamp?

  @Option(help: "Expected days between snapshots (coverage gaps in the trend).")
  var cadence = 31

  func validate() throws {
    if includeSnapshots && noSnapshots { throw ValidationError("--include-snapshots and --no-snapshots exclude each other") }
    if accounts != nil && account != nil { throw ValidationError("give --account or --accounts, not both") }
    if scope != nil && accounts == nil { throw ValidationError("--scope goes with --accounts") }
  }

  func run() throws {
    let workflow = try database.writer(create: false)
    let templateSet = try TemplateSet.locate(explicit: templates)
    Terminal.note(templateSet.summary)
    let time = try GenerationTime.resolve(option: generatedAt, environment: ProcessInfo.processInfo.environment, now: Clock.now())
    guard let end = try PeriodEnd.parse(to) else { throw ValidationError("--to is required") }
    let key = try signKey.map { try SigningKeys.loadPrivateKey(path: $0) }
    let register = try exceptions.map { try ExceptionRegister.load(path: $0) }
    if let accounts {
      var request = OrganisationPackageRequest(
        accounts: try AccountSelection(parsing: accounts), scope: try AccountScope.option(scope), from: from, to: end, register: register,
        includeSnapshots: !noSnapshots, signingKey: key, templates: templateSet, generatedAt: time, cadenceDays: cadence)
      request.refuseBackdating = generatedAt != nil
      request.requireSnapshots = includeSnapshots
      let timings = Timings()
      let summary = try workflow.organisationPackage(request, to: URL(fileURLWithPath: out), now: Clock.now) {
        timings.mark("package: \($0)")
      }
      timings.mark("package: signed and put in place")
      let c = summary.evidence.coverage
      Terminal.out(
        "wrote \(out): \(Plural.count(summary.files, "file")), period \(summary.evidence.periodDescription), \(Plural.count(c.inScope.count, "account")) in scope (\(summary.evidence.accounts.count) with evidence, \(Plural.count(c.coverageGaps.count, "coverage gap")), \(c.outOfScope.count) out of scope), \(Plural.count(summary.snapshots, "snapshot"))"
          + (key.map { ", signed (key fingerprint \(SigningKeys.fingerprint($0.publicKey).prefix(16)))" } ?? ", unsigned"))
      Terminal.out(summary.evidence.verdictSummary)
      return
    }
    var request = PackageRequest(
      account: account, from: from, to: end, register: register, includeSnapshots: !noSnapshots, signingKey: key,
      templates: templateSet, generatedAt: time, cadenceDays: cadence)
    request.refuseBackdating = generatedAt != nil
    request.requireSnapshots = includeSnapshots
    let summary = try workflow.package(request, to: URL(fileURLWithPath: out), now: Clock.now)
    Terminal.out(
      "wrote \(out): \(Plural.count(summary.files, "file")), period \(summary.model.periodDescription), \(Plural.count(summary.snapshots, "snapshot")), \(summary.model.periodVerdictSummary); current state: \(summary.model.verdictSummary)"
        + (key.map { ", signed (key fingerprint \(SigningKeys.fingerprint($0.publicKey).prefix(16)))" } ?? ", unsigned"))
  }
}
