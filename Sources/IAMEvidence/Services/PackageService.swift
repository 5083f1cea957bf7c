import Foundation

/// Which source snapshot files a package includes.
public enum SnapshotInclusion: Sendable, Equatable {
  /// None (`--no-snapshots`).
  case none
  /// Every one whose file is still readable where it was ingested (the default); the others are
  /// listed in README.txt with the reason. A readable file whose bytes differ from what was
  /// ingested is an error whatever the mode: it is not the evidence.
  case available
  /// Every one, or the package is refused (`--include-snapshots`).
  case all
}

/// What `package` is asked to put together.
public struct PackageRequest {
  /// The account (nil: the only one in the database).
  public var account: String?
  public var from: Timestamp
  public var to: Timestamp
  /// The register to assess the period with and to include; nil keeps the assessments as they are.
  public var register: ExceptionRegister?
  /// Which source snapshot files to include (read from where they were ingested, checked against
  /// their recorded SHA-256).
  public var snapshots: SnapshotInclusion
  public var signingKey: Curve25519SigningKey?
  public var templates: TemplateSet
  /// The package's timestamp.
  public var generatedAt: Timestamp
  /// Expected days between snapshots (coverage gaps in the trend).
  public var cadenceDays: Int

  public init(
    account: String?, from: Timestamp, to: Timestamp, register: ExceptionRegister?, snapshots: SnapshotInclusion = .available,
    signingKey: Curve25519SigningKey?, templates: TemplateSet, generatedAt: Timestamp, cadenceDays: Int
  ) {
    self.account = account
    self.from = from
    self.to = to
    self.register = register
    self.snapshots = snapshots
    self.signingKey = signingKey
    self.templates = templates
    self.generatedAt = generatedAt
    self.cadenceDays = cadenceDays
  }
}

/// What a written package holds.
public struct PackageSummary {
  /// The number of files in the zip.
  public var files: Int
  /// The number of snapshots in the period.
  public var snapshots: Int
  /// The evidence the package reports.
  public var model: EvidenceModel
}

extension EvidenceWorkflow {
  /// Builds the handoff package of a period and writes it to `out` (atomically): assesses the
  /// period as ``ensureAssessed(_:register:checks:now:)`` says, then gathers the evidence, trend,
  /// drift (first to last snapshot, and each consecutive pair), register and source files, and
  /// renders and signs them.
  public func package(_ request: PackageRequest, to out: URL, now: () -> Timestamp) throws -> PackageSummary {
    let acct = try store.resolveAccount(request.account)
    let all = try store.snapshots(account: acct)
    let inPeriod = all.filter { $0.capturedAt >= request.from && $0.capturedAt <= request.to }
    guard let first = inPeriod.first, let last = inPeriod.last else {
      throw WorkflowError(path: nil, message: "no snapshot of account \(acct) captured between \(request.from) and \(request.to)")
    }
    // The last snapshot before the period gives the state at its start (the period verdict rests on
    // it): it is assessed with the same register.
    let start = first.capturedAt > request.from ? all.last { $0.capturedAt < request.from } : nil
    let registerBytes = try ensureAssessed((start.map { [$0] } ?? []) + inPeriod, register: request.register, now: now)
    let model = try evidence(scope: .period(from: request.from, to: request.to), account: acct, generatedAt: request.generatedAt)
    let trend = try trend(account: acct, from: request.from, to: request.to, cadenceDays: request.cadenceDays)
    // Drift over the period: from the state at its start (the snapshot before it, else its first) to
    // its last snapshot, and between each consecutive pair of those snapshots.
    let series = (start.map { [$0] } ?? []) + inPeriod
    let drift = series.count < 2 ? nil : try drift(from: series[0].id, to: last.id)
    let pairs = try consecutiveDrifts(series)
    // The source files: the period's snapshots and the one giving the state at its start.
    let (snapshots, included, leftOut) = try Self.sourceFiles(of: series, request.snapshots)
    var members: [Int: String] = [:]
    for s in included { members[s.id] = "snapshots/" + Self.memberName(id: s.id, sourceName: s.sourceName) }
    let privileged = try privilegedHistory(through: last, registersOf: Set(inPeriod.map(\.id))).registers.flatMap(\.entries)
    var inputs = HandoffPackage.Inputs(
      model: model, trend: trend, drift: drift, pairDrifts: pairs, register: registerBytes, snapshots: snapshots,
      snapshotMembers: members, signingKey: request.signingKey, templates: request.templates, privileged: privileged)
    inputs.snapshotsLeftOut = leftOut
    let files = try HandoffPackage.files(inputs)
    try HandoffPackage.writeZip(files, to: out, date: request.generatedAt)
    return PackageSummary(files: files.count, snapshots: inPeriod.count, model: model)
  }

  /// The source files of `snapshots` as `mode` asks, read from where they were ingested, each
  /// checked against the SHA-256 recorded then, named `<id>-<file name>` for the package
  /// (``memberName(id:sourceName:)``); with the snapshots included and those left out (and why).
  static func sourceFiles(of snapshots: [SnapshotRecord], _ mode: SnapshotInclusion) throws(WorkflowError) -> (
    files: [(name: String, bytes: [UInt8])], included: [SnapshotRecord], leftOut: [(id: Int, reason: String)]
  ) {
    var files: [(name: String, bytes: [UInt8])] = []
    var included: [SnapshotRecord] = []
    var leftOut: [(id: Int, reason: String)] = []
    guard mode != .none else { return ([], [], snapshots.map { ($0.id, "left out on request (--no-snapshots)") }) }
    for s in snapshots {
      guard s.sourceName != "-", let data = FileManager.default.contents(atPath: s.sourceName) else {
        let reason =
          s.sourceName == "-"
          ? "ingested from standard input: there is no file to read back"
          : "its source file \(s.sourceName) is not readable where it was ingested"
        if mode == .all {
          throw WorkflowError(path: s.sourceName, message: "snapshot \(s.id)'s source file is not readable here; it cannot be included")
        }
        leftOut.append((s.id, reason + " (its SHA-256 \(s.sha256) is in the chain of custody)"))
        continue
      }
      let bytes = [UInt8](data)
      guard Digest.sha256(bytes) == s.sha256 else {
        throw WorkflowError(path: s.sourceName, message: "differs from what was ingested as snapshot \(s.id) (SHA-256 mismatch)")
      }
      files.append((memberName(id: s.id, sourceName: s.sourceName), bytes))
      included.append(s)
    }
    return (files, included, leftOut)
  }

  /// `0003-<file name>`, every byte of the name outside `A-Z a-z 0-9 . _ -` replaced by `_`: a name
  /// with a newline, a backslash, a space or a slash must not break `MANIFEST.sha256` (`sha256sum`
  /// escapes such names) or the zip's paths. The snapshot id keeps the names unique.
  static func memberName(id: Int, sourceName: String) -> String {
    let name = (sourceName as NSString).lastPathComponent
    let safe = name.utf8.map { b -> UInt8 in
      switch b {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
        return b
      default: return UInt8(ascii: "_")
      }
    }
    return String(format: "%04d-", id) + String(decoding: safe, as: UTF8.self)
  }
}
