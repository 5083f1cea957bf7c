import Crypto
import Foundation

extension EvidenceWorkflow {
  /// The evidence of an organisation (`report --accounts`, `package --accounts`): the coverage of the
  /// accounts `selection` names (``AccountSelection/resolve(database:scope:path:)``; with `all` and a
  /// scope file, every account of both) over [from, to] (both nil: each account's latest snapshot),
  /// and, for each account in scope with a snapshot there, its evidence exactly as `report --account`
  /// gathers it (``evidence(scope:account:generatedAt:capabilities:)``: integrity check, period
  /// verdicts, every finding of the period, privileged-access register, reviews, provenance) and its
  /// trend. The organisation's verdict rolls up the accounts in scope selected
  /// (``AccountCoverage/build(_:scope:from:to:cadenceDays:checks:catalog:)``). One read transaction.
  public func organisationEvidence(
    accounts selection: AccountSelection, scope: AccountScope?, from: Timestamp?, to: Timestamp?, generatedAt: Timestamp,
    cadenceDays: Int = 31, capabilities: CapabilityMap = .catalog
  ) throws -> OrganisationEvidence {
    guard (from == nil) == (to == nil) else {
      throw WorkflowError(path: nil, message: "a period needs both its start and its end (--from and --to)")
    }
    return try store.consistentRead {
      let ids = try selection.resolve(database: try store.accounts(), scope: scope, path: store.path)
      let selected = Set(ids)
      // The scope restricted to the accounts selected: one not selected is neither listed nor judged.
      let selectedScope = scope.map { AccountScope(accounts: $0.accounts.filter { selected.contains($0.id) }, source: $0.source) }
      let coverage = AccountCoverage.build(
        try accountRecords(from: from, to: to, capabilities: capabilities, only: selected), scope: selectedScope, from: from, to: to,
        cadenceDays: cadenceDays)
      var accounts: [AccountEvidence] = []
      var trends: [AccountTrend] = []
      for row in coverage.rows {
        let trend = try trendReport(account: row.account, from: from, to: to, cadenceDays: cadenceDays)
        trends.append(AccountTrend(account: row.account, name: row.name, inScope: row.inScope, report: trend))
        guard row.inScope, !row.snapshots.isEmpty else { continue }
        let reportScope: ReportScope = from.flatMap { f in to.map { .period(from: f, to: $0) } } ?? .snapshot("latest")
        let model = try evidence(scope: reportScope, account: row.account, generatedAt: generatedAt, capabilities: capabilities)
        accounts.append(AccountEvidence(row: row, model: model, trend: trend))
      }
      return OrganisationEvidence(
        coverage: coverage, accounts: accounts, periodFrom: from, periodTo: to, generatedAt: generatedAt,
        trends: OrganisationTrend(from: from, to: to, cadenceDays: cadenceDays, accounts: trends))
    }
  }
}

/// What `package --accounts` is asked to put together.
public struct OrganisationPackageRequest {
  public var accounts: AccountSelection
  public var scope: AccountScope?
  public var from: Timestamp
  public var to: Timestamp
  /// The register to assess every account's period with and to include; nil keeps the assessments.
  public var register: ExceptionRegister?
  /// Include the source snapshot files (those that cannot be are left out and README.txt says why,
  /// unless ``requireSnapshots``).
  public var includeSnapshots: Bool
  public var requireSnapshots = false
  public var signingKey: Curve25519SigningKey?
  public var templates: TemplateSet
  public var generatedAt: Timestamp
  public var cadenceDays: Int
  /// Refuse a ``generatedAt`` earlier than the latest ingest time of the snapshots it states.
  public var refuseBackdating = false

