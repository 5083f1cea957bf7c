import Crypto
import Foundation
import XMLTree
import ZIPFoundation

/// The auditor handoff package of an organisation (`package --accounts`): one zip with the
/// organisation's report files (``OrganisationReportRenderer``), `accounts.csv`, the OSCAL assessment
/// results (``OrganisationOSCAL``), per account its drift over the period and between each
/// consecutive pair of its snapshots (`accounts/<id>/drift.json`, `.html`, `accounts/<id>/drift/NNNN-MMMM.json`,
/// `.html`), `trend.csv` and `privileged.csv` with an `account` column first, the exceptions register,
/// the source snapshots, `MANIFEST.sha256` and its signature. Same inputs, same bytes.
///
/// Members are written into the zip one at a time, each hashed on its way in (the manifest lists
/// them): the report files are rendered into a private folder beside the zip first, and the source
/// snapshots are read from where they were ingested, so neither 600 snapshots nor a report of 200
/// accounts is ever held in memory whole. A failure leaves no zip and no temporary file.
public enum OrganisationPackage {
  /// One account's drift over the period: from the state at its start (the last snapshot before the
  /// period, else its first) to its last snapshot, and between each consecutive pair.
  public struct AccountDrifts: Sendable {
    public var account: String
    public var overall: DriftReport?
    public var pairs: [DriftReport]

    public init(account: String, overall: DriftReport?, pairs: [DriftReport]) {
      self.account = account
      self.overall = overall
      self.pairs = pairs
    }
  }

  /// A source snapshot to include: read from `path` when the zip is written and checked against
  /// its SHA-256 again then (a file changed since the check fails the package).
  public struct SourceFile: Sendable {
    public var id: Int
    public var member: String
    public var path: String
    public var sha256: String
    public var byteCount: Int
  }

  /// Everything the package is made from.
  public struct Inputs {
    public var org: OrganisationEvidence
    public var drifts: [AccountDrifts]
    /// Exceptions registers (exact bytes) by member name: `exceptions.json` when every account's
    /// assessment applied the same, else `accounts/<id>/exceptions.json` each.
    public var registers: [(name: String, bytes: [UInt8])]
    public var snapshots: [SourceFile]
    /// Source snapshots asked for but left out, with why; nil when not asked for (`--no-snapshots`).
    public var omittedSnapshots: [(id: Int, reason: String)]?
    public var signingKey: Curve25519.Signing.PrivateKey?
    public var templates: TemplateSet
    /// The privileged-access register of every snapshot of the period, per account.
    public var privileged: [(account: String, entries: [PrivilegedPrincipal])]
  }

  /// `accounts/111122223333/`: the folder of an account's own members.
  public static func accountFolder(_ id: String) -> String { "accounts/\(id)/" }

  /// The member names of `inputs`, in the zip's order (manifest and signature last).
  static func memberNames(_ inputs: Inputs) -> [String] {
    var names = ["README.txt"] + OrganisationReportRenderer.fileNames + ["accounts.csv"]
    for d in inputs.drifts {
      let folder = accountFolder(d.account)
      if d.overall != nil { names += [folder + "drift.json", folder + "drift.html"] }
      for p in d.pairs { names += ["json", "html"].map { folder + HandoffPackage.pairDriftName(p) + "." + $0 } }
    }
    // The OSCAL document last: the other members are zipped while it is still being written.
    names += ["trend.csv", "privileged.csv"] + inputs.registers.map(\.name) + inputs.snapshots.map(\.member)
    names.append("assessment-results.xml")
    if inputs.signingKey != nil { names.append(HandoffPackage.publicKeyName) }
    names.append(HandoffPackage.manifestName)
    if inputs.signingKey != nil { names.append(HandoffPackage.signatureName) }
    return names
  }

