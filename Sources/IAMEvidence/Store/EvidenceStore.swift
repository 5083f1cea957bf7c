import Crypto
import Dispatch
import Foundation
import SQLiteDB

/// An error of the store layer, naming the database file.
public struct StoreError: Error, Sendable, CustomStringConvertible {
  public var path: String
  public var message: String

  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }

  public var description: String { "\(path): \(message)" }
}

/// How the captured-at time of a snapshot was determined.
public enum CapturedAtSource: String, Sendable, Codable {
  /// Given with `--captured-at`.
  case option
  /// The snapshot file's modification time.
  case fileModificationTime = "file-mtime"
  /// Standard input has no file time: the ingest time stands in.
  case ingestTime = "ingest-time"
}

/// One stored snapshot, as listed by `iam-evidence snapshots`.
public struct SnapshotRecord: Sendable, Hashable {
  public var id: Int
  public var account: String
  public var capturedAt: Timestamp
  public var capturedAtSource: CapturedAtSource
  public var ingestedAt: Timestamp
  public var sourceName: String
  public var byteSize: Int
  public var sha256: String
  public var encoding: String
  public var toolVersion: String
  public var label: String?
  public var isTruncated: Bool
  public var counts: SnapshotCounts
}

/// The bytes of one snapshot to ingest, with where they came from.
public struct IngestSource: Sendable {
  /// The name shown in messages and recorded (a path, or `-` for standard input).
  public var name: String
  /// The file's bytes.
  public var contents: SnapshotBytes
  /// The file's modification time (nil for standard input).
  public var modificationTime: Timestamp?

  public init(name: String, contents: SnapshotBytes, modificationTime: Timestamp?) {
    self.name = name
    self.contents = contents
    self.modificationTime = modificationTime
  }

  public init(name: String, bytes: [UInt8], modificationTime: Timestamp?) {
    self.init(name: name, contents: SnapshotBytes(bytes), modificationTime: modificationTime)
  }
}

/// The bytes of one snapshot file: a copy in memory, or memory the caller maps from the file.
///
/// Ingest reads them front to back (hashing, then decoding) and says how far it has got, so a mapping
/// can drop the pages already read: a 100 MB export then never has to be resident at once.
public final class SnapshotBytes: @unchecked Sendable {
  /// The bytes; valid while this object lives.
  public let buffer: UnsafeBufferPointer<UInt8>
  private let discard: ((Int) -> Void)?
  private let release: () -> Void

  /// A copy of `bytes`.
  public convenience init(_ bytes: [UInt8]) {
    let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
    _ = copy.initialize(from: bytes)
    self.init(
      buffer: UnsafeBufferPointer(rebasing: UnsafeBufferPointer(copy)[0..<bytes.count]), discard: nil,
      release: { copy.deallocate() })
  }

  /// Memory owned elsewhere (e.g. a read-only mapping of the file). `discard` is told, as reading
  /// advances, the offset before which the bytes will not be read again until the next pass;
  /// `release` is called once, when this object goes away.
  public init(buffer: UnsafeBufferPointer<UInt8>, discard: ((Int) -> Void)?, release: @escaping () -> Void) {
    self.buffer = buffer
    self.discard = discard
    self.release = release
  }

  deinit { release() }

  /// Bytes before `offset` are not needed for now.
  func discard(upTo offset: Int) { discard?(offset) }

  /// SHA-256 of the bytes, read in chunks that are discarded as the hash advances.
  func sha256() -> String {
    var hasher = SHA256()
    var offset = 0
    let chunk = 4 << 20
    repeat {
      let end = min(offset + chunk, buffer.count)
      hasher.update(bufferPointer: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[offset..<end])))
      offset = end
      discard(upTo: offset)
    } while offset < buffer.count
    return hasher.finalize().hexString
  }
}