  public init(
    accounts: AccountSelection, scope: AccountScope?, from: Timestamp, to: Timestamp, register: ExceptionRegister?,
    includeSnapshots: Bool, signingKey: Curve25519SigningKey?, templates: TemplateSet, generatedAt: Timestamp, cadenceDays: Int
  ) {
    self.accounts = accounts
    self.scope = scope
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

/// What a written organisation package holds.
public struct OrganisationPackageSummary {
  /// The number of members of the zip.
  public var files: Int
  /// The number of snapshots the evidence states (each account's state at the period's start included).
  public var snapshots: Int
  public var evidence: OrganisationEvidence
}

extension EvidenceWorkflow {
  /// Builds the handoff package of an organisation over a period and writes it to `out`
  /// (``OrganisationPackage``): assesses the snapshots of the accounts in scope selected as
  /// ``ensureAssessed(_:register:checks:now:)`` says (the state at each one's period start included),
  /// gathers the organisation's evidence (``organisationEvidence(accounts:scope:from:to:generatedAt:cadenceDays:capabilities:)``),
  /// each account's drift over the period and between each consecutive pair of its snapshots, its
  /// privileged-access registers and source files, and writes the zip.
  public func organisationPackage(
    _ request: OrganisationPackageRequest, to out: URL, now: () -> Timestamp, phase: (String) -> Void = { _ in }
  ) throws -> OrganisationPackageSummary {
    // The snapshots each account in scope selected brings: those of the period and the one before it.
    let ids = try request.accounts.resolve(database: try store.accounts(), scope: request.scope, path: store.path)
    var series: [String: [SnapshotRecord]] = [:]
    for id in ids where request.scope?.contains(id) ?? true {
      let all = try store.snapshots(account: id)
      let inPeriod = all.filter { $0.capturedAt >= request.from && $0.capturedAt <= request.to }
      guard let first = inPeriod.first else { continue }
      let start = first.capturedAt > request.from ? all.last { $0.capturedAt < request.from } : nil
      series[id] = (start.map { [$0] } ?? []) + inPeriod
    }
    let stated = series.keys.sorted().flatMap { series[$0]! }
    if request.refuseBackdating { try Self.requireGeneratedAt(request.generatedAt, notBeforeIngestOf: stated) }
    let registerBytes = try request.register.flatMap { _ in try ensureAssessed(stated, register: request.register, now: now) }
    if request.register == nil {
      for id in series.keys.sorted() { _ = try ensureAssessed(series[id]!, register: nil, now: now) }
    }
    phase("snapshots selected and assessed")
    let org = try organisationEvidence(
      accounts: request.accounts, scope: request.scope, from: request.from, to: request.to, generatedAt: request.generatedAt,
      cadenceDays: request.cadenceDays)
    phase("evidence of \(org.accounts.count) accounts gathered")
    // The source files are read and hashed on another thread while the drift is computed here (and
    // the report and the OSCAL document are rendered on two more).
    let accountSeries = org.accounts.map { a in (a.model.periodStart.map { [$0] } ?? []) + a.model.snapshots }
    let (include, required) = (request.includeSnapshots, request.requireSnapshots)
    let sourceJob = BackgroundJob { () throws -> SourceFiles in
      var checked = SourceFiles()
      guard include else { return checked }
      for s in accountSeries {
        let c = try Self.checkSourceFiles(of: s, required: required)
        checked.files += c.files
        checked.omitted += c.omitted
      }
      return checked
    }
    defer { _ = try? sourceJob.result() }
    let base = OrganisationPackage.Inputs(
      org: org, drifts: [], registers: [], snapshots: [], omittedSnapshots: nil, signingKey: request.signingKey,
      templates: request.templates, privileged: [])
    let files = try OrganisationPackage.write(
      base, to: out, date: request.generatedAt, phase: phase,
      snapshotMembers: { Dictionary(try sourceJob.result().files.map { ($0.id, $0.member) }, uniquingKeysWith: { a, _ in a }) }
    ) { inputs in
      for (a, s) in zip(org.accounts, accountSeries) {
        let (overall, pairs) = try periodDrifts(s)
        inputs.drifts.append(OrganisationPackage.AccountDrifts(account: a.account, overall: overall, pairs: pairs))
        inputs.privileged.append(
          (
            a.account,
            try privilegedHistory(through: a.model.current, registersOf: Set(a.model.snapshots.map(\.id))).registers.flatMap(\.entries)
          ))
      }
      let checked = try sourceJob.result()
      inputs.snapshots = checked.files
      inputs.omittedSnapshots = request.includeSnapshots ? checked.omitted : nil
      phase("drift, privileged registers and source files of each account")
      // One register for all (the usual case) is exceptions.json; else each account's beside its drift.
      if let registerBytes {
        inputs.registers = [("exceptions.json", registerBytes)]
      } else {
        let applied = org.accounts.compactMap { a in
          a.model.assessment.flatMap { $0.exceptionsContent.isEmpty ? nil : (a.account, Array($0.exceptionsContent.utf8)) }
        }
        if Set(applied.map(\.1)).count == 1 {
          inputs.registers = [("exceptions.json", applied[0].1)]
        } else {
          inputs.registers = applied.map { (OrganisationPackage.accountFolder($0.0) + "exceptions.json", $0.1) }
        }
      }
    }
    return OrganisationPackageSummary(files: files, snapshots: org.snapshots.count, evidence: org)
  }

  /// The drift over a series of one account's snapshots (oldest first, each assessed): from the first
  /// to the last, and between each consecutive pair (``consecutiveDrifts(_:capabilities:)``); with two
  /// snapshots the two are the same comparison, computed once.
  public func periodDrifts(
    _ series: [SnapshotRecord], capabilities: CapabilityMap = .catalog
  ) throws -> (overall: DriftReport?, pairs: [DriftReport]) {
    guard series.count > 1 else { return (nil, []) }
    let (pairs, overall) = try seriesDrifts(series, overall: true, capabilities: capabilities)
    return (overall ?? pairs.first, pairs)
  }

  /// Source files checked for a package, and those left out with why.
  struct SourceFiles: Sendable {
    var files: [OrganisationPackage.SourceFile] = []
    var omitted: [(id: Int, reason: String)] = []
  }

  /// The source files of `snapshots` that can be included: readable where they were ingested, of the
  /// size and SHA-256 recorded then (read once here to know; the package reads them again and checks
  /// again). One that cannot be is an error when `required`, else left out with the reason.
  static func checkSourceFiles(
    of snapshots: [SnapshotRecord], required: Bool
  ) throws(WorkflowError) -> (files: [OrganisationPackage.SourceFile], omitted: [(id: Int, reason: String)]) {
    var files: [OrganisationPackage.SourceFile] = []
    var omitted: [(id: Int, reason: String)] = []
    for s in snapshots {
      let member = "snapshots/" + memberName(id: s.id, sourceName: s.sourceName)
      guard s.sourceName != "-", let sha = Self.sha256(ofFile: s.sourceName) else {
        let reason =
          s.sourceName == "-"
          ? "it was ingested from standard input, so there is no file to read back"
          : "its source file \(s.sourceName) is not readable here"
        if required {
          throw WorkflowError(path: s.sourceName, message: "snapshot \(s.id)'s source file is not readable here; it cannot be included")
        }
        omitted.append((s.id, reason))
        continue
      }
      guard sha == s.sha256 else {
        if required {
          throw WorkflowError(path: s.sourceName, message: "differs from what was ingested as snapshot \(s.id) (SHA-256 mismatch)")
        }
        omitted.append((s.id, "its source file \(s.sourceName) differs from what was ingested (SHA-256 mismatch)"))
        continue
      }
      files.append(.init(id: s.id, member: member, path: s.sourceName, sha256: sha, byteCount: s.byteSize))
    }
    return (files, omitted)
  }

  /// The SHA-256 of the regular file at `path`, read a block at a time; nil when it cannot be read.
  static func sha256(ofFile path: String) -> String? {
    // A regular file only, checked on the open descriptor: a FIFO or a device named by a hand-edited
    // source name, or swapped in for it, is never waited on or read.
    guard let (handle, _) = try? InputFile.regularFileHandle(path: path) else { return nil }
    defer { try? handle.close() }
    var hasher = SHA256()
    // Foundation answers nil (or empty data) at the end of the file; only a thrown error is a failure.
    while true {
      let chunk: Data?
      do { chunk = try handle.read(upToCount: 1 << 20) } catch { return nil }
      guard let data = chunk, !data.isEmpty else { break }
      hasher.update(data: data)
    }
    return hasher.finalize().hexString
  }
}
