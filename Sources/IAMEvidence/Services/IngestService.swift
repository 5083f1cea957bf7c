import Dispatch
import Foundation

/// Options of one ingest.
public struct IngestOptions: Sendable {
  public var account: String?
  public var capturedAt: Timestamp?
  public var label: String?
  public var allowTruncated: Bool
  /// The ingest time (injected so tests are deterministic).
  public var now: Timestamp
  /// Who takes and loads the snapshot, where, with which build (`--operator`, `--caller-identity`,
  /// the host and OS user, the tool's build), recorded with each new snapshot; injected, so tests and
  /// goldens are deterministic. Its caller identity's account must be the snapshot's: a snapshot of
  /// another account is refused, nothing written. Nil records none.
  public var provenance: SnapshotProvenance?
  /// Called once the snapshot's SHA-256 is known, before it is decoded: tests change the file there
  /// to prove that what is decoded is what was hashed.
  var afterHashing: (@Sendable () -> Void)?

  public init(
    account: String? = nil, capturedAt: Timestamp? = nil, label: String? = nil, allowTruncated: Bool = false, now: Timestamp,
    provenance: SnapshotProvenance? = nil
  ) {
    self.provenance = provenance
    self.account = account
    self.capturedAt = capturedAt
    self.label = label
    self.allowTruncated = allowTruncated
    self.now = now
  }
}

/// The snapshot handed to the assessment running on another thread, and what that assessment
/// gives: each check's results as it is done (taken by the thread that stores them, in the order of
/// the checks, waiting for those not done yet), the counts, and at the end the stale exceptions.
private final class PendingAssessment: @unchecked Sendable {
  /// Left when the assessment is done.
  let done = DispatchGroup()
  var snapshot: AuthorizationSnapshot?
  private let condition = NSCondition()
  private var results: [[CheckResult]?]
  private var counts: [String: StatusCounts] = [:]
  private var count = 0
  private var stale: [PolicyException]?

  init(checks: Int) { results = Array(repeating: nil, count: checks) }

  func takeSnapshot() -> AuthorizationSnapshot {
    defer { snapshot = nil }
    return snapshot!
  }

  /// The results of check `index`, final.
  func put(_ index: Int, _ delivered: [CheckResult]) {
    var mine = StatusCounts()
    delivered.withUnsafeBufferPointer { for i in $0.indices { mine[$0[i].status] += 1 } }
    condition.lock()
    defer { condition.unlock() }
    results[index] = delivered
    if let id = delivered.first?.checkID { counts[id] = mine }
    count += delivered.count
    condition.broadcast()
  }

  /// Every check has run.
  func finish(stale: [PolicyException]) {
    condition.lock()
    defer { condition.unlock() }
    self.stale = stale
    condition.broadcast()
  }

  /// The results of check `index`, waiting for them; they are handed over once.
  func take(_ index: Int) -> [CheckResult] {
    condition.lock()
    defer { condition.unlock() }
    while results[index] == nil { condition.wait() }
    defer { results[index] = [] }
    return results[index]!
  }

  /// The results of check `index` when it is done, else nil.
  func poll(_ index: Int) -> [CheckResult]? {
    condition.lock()
    defer { condition.unlock() }
    guard let ready = results[index] else { return nil }
    results[index] = []
    return ready
  }

  /// The summary, once the assessment is done.
  func summary() -> AssessmentSummary {
    condition.lock()
    defer { condition.unlock() }
    while stale == nil { condition.wait() }
    return AssessmentSummary(counts: counts, resultCount: count, staleExceptions: stale!)
  }
}

extension EvidenceWorkflow {
  /// Decodes and stores one snapshot in a single transaction: on any error nothing of it remains.
  public func ingest(_ source: IngestSource, options: IngestOptions, progress: ((IngestProgress) -> Void)? = nil) throws -> IngestOutcome {
    try ingest(source, options: options, progress: progress, beforeWriting: nil)
  }