/// Options of one ingest.
public struct IngestOptions: Sendable {
  public var account: String?
  public var capturedAt: Timestamp?
  public var label: String?
  public var allowTruncated: Bool
  /// The ingest time (injected so tests are deterministic).
  public var now: Timestamp

  public init(account: String? = nil, capturedAt: Timestamp? = nil, label: String? = nil, allowTruncated: Bool = false, now: Timestamp) {
    self.account = account
    self.capturedAt = capturedAt
    self.label = label
    self.allowTruncated = allowTruncated
    self.now = now
  }
}

/// What an ingest did.
public enum IngestOutcome: Sendable {
  case ingested(SnapshotRecord)
  /// The same bytes were ingested before; nothing was added.
  case alreadyIngested(SnapshotRecord)
}

/// Progress of a long ingest, for a terminal indicator.
public enum IngestProgress: Sendable {
  /// The file's SHA-256 is known (and it was not ingested before).
  case hashed
  case decoded(principals: Int, policies: Int)
  case storedPrincipals(done: Int, total: Int)
  case storedPolicies(done: Int, total: Int)
  /// The snapshot's transaction is committed.
  case committed
}

/// The result of an assessment running on another thread, read after its group is waited for.
private final class PendingAssessment: @unchecked Sendable {
  let group = DispatchGroup()
  var snapshot: AuthorizationSnapshot?
  var outcome: Assessor.Outcome?

  func takeSnapshot() -> AuthorizationSnapshot {
    defer { snapshot = nil }
    return snapshot!
  }
}

/// The SQLite evidence database: snapshots, their content-addressed documents, and (later) results.
///
/// One file, WAL journal, foreign keys on, a busy timeout so that concurrent processes wait for each
/// other. Every snapshot is written in one transaction.
public final class EvidenceStore {
  /// The tool version recorded with each snapshot and result.
  public static let toolVersion = IAMEvidenceVersion.current

  let db: SQLiteConnection
  public let path: String

  /// Opens the database at `path`, creating it when `create` is true, and brings its schema up to date.
  public init(path: String, create: Bool, now: Timestamp) throws(StoreError) {
    self.path = path
    if !create && !FileManager.default.fileExists(atPath: path) {
      throw StoreError(path: path, message: "no such database (run `iam-evidence ingest` first, or pass --db)")
    }
    do {
      db = try SQLiteConnection(path: path, mode: create ? .readWriteCreate : .readWrite)
      db.setBusyTimeout(milliseconds: 60_000)
      // 16 KB pages for a new file (a no-op on an existing one): policy documents of several KB then
      // fit in a page instead of spilling to overflow pages, and a 100 MB export writes a smaller
      // file with a third fewer page writes than with 4 KB pages (measured).
      try db.execute("PRAGMA page_size = 16384")
      try Self.enableWAL(db)
      try db.execute("PRAGMA foreign_keys = ON")
      try checkNotNewer()
      try SQLiteMigrator(migrations: Schema.migrations).migrate(db, appliedAt: now.description)
    } catch let error as StoreError {
      throw error
    } catch let error as SQLiteError {
      if error.isNotADatabase {
        throw StoreError(path: path, message: "not an IAM Evidence database (SQLite says: \(error.message))")
      }
      throw StoreError(path: path, message: error.description)
    } catch {
      throw StoreError(path: path, message: "\(error)")
    }
  }

  /// Switching a brand-new file to WAL while another process creates it fails with SQLITE_BUSY
  /// whatever the busy timeout, so that one step is retried.
  static func enableWAL(_ db: SQLiteConnection) throws(SQLiteError) {
    var attempt = 0
    while true {
      do {
        try db.execute("PRAGMA journal_mode = WAL")
        return
      } catch {
        attempt += 1
        if !error.isBusy || attempt > 200 { throw error }
        usleep(useconds_t(10_000 + attempt * 1_000))
      }
    }
  }