  /// Writes the package to `target` (atomically: a temporary zip beside it, renamed into place).
  /// Returns the number of members.
  @discardableResult
  public static func write(_ inputs: Inputs, to target: URL, date: Timestamp, phase: (String) -> Void = { _ in }) throws -> Int {
    let members = Dictionary(inputs.snapshots.map { ($0.id, $0.member) }, uniquingKeysWith: { a, _ in a })
    return try write(inputs, to: target, date: date, phase: phase, snapshotMembers: { members }, complete: { _ in })
  }

  /// ``write(_:to:date:phase:)`` for inputs completed while the report and the OSCAL document are
  /// rendered on other threads: `complete` runs on this thread meanwhile (it fills in the drift, the
  /// registers and the source files, reading the database), and `snapshotMembers` gives the OSCAL
  /// document's thread the member of each snapshot included (it may wait for the files' check).
  @discardableResult
  static func write(
    _ base: Inputs, to target: URL, date: Timestamp, phase: (String) -> Void,
    snapshotMembers: @escaping @Sendable () throws -> [Int: String], complete: (inout Inputs) throws -> Void
  ) throws -> Int {
    let folder = target.deletingLastPathComponent()
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw PackageError(path: folder.path, message: "no such folder")
    }
    let pid = ProcessInfo.processInfo.processIdentifier
    let temporary = folder.appendingPathComponent(".\(target.lastPathComponent).\(pid).tmp")
    let parts = folder.appendingPathComponent(".\(target.lastPathComponent).\(pid).parts")
    try? FileManager.default.removeItem(at: temporary)
    try? FileManager.default.removeItem(at: parts)
    defer { try? FileManager.default.removeItem(at: parts) }
    do {
      try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
      // The report's files and the OSCAL document, rendered into the private folder at the same time
      // (the OSCAL document, every account's snapshots and their population, is the larger).
      let report = parts.appendingPathComponent("report")
      let oscal = parts.appendingPathComponent("assessment-results.xml")
      let (org, templates) = (base.org, base.templates)
      let oscalJob = BackgroundJob {
        let members = try snapshotMembers()
        try writeFile(oscal) { out in try OrganisationOSCAL.write(org, snapshotMembers: members, to: out) }
      }
      let reportJob = BackgroundJob { _ = try OrganisationReportRenderer.write(org, templates: templates, to: report) }
      // Waited for on every path: the jobs write into `parts`, which is removed on the way out.
      defer {
        _ = try? oscalJob.result()
        _ = try? reportJob.result()
      }
      var inputs = base
      try complete(&inputs)
      try reportJob.result()
      phase("report.html, evidence.xml, evidence.xsd and population.csv")

      // The other members are zipped while the OSCAL document is still being written (it comes last).
      let zip = try ZipStream(url: temporary, date: date)
      let names = memberNames(inputs)
      try zip.add("README.txt", bytes: Array(readme(inputs, files: names).utf8))
      for name in OrganisationReportRenderer.fileNames { try zip.add(name, file: report.appendingPathComponent(name)) }
      try zip.add("accounts.csv", bytes: Array(AccountsText.csv(inputs.org.coverage).utf8))
      phase("zip: report files")
      let css = try inputs.templates.stylesheet()
      // Each account's drift files are rendered on other threads a few accounts ahead of the zip.
      let drifts = inputs.drifts
      try pipelined(drifts.count) { i -> [(String, [UInt8])] in
        let d = drifts[i]
        let folder = accountFolder(d.account)
        var files: [(String, [UInt8])] = []
        if let drift = d.overall {
          files.append((folder + "drift.json", Array((JSONWriter.pretty(drift.jsonValue) + "\n").utf8)))
          files.append((folder + "drift.html", DriftHTML.render(drift, stylesheet: css)))
        }
        for drift in d.pairs {
          let name = folder + HandoffPackage.pairDriftName(drift)
          files.append((name + ".json", Array((JSONWriter.pretty(drift.jsonValue) + "\n").utf8)))
          files.append((name + ".html", DriftHTML.render(drift, stylesheet: css)))
        }
        return files
      } consume: { files in
        for (name, bytes) in files { try zip.add(name, bytes: bytes) }
      }
      phase("zip: drift")
      try zip.add("trend.csv", bytes: Array(inputs.org.trends.csv.utf8))
      try zip.add("privileged.csv", bytes: Array(privilegedCSV(inputs.privileged).utf8))
      for r in inputs.registers { try zip.add(r.name, bytes: r.bytes) }
      // The source snapshots are read and checked on other threads a few files ahead of the zip.
      let snapshots = inputs.snapshots
      try pipelined(snapshots.count) { i in
        let s = snapshots[i]
        let read = try ZipStream.read(
          URL(fileURLWithPath: s.path), expectedSHA256: s.sha256, byteCount: s.byteCount, source: "snapshot \(s.id)")
        return (index: i, bytes: read.bytes, sha256: read.sha256)
      } consume: { file in
        try zip.add(snapshots[file.index].member, bytes: file.bytes, sha256: file.sha256)
      }
      phase("zip: source snapshots")
      try oscalJob.result()
      phase("assessment-results.xml")
      try zip.add("assessment-results.xml", file: oscal)
      phase("zip: assessment-results.xml")
      if let key = inputs.signingKey {
        try zip.add(HandoffPackage.publicKeyName, bytes: Array(SigningKeys.publicPEM(key.publicKey).utf8))
      }
      let manifest = Array(zip.hashes.map { "\($0.sha256)  \($0.name)\n" }.joined().utf8)
      try zip.add(HandoffPackage.manifestName, bytes: manifest)
      if let key = inputs.signingKey { try zip.add(HandoffPackage.signatureName, bytes: [UInt8](try key.signature(for: manifest))) }
      precondition(zip.hashes.map(\.name) == names, "the package's members are not those README.txt lists")
      try ReportWriter.moveIntoPlace(temporary, over: target)
      return names.count
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      if let e = error as? PackageError { throw e }
      if let e = error as? RenderError { throw PackageError(path: e.path, message: e.message) }
      if error is WorkflowError || error is ConcurrentValidation.Stopped { throw error }
      if let e = error as? UserFacingError { throw e }
      throw PackageError(path: target.path, message: "cannot write the zip: \(fileErrorReason(error, path: target.path))")
    }
  }

  /// Runs `produce(i)` for each `i` below `count` on other threads, at most `ahead` of them beyond the
  /// one consumed, and hands the results to `consume` in order on this thread (which writes the zip).
  static func pipelined<T: Sendable>(
    _ count: Int, ahead: Int = 2, produce: @escaping @Sendable (Int) throws -> T, consume: (T) throws -> Void
  ) throws {
    var jobs: [Int: BackgroundJob<T>] = [:]
    var started = 0
    // Every job started is waited for, whatever happens here.
    defer { for job in jobs.values { _ = try? job.result() } }
    for i in 0..<count {
      while started < min(count, i + 1 + ahead) {
        let index = started
        jobs[index] = BackgroundJob { try produce(index) }
        started += 1
      }
      let value = try jobs.removeValue(forKey: i)!.result()
      try consume(value)
    }
  }

  /// Writes a file through `body`, a piece at a time.
  static func writeFile(_ url: URL, _ body: (XMLOutput) throws -> Void) throws {
    guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
      throw PackageError(path: url.path, message: "cannot create a temporary file")
    }
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    let sink = RenderSink { try handle.write(contentsOf: Data($0)) }
    try body { try sink.write($0) }
    try sink.flush()
  }

  /// `privileged.csv` of the organisation: the account first, then the columns of one account's
  /// (``CSV/privileged(_:)``), accounts in coverage order.
  static func privilegedCSV(_ registers: [(account: String, entries: [PrivilegedPrincipal])]) -> String {
    var out = ""
    for (i, r) in registers.enumerated() {
      let lines = CSV.privileged(r.entries).split(separator: "\n", omittingEmptySubsequences: false)
      guard let header = lines.first else { continue }
      if i == 0 { out += "account," + header + "\n" }
      for line in lines.dropFirst() where !line.isEmpty { out += r.account + "," + line + "\n" }
    }
    if out.isEmpty { out = "account," + CSV.privileged([]).split(separator: "\n").first.map(String.init)! + "\n" }
    return out
  }

  // MARK: README.txt

  static func readme(_ inputs: Inputs, files: [String]) -> String {
    let org = inputs.org
    let c = org.coverage
    var lines = [
      "IAM Evidence: auditor handoff package of an organisation",
      "=======================================================",
      "",
      "Controls: \(ControlCatalog.bundled.framework) " + c.controls.map { "\($0.id) \($0.title)" }.joined(separator: ", ") + ".",
      "Organisation: \(c.inScope.count) account(s) in scope"
        + (c.scope.map { " (scope file \($0.source))" } ?? " (no scope file: every account selected)")
        + ", \(org.accounts.count) with evidence, \(c.coverageGaps.count) coverage gap(s), \(c.outOfScope.count) out of scope (left out of the verdict).",
      "Period: \(org.periodDescription)",
    ]
    let period = org.periodVerdicts
    lines.append("The organisation's verdicts (accounts in scope; not effective when any is, no-evidence when any has none):")
    for (i, v) in c.organisation.enumerated() {
      var line = "  \(v.control.id) \(v.control.title): \(v.verdict.rawValue) on the latest state"
      if let p = period?[i] { line += ", \(p.verdict.rawValue) over the period" }
      let behind = [CoverageVerdict.notEffective, .noEvidence, .error].compactMap { verdict -> String? in
        let ids = v.accounts[verdict] ?? []
        return ids.isEmpty ? nil : "\(verdict.rawValue): \(ids.joined(separator: ", "))"
      }
      lines.append(line + (behind.isEmpty ? "." : " (" + behind.joined(separator: "; ") + ")."))
    }
    if c.coverageGaps.isEmpty {
      lines.append("Coverage gaps: none (every account in scope has a snapshot in the period).")
    } else {
      lines.append("Coverage gaps (in scope, no snapshot in the period: no evidence on every control):")
      for r in c.coverageGaps { lines.append("  \(r.label)" + (r.owner.map { ", owner \($0)" } ?? "")) }
    }
    lines.append("Accounts (accounts.csv lists every one with its counts and gaps):")
    for r in c.rows {
      let latest = r.latest.map { "latest snapshot \($0.id) captured \($0.capturedAt)" } ?? "no snapshot in the period"
      var line = "  \(r.label)\(r.inScope ? "" : " (out of scope)"): \(r.snapshots.count) snapshot(s), \(latest)"
      if r.inScope, !r.isCoverageGap { line += "; " + r.verdicts.map { "\($0.control.id) \($0.verdict.rawValue)" }.joined(separator: ", ") }
      if let a = org.evidence(of: r.account) {
        if a.model.isPeriod {
          line += "; over the period " + a.model.periodVerdicts.map { "\($0.control.id) \($0.verdict.rawValue)" }.joined(separator: ", ")
        }
        line += "; document \(a.model.documentID)"
      }
      lines.append(line)
    }
    lines += [
      "Generated at \(org.generatedAt) by \(org.toolBuild.description).",
      "Document \(org.documentID) (report.html, evidence.xml and assessment-results.xml carry the same id; SHA-256 of the evidence it states: \(org.evidenceDigest)).",
    ]
    if let omitted = inputs.omittedSnapshots {
      if !omitted.isEmpty {
        lines.append("Source snapshots not included (the SHA-256 of each is in report.html's chains of custody):")
        lines += omitted.map { "  snapshot \($0.id): \($0.reason)" }
      }
    } else {
      lines.append("Source snapshots: not included (--no-snapshots); their SHA-256 is in report.html's chains of custody.")
    }
    lines += ["", "Scope and limitations", "---------------------"] + org.scopeStatement.lines
    for a in org.accounts {
      let m = a.model
      lines += ["", "Account \(a.label)", String(repeating: "-", count: 8 + a.label.count)]
      if let head = m.ledger.latest {
        lines.append("Ledger chain head: \(head.head) (entry \(head.entry) of the database's hash chain over this account's snapshots).")
      }
      lines += HandoffPackage.verdictLines(m)
      lines.append(
        "Provenance of its snapshots (confirm each capture in CloudTrail: the GetAccountAuthorizationDetails event of the caller ARN at the capture time):"
      )
      lines += Array(HandoffPackage.provenanceLines(m).dropFirst(4))
      lines.append("Access reviews:")
      lines += Array(HandoffPackage.reviewLines(m).dropFirst(3))
    }
    let describe: [String: String] = [
      "README.txt": "this file",
      "report.html":
        "the audit report for people: page 1 gives the organisation's verdict per control and the accounts in scope that are not effective or have no evidence; then the coverage of every account, the accounts ranked by open findings, the organisation's trend, scope and limitations, one section per account with its own report (findings, privileged access register, access reviews, exceptions, trend, population, chain of custody), methodology, sign-off",
      "evidence.xml":
        "the canonical machine-readable evidence: the coverage and the organisation's verdicts, then one evidence element per account with evidence, as iam-evidence report --account writes it; valid against evidence.xsd",
      "evidence.xsd": "the XML Schema of evidence.xml (xmllint --noout --schema evidence.xsd evidence.xml)",
      ReportRenderer.populationCSVName:
        "the whole population of every account's latest snapshot, one row per result (passes included), the account first; report.html names its rows where it lists a check's population only as counts",
      "accounts.csv":
        "one row per account selected, in scope or not: snapshots in the period, latest snapshot, verdict per control, counts, privileged identities, coverage gaps (as iam-evidence accounts --format csv)",
      "assessment-results.xml":
        "the same assessment as NIST OSCAL 1.0.6 assessment-results: the organisation's result (coverage, one finding per control), then each account's results, the account as subject",
      "trend.csv": "results per account, snapshot and check over the period, for spreadsheets",
      "privileged.csv": "the privileged access register of every snapshot of the period, per account, for spreadsheets",
      "exceptions.json": "the exceptions register the assessments applied",
      HandoffPackage.publicKeyName:
        "the Ed25519 public key that signed the manifest; do not trust it because it is here: compare its fingerprint with the one the sender gave you through another channel",
      HandoffPackage.manifestName: "SHA-256 of every other file except the signature (sha256sum format)",
      HandoffPackage.signatureName: "Ed25519 signature of MANIFEST.sha256",
    ]
    lines += ["", "Files", "-----"]
    for name in files where !name.hasPrefix("accounts/") && !name.hasPrefix("snapshots/") {
      lines.append("  \(name): \(describe[name] ?? "")")
    }
    if files.contains(where: { $0.hasPrefix("accounts/") }) {
      lines += [
        "  accounts/<id>/drift.json, drift.html: what changed in the account over the period, from the state at its start (the last snapshot before it, else its first) to its last snapshot (JSON; the same for people)",
        "  accounts/<id>/drift/NNNN-MMMM.json, .html: what changed between each consecutive pair of its snapshots",
      ]
      if inputs.registers.contains(where: { $0.name.hasPrefix("accounts/") }) {
        lines.append("  accounts/<id>/exceptions.json: the exceptions register the account's assessment applied")
      }
    }
    if !inputs.snapshots.isEmpty {
      lines.append(
        "  snapshots/NNNN-<file>: each source snapshot exactly as ingested (its SHA-256 is in report.html's chain of custody of its account and in assessment-results.xml)"
      )
    }
    lines += HandoffPackage.verificationSteps(signed: inputs.signingKey != nil)
    return lines.joined(separator: "\n") + "\n"
  }
}