  /// Ingests `source` and, when it is new, assesses it with every check and stores the results (two
  /// transactions, as ``ingest(_:options:progress:)`` then ``assess(snapshotID:register:checks:now:phase:)``).
  /// When the same bytes were ingested before but that snapshot has no results (its ingest was
  /// killed between the two transactions), it is assessed now: the outcome is `alreadyIngested`
  /// with an assessment.
  /// The checks run on other cores while the snapshot is being written: they need only the decoded
  /// snapshot. Meanwhile a second connection copies the snapshot's pages from the WAL into the
  /// database file, rather than this one at the commit.
  public func ingestAndAssess(
    _ source: IngestSource, options: IngestOptions, register: ExceptionRegister = .empty,
    checks: [any Check] = CheckCatalog.all, progress: ((IngestProgress) -> Void)? = nil,
    phase: ((AssessPhase) -> Void)? = nil
  ) throws -> (outcome: IngestOutcome, assessment: AssessmentSummary?) {
    // The action catalog (every AWS action, about 30 ms to load) is loaded on another core while this
    // one hashes and decodes the file, instead of first thing on the checks' critical path.
    // (Measured on the 5 MB benchmark input: the wait for the checks after the snapshot is written
    // drops from about 67 to 53 ms.)
    DispatchQueue.global().async { _ = ActionCatalog.bundled }
    let pending = PendingAssessment(checks: checks.count)
    // However the ingest ends, the background assessment is waited for before returning.
    defer { pending.done.wait() }
    try store.setAutomaticCheckpoints(false)
    defer { try? store.setAutomaticCheckpoints(true) }
    let checkpoint = DispatchGroup()
    defer { checkpoint.wait() }
    let outcome = try ingest(source, options: options, progress: progress) { snapshot, capturedAt, account in
      pending.done.enter()
      // Handed over through the box so that the assessment holds the only other reference: once the
      // writer is done, the document texts the checks do not need are freed (see CheckContext).
      pending.snapshot = snapshot
      DispatchQueue.global().async {
        let stale = Assessor.assess(
          pending.takeSnapshot(), capturedAt: capturedAt, account: account, register: register, checks: checks,
          evaluator: KMSPolicyEvaluator(), engine: PolicyEngine(), evaluated: nil, deliver: pending.put)
        pending.finish(stale: stale)
        pending.done.leave()
      }
    }
    guard case .ingested(let record) = outcome else {
      guard case .alreadyIngested(let existing) = outcome, !(try store.isAssessed(snapshotID: existing.id)) else { return (outcome, nil) }
      let assessment = try assess(snapshotID: existing.id, register: register, checks: checks, now: options.now, phase: phase)
      return (outcome, AssessmentSummary(assessment))
    }
    checkpoint.enter()
    DispatchQueue.global().async { [path = store.path] in
      EvidenceStore.checkpointPassively(path: path)
      checkpoint.leave()
    }
    // Each check's results are stored as soon as it is done, while the others still run.
    try store.insertAssessment(
      newAssessment(snapshotID: record.id, register: register, checks: checks, now: options.now, stale: []),
      from: AssessmentResults(
        take: pending.take, poll: pending.poll, staleExceptions: { pending.summary().staleExceptions.map(\.id) },
        allTaken: { phase?(.checked) }))
    phase?(.stored)
    return (outcome, pending.summary())
  }

  /// Hash, decode and store; `beforeWriting` gets the decoded snapshot, its capture time and its
  /// account just before the transaction that stores it.
  private func ingest(
    _ source: IngestSource, options: IngestOptions, progress: ((IngestProgress) -> Void)?,
    beforeWriting: ((AuthorizationSnapshot, Timestamp, String) -> Void)?
  ) throws -> IngestOutcome {
    // Hashed as it was read, and decoded from the same private bytes: another process that rewrites
    // the file now changes neither.
    let sha = source.contents.sha256
    options.afterHashing?()
    if let existing = try store.snapshot(sha256: sha) {
      try Self.requireCallerAccount(options.provenance, account: existing.account, source: source)
      return .alreadyIngested(existing)
    }
    progress?(.hashed)
    if source.contents.buffer.isEmpty {
      throw WorkflowError(path: source.name, message: "$: empty file, expected a JSON object")
    }
    let snapshot = try SnapshotDecoder(sourceName: source.name).decode(
      buffer: source.contents.buffer, consumed: source.contents.discard(upTo:))
    progress?(.decoded(principals: snapshot.principals.count, policies: snapshot.managedPolicies.count))
    if snapshot.isTruncated && !options.allowTruncated {
      throw WorkflowError(
        path: source.name,
        message:
          "$.IsTruncated: the export is incomplete (IsTruncated is true); merge all pages, or pass --allow-truncated to store it flagged as incomplete"
      )
    }
    let account = try Self.account(of: snapshot, source: source, option: options.account)
    let (capturedAt, capturedSource): (Timestamp, CapturedAtSource) =
      if let t = options.capturedAt { (t, .option) } else if let m = source.modificationTime {
        (m, .fileModificationTime)
      } else { (options.now, .ingestTime) }
    try Self.requireCallerAccount(options.provenance, account: account, source: source)
    beforeWriting?(snapshot, capturedAt, account)
    let outcome = try store.insertSnapshot(
      snapshot,
      NewSnapshot(
        account: account, capturedAt: capturedAt, capturedAtSource: capturedSource, ingestedAt: options.now, sourceName: source.name,
        byteSize: source.contents.buffer.count, sha256: sha, label: options.label, provenance: options.provenance),
      progress: progress)
    if case .ingested = outcome { progress?(.committed) }
    return outcome
  }

  /// Refuses a caller identity of another account than the snapshot's: the identity that took an
  /// export is one of the account exported (`aws sts get-caller-identity` with the same credentials).
  /// A folder of several accounts' exports stops at the first file of another account.
  static func requireCallerAccount(_ provenance: SnapshotProvenance?, account: String, source: IngestSource) throws(WorkflowError) {
    guard let caller = provenance?.callerIdentity, caller.account != account else { return }
    throw WorkflowError(
      path: caller.source,
      message:
        "$.Account: the caller identity is of account \(caller.account), but \(source.name) is an export of account \(account); nothing of it was written. A caller identity names who took the exports of its own account: ingest each account's exports with its own --caller-identity"
    )
  }