  private func checkNotNewer() throws {
    let known = Set(Schema.migrations.map(\.name))
    let applied = try SQLiteMigrator.appliedNames(in: db)
    if let unknown = applied.first(where: { !known.contains($0) }) {
      throw StoreError(
        path: path,
        message: "the database was written by a newer iam-evidence (unknown schema migration \"\(unknown)\"); upgrade the tool")
    }
  }

  func wrap<T>(_ body: () throws -> T) throws(StoreError) -> T {
    do {
      return try body()
    } catch let error as StoreError {
      throw error
    } catch let error as SnapshotDecodingError {
      throw StoreError(path: error.file, message: "\(error.path): \(error.message)")
    } catch {
      throw StoreError(path: path, message: "\(error)")
    }
  }

  // MARK: Snapshots

  /// Every snapshot, oldest capture first.
  public func snapshots(account: String? = nil) throws(StoreError) -> [SnapshotRecord] {
    try wrap {
      var sql = "SELECT * FROM snapshots"
      var args: [any SQLiteBindable] = []
      if let account {
        sql += " WHERE account_id = ?"
        args.append(account)
      }
      sql += " ORDER BY captured_at, id"
      return try db.query(sql, args).map(Self.record)
    }
  }

  /// The snapshot with `id`, if any.
  public func snapshot(id: Int) throws(StoreError) -> SnapshotRecord? {
    try wrap { try db.query("SELECT * FROM snapshots WHERE id = ?", [id]).first.map(Self.record) }
  }

  static func record(_ row: SQLiteRow) -> SnapshotRecord {
    SnapshotRecord(
      id: row.int("id")!, account: row.string("account_id")!,
      capturedAt: Timestamp(parsing: row.string("captured_at")!) ?? Timestamp(epochSeconds: 0),
      capturedAtSource: CapturedAtSource(rawValue: row.string("captured_at_source")!) ?? .option,
      ingestedAt: Timestamp(parsing: row.string("ingested_at")!) ?? Timestamp(epochSeconds: 0),
      sourceName: row.string("source_name")!, byteSize: row.int("byte_size")!, sha256: row.string("sha256")!,
      encoding: row.string("encoding")!, toolVersion: row.string("tool_version")!, label: row.string("label"),
      isTruncated: row.bool("is_truncated") ?? false,
      counts: SnapshotCounts(
        users: row.int("user_count")!, groups: row.int("group_count")!, roles: row.int("role_count")!,
        managedPolicies: row.int("managed_policy_count")!, inlinePolicies: row.int("inline_policy_count")!))
  }

  // MARK: Ingest

  /// Decodes and stores one snapshot in a single transaction: on any error nothing of it remains.
  public func ingest(
    _ source: IngestSource, options: IngestOptions, progress: ((IngestProgress) -> Void)? = nil
  ) throws(StoreError) -> IngestOutcome {
    try ingest(source, options: options, progress: progress, beforeWriting: nil)
  }

