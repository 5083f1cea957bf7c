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
  }

  func run() throws {
    let workflow = try database.writer(create: false)
    let templateSet = try TemplateSet.locate(explicit: templates)
    Terminal.note(templateSet.summary)
    let time = try GenerationTime.resolve(option: generatedAt, environment: ProcessInfo.processInfo.environment, now: Clock.now())
    guard let end = try PeriodEnd.parse(to) else { throw ValidationError("--to is required") }
    let key = try signKey.map { try SigningKeys.loadPrivateKey(path: $0) }
    let register = try exceptions.map { try ExceptionRegister.load(path: $0) }
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