  /// The account that owns `snapshot`: the one its ARNs name, or `--account` (which must be one of
  /// them when they name any).
  static func account(of snapshot: AuthorizationSnapshot, source: IngestSource, option: String?) throws(WorkflowError) -> String {
    let found = snapshot.accountIDs.sorted()
    if let option {
      guard AccountID.isValid(option) else {
        throw WorkflowError(path: source.name, message: "--account must be a 12-digit AWS account id, got \"\(option)\"")
      }
      // A hand-edited export may mix in a few ARNs of another account; --account picks the owner,
      // but it must be one of the accounts the ARNs name.
      if !found.isEmpty && !found.contains(option) {
        throw WorkflowError(
          path: source.name, message: "$: ARNs name account \(found.joined(separator: ", ")), not the --account \(option)")
      }
      return option
    }
    switch found.count {
    case 1: return found[0]
    case 0:
      throw WorkflowError(path: source.name, message: "$: no account id in any ARN (empty snapshot?); pass --account")
    default:
      throw WorkflowError(
        path: source.name,
        message: "$: ARNs name several accounts (\(found.joined(separator: ", "))); pass --account to say which one owns the snapshot")
    }
  }
}

extension IngestSource {
  /// The snapshot files that PATH arguments name, in argument order: `-` (standard input) as is, a
  /// file as is, a directory's `*.json` files (not `*.truth.json`, nor `*.caller.json`: the output of
  /// `aws sts get-caller-identity` kept beside an export) in name order. A folder's entry
  /// that is not a regular file (a FIFO, a device, a socket, a folder) is refused, naming it, before
  /// anything is read: it would hang or never end.
  public static func expand(_ paths: [String]) throws(WorkflowError) -> [String] {
    var result: [String] = []
    for path in paths {
      if path == "-" {
        result.append(path)
        continue
      }
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw WorkflowError(path: path, message: "no such file or directory")
      }
      if isDirectory.boolValue {
        let names: [String]
        do {
          names = try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(".json") && !$0.hasSuffix(".truth.json") && !$0.hasSuffix(".caller.json") }
            .sorted()
        } catch {
          throw WorkflowError(path: path, message: "cannot read the directory: \(fileErrorReason(error, path: path))")
        }
        if names.isEmpty { throw WorkflowError(path: path, message: "directory holds no *.json snapshot") }
        let files = names.map { (path as NSString).appendingPathComponent($0) }
        for file in files {
          if let kind = InputFile.nonRegularKind(path: file) {
            throw WorkflowError(path: file, message: "not a regular file (\(kind)); only regular files are read from a folder")
          }
        }
        result += files
      } else {
        result.append(path)
      }
    }
    return result
  }

  /// The snapshot at `path` (`-`: standard input, read to its end), read into private memory and
  /// hashed as it is read (``InputFile``): at most ``InputFile/maximumBytes``, a named file must be
  /// a regular one, and one whose size changes while it is read is refused.
  public static func load(path: String) throws(WorkflowError) -> IngestSource {
    try load(path: path, limit: InputFile.maximumBytes, afterChunk: nil)
  }

  /// ``load(path:)`` with another size limit, and `afterChunk` told the bytes read so far after each
  /// chunk (tests change the file there).
  static func load(path: String, limit: Int, afterChunk: ((Int) -> Void)?) throws(WorkflowError) -> IngestSource {
    if path == "-" {
      do {
        return IngestSource(name: "-", contents: try InputFile.readStandardInput(limit: limit), modificationTime: nil)
      } catch {
        throw WorkflowError(path: "-", message: message(error, standardInput: true))
      }
    }
    do {
      let (bytes, mtime) = try InputFile.read(path: path, limit: limit, afterChunk: afterChunk)
      return IngestSource(name: path, contents: bytes, modificationTime: mtime.map { Timestamp(epochSeconds: $0) })
    } catch {
      throw WorkflowError(path: path, message: message(error, standardInput: false))
    }
  }

  static func message(_ error: InputFileError, standardInput: Bool) -> String {
    switch error {
    case .cannotOpen(let reason): return "cannot read the file: \(reason)"
    case .notARegularFile(let kind): return "not a regular file (\(kind)); name a regular file, or - for standard input"
    case .tooLarge(let limit):
      return (standardInput ? "standard input exceeds" : "the file exceeds") + " the maximum snapshot size of \(byteCount(limit))"
    case .changedWhileReading(let expected, let read):
      return
        "the file \(read < expected ? "shrank" : "grew") while it was being read (\(read) bytes read, \(expected) expected); ingest it again once nothing writes to it"
    case .readFailed(let reason): return "cannot read \(standardInput ? "standard input" : "the file"): \(reason)"
    case .cannotCopy(let folder, let reason):
      return "cannot keep a private copy of the input in \(folder): \(reason) (set TMPDIR to a folder with room)"
    }
  }

  /// `2 GiB`, `512 KiB` or `1000 bytes`.
  static func byteCount(_ n: Int) -> String {
    for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where n >= size && n % size == 0 {
      return "\(n / size) \(unit)"
    }
    return "\(n) bytes"
  }
}
