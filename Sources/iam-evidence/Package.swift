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
      package's evidence and its exceptions.json agree. --include-snapshots adds the source files, read \
      from where they were ingested and checked against their recorded SHA-256.
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

  @Flag(help: "Include the source snapshot files.")
  var includeSnapshots = false

  @Option(help: "Sign the manifest with this Ed25519 private key (from `iam-evidence keygen`).")
  var signKey: String?

  @Option(help: "Report templates folder (default: $IAM_EVIDENCE_TEMPLATES, else the installed ones beside the executable).")
  var templates: String?

  @Option(help: "The package's timestamp (default: SOURCE_DATE_EPOCH, else now).")
  var generatedAt: Timestamp?

  @Option(help: "Expected days between snapshots (coverage gaps in the trend).")
  var cadence = 31

  func run() throws {
    let store = try database.open(create: false)
    let templateSet = try TemplateSet.locate(explicit: templates)
    Terminal.note(templateSet.summary)
    let time = try GenerationTime.resolve(option: generatedAt, environment: ProcessInfo.processInfo.environment, now: Clock.now())
    guard let end = try PeriodEnd.parse(to) else { throw ValidationError("--to is required") }
    let key = try signKey.map { path -> SigningKeyFile in try SigningKeyFile.load(path) }
    let acct = try store.resolveAccount(account)
    let inPeriod = try store.snapshots(account: acct).filter { $0.capturedAt >= from && $0.capturedAt <= end }
    guard let first = inPeriod.first, let last = inPeriod.last else {
      throw CommandFailure(message: "no snapshot of account \(acct) captured between \(from) and \(end)")
    }
    var registerBytes: [UInt8]?
    if let exceptions {
      let register = try ExceptionsOption.load(exceptions)
      // Re-assess unless the latest assessment already applied these exact register bytes with the
      // same tool and checks: its results would be the same, and a new assessment time would make
      // the package differ from one made before.
      let checks = CheckCatalog.all.map { "\($0.description.id)@\($0.description.version)" }
      for s in inPeriod {
        if let a = try store.latestAssessment(snapshotID: s.id), a.exceptionsSHA256 == register.sha256,
          a.toolVersion == EvidenceStore.toolVersion, a.checks == checks, try store.isAssessed(snapshotID: s.id)
        {
          continue
        }
        try store.assess(snapshotID: s.id, register: register, now: Clock.now())
      }
      registerBytes = Array(register.content.utf8)
    } else {
      for s in inPeriod where !(try store.isAssessed(snapshotID: s.id)) { try store.assess(snapshotID: s.id, now: Clock.now()) }
      if let a = try store.latestAssessment(snapshotID: last.id), !a.exceptionsContent.isEmpty {
        registerBytes = Array(a.exceptionsContent.utf8)
      }
    }
    let model = try store.evidence(scope: .period(from: from, to: end), account: acct, generatedAt: time)
    let trend = try store.trend(account: acct, from: from, to: end, cadenceDays: cadence)
    let drift = first.id == last.id ? nil : try store.drift(from: first.id, to: last.id)
    var snapshots: [(name: String, bytes: [UInt8])] = []
    if includeSnapshots {
      for s in inPeriod {
        guard s.sourceName != "-", let data = FileManager.default.contents(atPath: s.sourceName) else {
          throw CommandFailure(message: "\(s.sourceName): snapshot \(s.id)'s source file is not readable here; it cannot be included")
        }
        let bytes = [UInt8](data)
        guard Digest.sha256(bytes) == s.sha256 else {
          throw CommandFailure(message: "\(s.sourceName): differs from what was ingested as snapshot \(s.id) (SHA-256 mismatch)")
        }
        snapshots.append((String(format: "%04d-", s.id) + (s.sourceName as NSString).lastPathComponent, bytes))
      }
    }
    let files = try HandoffPackage.files(
      HandoffPackage.Inputs(
        model: model, trend: trend, drift: drift, register: registerBytes, snapshots: snapshots, signingKey: key?.key,
        templates: templateSet))
    try HandoffPackage.writeZip(files, to: URL(fileURLWithPath: out), date: time)
    Terminal.out(
      "wrote \(out): \(files.count) files, period \(model.periodDescription), \(inPeriod.count) snapshot(s), A.8.2 verdict \(model.verdict.rawValue)"
        + (key.map { ", signed (key fingerprint \($0.fingerprint.prefix(16)))" } ?? ", unsigned"))
  }
}

/// A private key file read for signing.
struct SigningKeyFile {
  var key: Curve25519SigningKey
  var fingerprint: String

  static func load(_ path: String) throws -> SigningKeyFile {
    guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure(message: "\(path): cannot read the key") }
    let key = try SigningKeys.privateKey(pem: String(decoding: data, as: UTF8.self), source: path)
    return SigningKeyFile(key: key, fingerprint: SigningKeys.fingerprint(key.publicKey))
  }
}
