import Foundation

/// What `package` is asked to put together.
public struct PackageRequest {
  /// The account (nil: the only one in the database).
  public var account: String?
  public var from: Timestamp
  public var to: Timestamp
  /// The register to assess the period with and to include; nil keeps the assessments as they are.
  public var register: ExceptionRegister?
  /// Include the source snapshot files (read from where they were ingested, checked against their
  /// recorded SHA-256). The default: a file that cannot be included (not readable here, or no longer
  /// the bytes ingested) is left out and README.txt says which and why, unless ``requireSnapshots``.
  public var includeSnapshots: Bool
  /// Whether a source file that cannot be included fails the package (`--include-snapshots` given
  /// explicitly) instead of being left out with its reason stated.
  public var requireSnapshots = false
  public var signingKey: Curve25519SigningKey?
  public var templates: TemplateSet
  /// The package's timestamp.
  public var generatedAt: Timestamp
  /// Expected days between snapshots (coverage gaps in the trend).
  public var cadenceDays: Int
  /// Whether ``generatedAt`` was given explicitly (`--generated-at`): then a time earlier than the
  /// latest ingest time of the period's snapshots is refused before anything is assessed or written.
  public var refuseBackdating = false

  public init(
    account: String?, from: Timestamp, to: Timestamp, register: ExceptionRegister?, includeSnapshots: Bool,
    signingKey: Curve25519SigningKey?, templates: TemplateSet, generatedAt: Timestamp, cadenceDays: Int
  ) {
    self.account = account
    self.from = from
    self.to = to
    self.register = register
    self.includeSnapshots = includeSnapshots
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
    if request.refuseBackdating {
      try Self.requireGeneratedAt(request.generatedAt, notBeforeIngestOf: (start.map { [$0] } ?? []) + inPeriod)
    }
    let registerBytes = try ensureAssessed((start.map { [$0] } ?? []) + inPeriod, register: request.register, now: now)
    let model = try evidence(scope: .period(from: request.from, to: request.to), account: acct, generatedAt: request.generatedAt)
    let trend = try trend(account: acct, from: request.from, to: request.to, cadenceDays: request.cadenceDays)
    // Drift over the period: from the state at its start (the snapshot before it, else its first) to
    // its last snapshot, and between each consecutive pair of those snapshots.
    let series = (start.map { [$0] } ?? []) + inPeriod
    let (drift, pairs) = try periodDrifts(series)
    // The source files: the period's snapshots and the one giving the state at its start.
    let sources = request.includeSnapshots ? try Self.sourceFiles(of: series, required: request.requireSnapshots) : (files: [], omitted: [])
    let snapshots = sources.files.map { (name: $0.name, bytes: $0.bytes) }
    var members: [Int: String] = [:]
    for f in sources.files { members[f.id] = "snapshots/" + f.name }
    let privileged = try privilegedHistory(through: last, registersOf: Set(inPeriod.map(\.id))).registers.flatMap(\.entries)
    let files = try HandoffPackage.files(
      HandoffPackage.Inputs(
        model: model, trend: trend, drift: drift, pairDrifts: pairs, register: registerBytes, snapshots: snapshots,
        snapshotMembers: members, signingKey: request.signingKey, templates: request.templates, privileged: privileged,
        omittedSnapshots: request.includeSnapshots ? sources.omitted : nil))
    try HandoffPackage.writeZip(files, to: out, date: request.generatedAt)
    return PackageSummary(files: files.count, snapshots: inPeriod.count, model: model)
  }

  /// The source files of `snapshots`, read from where they were ingested, each checked against the
  /// SHA-256 recorded then, named `<id>-<file name>` for the package (``memberName(id:sourceName:)``).
  /// A file that cannot be included (not readable here, as for the demo's bundled `demo/...` names
  /// or standard input, or no longer the bytes ingested) is an error when `required`, else it is
  /// left out and returned in `omitted` with the reason (README.txt states it): never other bytes.
  static func sourceFiles(
    of snapshots: [SnapshotRecord], required: Bool
  ) throws(WorkflowError) -> (files: [(id: Int, name: String, bytes: [UInt8])], omitted: [(id: Int, reason: String)]) {
    var files: [(id: Int, name: String, bytes: [UInt8])] = []
    var omitted: [(id: Int, reason: String)] = []
    for s in snapshots {
      switch readBack(s) {
      case .unreadable:
        let reason =
          s.sourceName == "-"
          ? "it was ingested from standard input, so there is no file to read back"
          : "its source file \(s.sourceName) is not readable here"
        if required {
          throw WorkflowError(path: s.sourceName, message: "snapshot \(s.id)'s source file is not readable here; it cannot be included")
        }
        omitted.append((s.id, reason))
      case .differs:
        if required {
          throw WorkflowError(path: s.sourceName, message: "differs from what was ingested as snapshot \(s.id) (SHA-256 mismatch)")
        }
        omitted.append((s.id, "its source file \(s.sourceName) differs from what was ingested (SHA-256 mismatch)"))
      case .same(let bytes):
        files.append((s.id, memberName(id: s.id, sourceName: s.sourceName), bytes))
      }
    }
    return (files, omitted)
  }

  /// What reading a snapshot's source file back gave.
  private enum ReadBack {
    /// Ingested from standard input, or not readable here.
    case unreadable
    /// Not the bytes ingested: another SHA-256, or larger than what was ingested.
    case differs
    /// The very bytes ingested.
    case same([UInt8])
  }

  /// Reads `s`'s source file as ingest reads: a regular file only, opened without waiting, and never
  /// more bytes than were ingested (a larger file is not the snapshot, and is not read to its end).
  private static func readBack(_ s: SnapshotRecord) -> ReadBack {
    guard s.sourceName != "-" else { return .unreadable }
    do {
      let read = try InputFile.read(path: s.sourceName, limit: s.byteSize).bytes
      return read.sha256 == s.sha256 ? .same([UInt8](read.buffer)) : .differs
    } catch {
      if case .tooLarge = error { return .differs }
      return .unreadable
    }
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