  /// Ingests `source` and, when it is new, assesses it with every check and stores the results (two
  /// transactions, as ``ingest(_:options:progress:)`` then
  /// ``assess(snapshotID:register:checks:now:phase:)``). The checks run on other cores while
  /// the snapshot is being written: they need only the decoded snapshot.
  public func ingestAndAssess(
    _ source: IngestSource, options: IngestOptions, register: ExceptionRegister = .empty,
    checks: [any Check] = CheckCatalog.all, progress: ((IngestProgress) -> Void)? = nil,
    phase: ((AssessPhase) -> Void)? = nil
  ) throws(StoreError) -> (outcome: IngestOutcome, assessment: Assessor.Outcome?) {
    let pending = PendingAssessment()
    // However the ingest ends, the background assessment is waited for before returning.
    defer { pending.group.wait() }
    // The snapshot's pages are copied from the WAL into the database file by another connection
    // while the results are written, rather than by this one at the commit (see below).
    try wrap { try db.execute("PRAGMA wal_autocheckpoint = 0") }
    defer { try? db.execute("PRAGMA wal_autocheckpoint = 1000") }
    let checkpoint = DispatchGroup()
    defer { checkpoint.wait() }
    let outcome = try ingest(source, options: options, progress: progress) { snapshot, capturedAt in
      pending.group.enter()
      // Handed over through the box so that the assessment holds the only other reference: once the
      // writer is done, the document texts the checks do not need are freed (see CheckContext).
      pending.snapshot = snapshot
      DispatchQueue.global().async {
        pending.outcome = Assessor.assess(pending.takeSnapshot(), capturedAt: capturedAt, register: register, checks: checks)
        pending.group.leave()
      }
    }
    guard case .ingested(let record) = outcome else { return (outcome, nil) }
    checkpoint.enter()
    DispatchQueue.global().async { [path] in
      // PASSIVE: copies what is committed, never blocks the writer; any failure leaves the work to the
      // next checkpoint.
      if let connection = try? SQLiteConnection(path: path, mode: .readWrite) {
        connection.setBusyTimeout(milliseconds: 1_000)
        try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
      }
      checkpoint.leave()
    }
    pending.group.wait()
    guard let assessment = pending.outcome else { return (outcome, nil) }
    phase?(.checked)
    try store(assessment, snapshotID: record.id, register: register, checks: checks, now: options.now)
    phase?(.stored)
    return (outcome, assessment)
  }

  /// The decode-and-store of ``ingest(_:options:progress:)``; `beforeWriting` gets the
  /// decoded snapshot and its capture time just before the transaction that stores it.
  private func ingest(
    _ source: IngestSource, options: IngestOptions, progress: ((IngestProgress) -> Void)?,
    beforeWriting: ((AuthorizationSnapshot, Timestamp) -> Void)?
  ) throws(StoreError) -> IngestOutcome {
    let sha = source.contents.sha256()
    if let existing = try wrap({ try db.query("SELECT * FROM snapshots WHERE sha256 = ?", [sha]).first }) {
      return .alreadyIngested(Self.record(existing))
    }
    progress?(.hashed)
    if source.contents.buffer.isEmpty {
      throw StoreError(path: source.name, message: "$: empty file, expected a JSON object")
    }
    let snapshot: AuthorizationSnapshot
    do {
      snapshot = try SnapshotDecoder(sourceName: source.name).decode(
        buffer: source.contents.buffer, consumed: source.contents.discard(upTo:))
    } catch {
      throw StoreError(path: error.file, message: "\(error.path): \(error.message)")
    }
    progress?(.decoded(principals: snapshot.principals.count, policies: snapshot.managedPolicies.count))
    if snapshot.isTruncated && !options.allowTruncated {
      throw StoreError(
        path: source.name,
        message:
          "$.IsTruncated: the export is incomplete (IsTruncated is true); merge all pages, or pass --allow-truncated to store it flagged as incomplete"
      )
    }
    let account = try resolveAccount(snapshot, source: source, option: options.account)
    let (capturedAt, capturedSource): (Timestamp, CapturedAtSource) =
      if let t = options.capturedAt { (t, .option) } else if let m = source.modificationTime {
        (m, .fileModificationTime)
      } else { (options.now, .ingestTime) }
    let counts = snapshot.counts
    beforeWriting?(snapshot, capturedAt)
    let id: Int = try wrap {
      try db.transaction {
        // Checked again inside the write lock: another process may have stored the same bytes meanwhile.
        if let row = try db.query("SELECT id FROM snapshots WHERE sha256 = ?", [sha]).first {
          return -(row.int("id")!)
        }
        try db.run(
          """
          INSERT INTO snapshots (account_id, captured_at, captured_at_source, ingested_at, source_name, byte_size, sha256,
            encoding, tool_version, label, is_truncated, marker, user_count, group_count, role_count, managed_policy_count,
            inline_policy_count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
          """,
          [
            account, capturedAt.description, capturedSource.rawValue, options.now.description, source.name,
            source.contents.buffer.count, sha, snapshot.encodingSummary, Self.toolVersion, options.label, snapshot.isTruncated,
            snapshot.marker, counts.users, counts.groups, counts.roles, counts.managedPolicies, counts.inlinePolicies,
          ])
        let snapshotID = Int(db.lastInsertRowID)
        var writer = try SnapshotWriter(db: db, snapshotID: snapshotID)
        try writer.write(snapshot, progress: progress)
        return snapshotID
      }
    }
    if id < 0, let existing = try self.snapshot(id: -id) { return .alreadyIngested(existing) }
    guard let record = try self.snapshot(id: id) else {
      throw StoreError(path: path, message: "snapshot \(id) vanished after it was written")
    }
    progress?(.committed)
    return .ingested(record)
  }