/// A zip written one member at a time, with the fixed dates, permissions and order a package needs;
/// each member's SHA-256 is computed as it goes in.
final class ZipStream {
  private let archive: Archive
  private let date: Date
  /// The members written so far, with their SHA-256.
  private(set) var hashes: [(name: String, sha256: String)] = []

  init(url: URL, date: Timestamp) throws {
    archive = try Archive(url: url, accessMode: .create)
    self.date = Date(timeIntervalSince1970: TimeInterval(max(date.epochSeconds, 315_532_800)))  // zip dates start in 1980
  }

  func add(_ name: String, bytes: [UInt8]) throws {
    try add(name, bytes: bytes, sha256: SHA256.hash(data: bytes).hexString)
  }

  /// Adds `bytes`, whose SHA-256 the caller computed.
  func add(_ name: String, bytes: [UInt8], sha256: String) throws {
    let data = Data(bytes)
    try archive.addEntry(
      with: name, type: .file, uncompressedSize: Int64(data.count), modificationDate: date, permissions: 0o644, compressionMethod: .deflate
    ) { position, size in
      data.subdata(in: Int(position)..<Int(position) + size)
    }
    hashes.append((name, sha256))
  }

  /// The bytes of the file at `file` and their SHA-256, which must be `expectedSHA256` (else the
  /// package fails, naming `source`); a file of another size than `byteCount` is refused unread.
  static func read(
    _ file: URL, expectedSHA256: String, byteCount: Int, source: String
  ) throws -> (bytes: [UInt8], sha256: String) {
    // Opened without waiting (a FIFO swapped in for the file since its SHA-256 was checked is refused).
    let handle: FileHandle
    let size: Int
    do { (handle, size) = try InputFile.regularFileHandle(path: file.path) } catch {
      throw PackageError(path: file.path, message: "cannot read \(source)'s file: \(IngestSource.message(error, standardInput: false))")
    }
    defer { try? handle.close() }
    guard size == byteCount else {
      throw PackageError(path: file.path, message: "differs from what was ingested as \(source) (\(size) bytes, not \(byteCount))")
    }
    let bytes = [UInt8](try handle.read(upToCount: byteCount) ?? Data())
    let sha = SHA256.hash(data: bytes).hexString
    guard bytes.count == byteCount, sha == expectedSHA256 else {
      throw PackageError(path: file.path, message: "differs from what was ingested as \(source) (SHA-256 mismatch)")
    }
    return (bytes, sha)
  }