  private func resolveAccount(_ snapshot: AuthorizationSnapshot, source: IngestSource, option: String?) throws(StoreError) -> String {
    let found = snapshot.accountIDs.sorted()
    if let option {
      guard option.count == 12, option.allSatisfy(\.isNumber) else {
        throw StoreError(path: source.name, message: "--account must be a 12-digit AWS account id, got \"\(option)\"")
      }
      // A hand-edited export may mix in a few ARNs of another account; --account picks the owner,
      // but it must be one of the accounts the ARNs name.
      if !found.isEmpty && !found.contains(option) {
        throw StoreError(path: source.name, message: "$: ARNs name account \(found.joined(separator: ", ")), not the --account \(option)")
      }
      return option
    }
    switch found.count {
    case 1: return found[0]
    case 0:
      throw StoreError(path: source.name, message: "$: no account id in any ARN (empty snapshot?); pass --account")
    default:
      throw StoreError(
        path: source.name,
        message: "$: ARNs name several accounts (\(found.joined(separator: ", "))); pass --account to say which one owns the snapshot")
    }
  }
}

extension EvidenceStore {
  /// Runs a read-only query returning one integer (for tests and diagnostics).
  public func integer(_ sql: String, _ arguments: [Any]) throws -> Int {
    let args: [any SQLiteBindable] = arguments.map { value in
      switch value {
      case let i as Int: return i
      case let s as String: return s
      default: return SQLiteValue.null
      }
    }
    guard case .integer(let v) = try db.scalar(sql, args) else { return 0 }
    return Int(v)
  }

  /// The database file's size in bytes (page count × page size, after a checkpoint).
  public func fileSize() throws -> Int {
    try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return try integer("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", [])
  }
}

extension EvidenceStore {
  /// Resolves `latest`, `previous`, a snapshot id, or a date (the latest snapshot captured on or before
  /// the end of that day) to a snapshot, optionally within one account.
  public func resolveSnapshot(_ selector: String, account: String? = nil) throws(StoreError) -> SnapshotRecord {
    let all = try snapshots(account: account)
    guard !all.isEmpty else {
      throw StoreError(path: path, message: account.map { "no snapshot of account \($0)" } ?? "the database holds no snapshot yet")
    }
    switch selector {
    case "latest":
      return all.last!
    case "previous":
      guard all.count >= 2 else { throw StoreError(path: path, message: "there is no previous snapshot (only one)") }
      return all[all.count - 2]
    default:
      if let id = Int(selector) {
        guard let r = all.first(where: { $0.id == id }) else {
          throw StoreError(path: path, message: "no snapshot \(id)" + (account.map { " in account \($0)" } ?? ""))
        }
        return r
      }
      guard let t = Timestamp(parsing: selector) else {
        throw StoreError(path: path, message: "\"\(selector)\" is not a snapshot id, latest, previous, or a date")
      }
      // A bare date means the whole day.
      let limit = selector.count == 10 ? Timestamp(epochSeconds: t.epochSeconds + 86_399) : t
      guard let r = all.last(where: { $0.capturedAt <= limit }) else {
        throw StoreError(path: path, message: "no snapshot captured on or before \(selector)")
      }
      return r
    }
  }
}