  /// Adds the file at `file`, read a block at a time; with `expectedSHA256`, a file whose bytes no
  /// longer have it fails the package (`source` names it).
  func add(_ name: String, file: URL, expectedSHA256: String? = nil, source: String? = nil) throws {
    let handle: FileHandle
    do { handle = try FileHandle(forReadingFrom: file) } catch {
      throw PackageError(
        path: file.path, message: "cannot read\(source.map { " \($0)'s file" } ?? ""): \(fileErrorReason(error, path: file.path))")
    }
    defer { try? handle.close() }
    let size = try handle.seekToEnd()
    try handle.seek(toOffset: 0)
    var hasher = SHA256()
    var read: UInt64 = 0
    try archive.addEntry(
      with: name, type: .file, uncompressedSize: Int64(size), modificationDate: date, permissions: 0o644, compressionMethod: .deflate,
      bufferSize: 1 << 18
    ) { position, count in
      guard UInt64(position) == read else { throw PackageError(path: file.path, message: "read out of order") }
      let data = try handle.read(upToCount: count) ?? Data()
      guard data.count == count else { throw PackageError(path: file.path, message: "the file shrank while it was being read") }
      hasher.update(data: data)
      read += UInt64(count)
      return data
    }
    let sha = hasher.finalize().hexString
    if let expectedSHA256, sha != expectedSHA256 {
      throw PackageError(path: file.path, message: "differs from what was ingested as \(source ?? "the snapshot") (SHA-256 mismatch)")
    }
    hashes.append((name, sha))
  }
}
