import Foundation
import SQLiteDB

/// An error of the store layer, naming the database file.
public struct StoreError: UserFacingError, Sendable {
  public var path: String
  public var message: String

  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }

  public var description: String { "\(path): \(message)" }
}

/// The SQLite evidence database, as a repository: it reads and writes records (snapshots, their
/// content-addressed documents and states, assessments and results) and computes nothing. Decoding,
/// the checks and the evidence are composed around it by ``EvidenceWorkflow``.
///
/// One file, WAL journal, foreign keys on, a busy timeout so that concurrent processes wait for each
/// other. Every snapshot is written in one transaction.
///
/// Two ways to open it. For writing (``init(path:create:now:)``: ingest, assess, package, demo,
/// migrate) the file may be created and its schema is brought up to date; a file that holds
/// anything but this tool's schema is refused before anything is written to it. For reading
/// (``init(readingAt:)``: every other command) the connection is read-only: no WAL switch, no
/// migration, no pragma that writes, and a file that is not an up-to-date IAM Evidence database is
/// refused.
public final class EvidenceStore {
  /// The tool version recorded with each snapshot and result.
  public static let toolVersion = IAMEvidenceVersion.current
  /// The SQLite library version in use (for the chain of custody).
  public static let sqliteVersion = SQLiteDB.sqliteVersion

  let db: SQLiteConnection
  public let path: String
  /// How many ``consistentRead(_:)`` calls are open, and the ledger verified within them.
  private var readDepth = 0
  private var verifiedLedger: (entries: [LedgerEntry], problems: [IntegrityProblem])?
  /// True when opened with ``init(readingAt:)``: every write fails.
  public let isReadOnly: Bool
  /// The schema migrations this opening applied (empty when the schema was up to date).
  public let migrationsApplied: [String]

  /// Opens the database at `path` for writing, creating it when `create` is true, and brings its
  /// schema up to date. An existing file that holds anything but this tool's schema (another
  /// program's tables, or no `schema_migrations`) is refused before anything is written to it.
  public init(path: String, create: Bool, now: Timestamp) throws(StoreError) {
    self.path = path
    isReadOnly = false
    let size = Self.fileSize(path)
    if !create && size == nil {
      throw StoreError(path: path, message: "no such database (run `iam-evidence ingest` first, or pass --db)")
    }
    do {
      (db, migrationsApplied) = try Self.openForWriting(path, existing: size.map { $0 > 0 } ?? false, create: create, now: now)
    } catch {
      throw Self.storeError(error, path: path)
    }
  }

  private static func openForWriting(
    _ path: String, existing: Bool, create: Bool, now: Timestamp
  ) throws -> (SQLiteConnection, [String]) {
    if existing { try requireOurs(try inspectWithoutWriting(path), path: path) }
    let db = try SQLiteConnection(path: path, mode: create ? .readWriteCreate : .readWrite)
    db.setBusyTimeout(milliseconds: 60_000)
    // 16 KB pages for a new file (a no-op on an existing one): policy documents of several KB then
    // fit in a page instead of spilling to overflow pages, and a 100 MB export writes a smaller
    // file with a third fewer page writes than with 4 KB pages (measured).
    try db.execute("PRAGMA page_size = 16384")
    try enableWAL(db)
    try db.execute("PRAGMA foreign_keys = ON")
    try db.execute("PRAGMA cache_size = -\(cacheKiB)")
    // Again on this connection: another process may have written the file since it was inspected.
    try requireOurs(try Schema.inspect(db), path: path)
    return (db, try SQLiteMigrator(migrations: Schema.migrations).migrate(db, appliedAt: now.description))
  }

  /// The page cache of a writing connection, in KiB. With SQLite's default (2,000 KiB) an ingest's
  /// transaction, larger than the cache, spilled the pages of the `sha256` indexes it inserts into
  /// at random to the write-ahead log and read them back over and over: storing the default-quota
  /// shape's results wrote 957 MB to the log for an 80 MB database (77 MB with this cache). The
  /// memory is taken only as pages are used.
  static let cacheKiB = 32768

  /// Refuses, before anything is written, a database that is not this tool's or is newer.
  private static func requireOurs(_ state: SchemaState, path: String) throws(StoreError) {
    switch state {
    case .empty, .ours: return
    case .newer(let name): throw newerError(path, name)
    case .foreign(let why): throw StoreError(path: path, message: "not an IAM Evidence database (\(why)); refusing to add tables to it")
    }
  }

  /// Opens the database at `path` for reading only. Nothing is written to the file: the connection
  /// is SQLite's read-only one (and `query_only`), with no WAL switch, migration or page-size
  /// pragma. A missing or empty file, another program's database, and a database whose schema is
  /// older or newer than this tool's are refused with a message saying what to do. On read-only
  /// media, where SQLite cannot create the `-wal` and `-shm` files a WAL database needs, the file is
  /// read as immutable.
  public convenience init(readingAt path: String) throws(StoreError) {
    try self.init(readingAt: path, immutable: false)
  }

  /// ``init(readingAt:)``, forcing the immutable way of reading when `immutable` is true (tests
  /// prove with it what read-only media get).
  init(readingAt path: String, immutable: Bool) throws(StoreError) {
    self.path = path
    isReadOnly = true
    migrationsApplied = []
    guard let size = Self.fileSize(path) else {
      throw StoreError(path: path, message: "no such database (run `iam-evidence ingest` first, or pass --db)")
    }
    if size == 0 { throw StoreError(path: path, message: "not an IAM Evidence database (an empty file)") }
    do {
      db = try Self.openForReading(path, immutable: immutable)
    } catch {
      throw Self.storeError(error, path: path)
    }
  }

  private static func openForReading(_ path: String, immutable: Bool) throws -> SQLiteConnection {
    switch try inspectWithoutWriting(path) {
    case .empty: throw StoreError(path: path, message: "not an IAM Evidence database (it holds no tables)")
    case .foreign(let why): throw StoreError(path: path, message: "not an IAM Evidence database (\(why))")
    case .newer(let name): throw newerError(path, name)
    case .ours(let applied):
      if let missing = Schema.migrations.first(where: { !applied.contains($0.name) }) {
        throw StoreError(
          path: path,
          message:
            "the database was written by an earlier iam-evidence (schema migration \"\(missing.name)\" not applied); run `iam-evidence migrate --db \(path)` to upgrade it (reading commands never change a database)"
        )
      }
    }
    return try readOnlyConnection(path, immutable: immutable || FileSystem.isReadOnly(path: path))
  }

  /// A read-only connection to `path`. When SQLite cannot open the `-wal`/`-shm` files of a WAL
  /// database (a read-only folder), the file is read as immutable instead, unless its write-ahead
  /// log holds data that would then be missed.
  private static func readOnlyConnection(_ path: String, immutable: Bool) throws -> SQLiteConnection {
    if !immutable, let connection = try lockingReadOnlyConnection(path) { return connection }
    if let wal = fileSize(path + "-wal"), wal > 0 {
      throw StoreError(
        path: path,
        message:
          "its write-ahead log (\(path)-wal) holds changes not yet in the database file, and this folder does not let SQLite open it; run any writing command (e.g. `iam-evidence migrate`) where it may write, or copy the files together to a writable place"
      )
    }
    let connection = try SQLiteConnection(path: path, mode: .readOnlyImmutable)
    try connection.execute("PRAGMA query_only = ON")
    return connection
  }

  /// An ordinary read-only connection, nil when SQLite cannot open the files it needs for it.
  ///
  /// A WAL database with neither `-wal` nor `-shm` beside it (no connection is open on it) is opened
  /// read-write, kept query-only: a read-only connection would create both files and, unable to
  /// remove them, leave them behind; the last connection to close with write access removes them
  /// (SQLite's own rule, under its exclusive lock), so the folder is left as it was. Its pages are
  /// read the same way and no statement on it can write. (Should a writer use the database meanwhile
  /// and close first, SQLite copies the writer's log into the file as this connection closes, as any
  /// last connection does: the content is the writer's, unchanged.) A rollback-journal database is
  /// always opened read-only (a read-write connection would roll back a hot journal).
  private static func lockingReadOnlyConnection(_ path: String) throws -> SQLiteConnection? {
    let leavesNoSideFiles = fileSize(path + "-wal") == nil && fileSize(path + "-shm") == nil && isWAL(path)
    let connection = try SQLiteConnection(path: path, mode: leavesNoSideFiles ? .readWrite : .readOnly)
    connection.setBusyTimeout(milliseconds: 60_000)
    do {
      try connection.execute("PRAGMA query_only = ON")
      _ = try connection.scalar("SELECT count(*) FROM schema_migrations")
    } catch {
      if error.isReadOnlyOrCannotOpen { return nil }
      throw error
    }
    return connection
  }

  /// What the file at `path` holds, found without writing anything, not even SQLite's side files:
  /// read as immutable when no write-ahead log exists (then no writer is using it), else through an
  /// ordinary read-only connection (the `-wal` and `-shm` files exist already).
  static func inspectWithoutWriting(_ path: String) throws -> SchemaState {
    if fileSize(path + "-wal") == nil, let connection = try? SQLiteConnection(path: path, mode: .readOnlyImmutable),
      let state = try? Schema.inspect(connection)
    {
      return state
    }
    // A write-ahead log exists, or the file changed under the immutable reading (another process
    // is creating it): read it with locks.
    let connection = try SQLiteConnection(path: path, mode: .readOnly)
    connection.setBusyTimeout(milliseconds: 60_000)
    return try Schema.inspect(connection)
  }

  /// Whether the regular file at `path` is an SQLite database in WAL mode (its header's read and
  /// write versions are 2).
  static func isWAL(_ path: String) -> Bool {
    guard let (handle, size) = try? InputFile.regularFileHandle(path: path), size >= 100 else { return false }
    defer { try? handle.close() }
    guard let header = try? handle.read(upToCount: 100), header.count == 100 else { return false }
    return header.starts(with: Array("SQLite format 3\0".utf8)) && header[18] == 2 && header[19] == 2
  }

  /// The size of the file at `path`, nil when there is none.
  static func fileSize(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.size].flatMap { ($0 as? NSNumber)?.intValue }
  }

  static func newerError(_ path: String, _ migration: String) -> StoreError {
    StoreError(
      path: path,
      message: "the database was written by a newer iam-evidence (unknown schema migration \"\(migration)\"); upgrade the tool")
  }

  /// Any error of opening, as a ``StoreError`` naming the file.
  static func storeError(_ error: any Error, path: String) -> StoreError {
    switch error {
    case let error as StoreError: return error
    case let error as SQLiteError where error.isNotADatabase:
      return StoreError(path: path, message: "not an IAM Evidence database (SQLite says: \(error.message))")
    case let error as SQLiteError: return StoreError(path: path, message: error.description)
    default: return StoreError(path: path, message: "\(error)")
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

  /// Runs `body` in one read transaction (a savepoint, so it may nest): every statement in it sees the
  /// database as of its first read, whatever other processes commit meanwhile. Evidence is gathered
  /// and checked this way, so that what is checked is what is reported.
  public func consistentRead<T>(_ body: () throws -> T) throws -> T {
    try wrap { try db.execute("SAVEPOINT consistent_read") }
    readDepth += 1
    defer {
      readDepth -= 1
      // What was read once within the outermost read is not reused after it.
      if readDepth == 0 { verifiedLedger = nil }
    }
    do {
      let result = try body()
      try wrap { try db.execute("RELEASE consistent_read") }
      return result
    } catch {
      try? db.execute("ROLLBACK TO consistent_read")
      try? db.execute("RELEASE consistent_read")
      throw error
    }
  }

  /// The ledger's entries and the problems of its chain (``Ledger/entries()``), read and verified once
  /// per outermost ``consistentRead(_:)``: nothing can write while it lasts (a write transaction
  /// cannot begin inside it), and an organisation's evidence checks the integrity of each of its
  /// accounts in turn, which read and verified the whole chain once per account.
  func ledgerEntries(_ ledger: Ledger) throws -> (entries: [LedgerEntry], problems: [IntegrityProblem]) {
    if readDepth > 0, let verifiedLedger { return verifiedLedger }
    let read = try ledger.entries()
    if readDepth > 0 { verifiedLedger = read }
    return read
  }

  /// Runs `body`, turning SQLite's errors (and those of row decoding, which name the column and the
  /// SQL) into a ``StoreError`` naming the database file.
  func wrap<T>(_ body: () throws -> T) throws(StoreError) -> T {
    do {
      return try body()
    } catch let error as StoreError {
      throw error
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
      return try db.query(sql, args).map(record)
    }
  }

  /// The snapshot with `id`, if any.
  public func snapshot(id: Int) throws(StoreError) -> SnapshotRecord? {
    try wrap { try db.query("SELECT * FROM snapshots WHERE id = ?", [id]).first.map(record) }
  }

  /// The snapshot whose file had the SHA-256 `sha256`, if it was ingested.
  public func snapshot(sha256: String) throws(StoreError) -> SnapshotRecord? {
    try wrap { try db.query("SELECT * FROM snapshots WHERE sha256 = ?", [sha256]).first.map(record) }
  }

  func record(_ row: SQLiteRow) throws -> SnapshotRecord {
    let id = try row.int("id")
    let stored = StoredRow(row, table: "snapshots", id: id, path: path)
    return SnapshotRecord(
      id: id, account: try row.string("account_id"), capturedAt: try stored.timestamp("captured_at"),
      capturedAtSource: try stored.value("captured_at_source", as: CapturedAtSource.self),
      ingestedAt: try stored.timestamp("ingested_at"), sourceName: try row.string("source_name"), byteSize: try row.int("byte_size"),
      sha256: try row.string("sha256"), encoding: try row.string("encoding"), toolVersion: try row.string("tool_version"),
      label: try row.optionalString("label"), isTruncated: try row.bool("is_truncated"),
      counts: SnapshotCounts(
        users: try row.int("user_count"), groups: try row.int("group_count"), roles: try row.int("role_count"),
        managedPolicies: try row.int("managed_policy_count"), inlinePolicies: try row.int("inline_policy_count")))
  }

  // MARK: Writing a snapshot

  /// Stores the decoded `snapshot` as `metadata` says, in one transaction: on any error nothing of it
  /// remains. Documents, principal and policy states already stored are linked, not copied. When a
  /// snapshot with the same SHA-256 exists (another process may have stored it meanwhile; checked
  /// inside the write lock), nothing is written.
  public func insertSnapshot(
    _ snapshot: AuthorizationSnapshot, _ metadata: NewSnapshot, progress: ((IngestProgress) -> Void)? = nil
  ) throws(StoreError) -> IngestOutcome {
    let counts = snapshot.counts
    let id: Int = try wrap {
      try db.transaction {
        if let row = try db.query("SELECT id FROM snapshots WHERE sha256 = ?", [metadata.sha256]).first {
          return -(try row.int("id"))
        }
        try db.run(
          """
          INSERT INTO snapshots (account_id, captured_at, captured_at_source, ingested_at, source_name, byte_size, sha256,
            encoding, tool_version, label, is_truncated, marker, user_count, group_count, role_count, managed_policy_count,
            inline_policy_count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
          """,
          [
            metadata.account, metadata.capturedAt.description, metadata.capturedAtSource.rawValue, metadata.ingestedAt.description,
            metadata.sourceName, metadata.byteSize, metadata.sha256, snapshot.encodingSummary, Self.toolVersion, metadata.label,
            snapshot.isTruncated, snapshot.marker, counts.users, counts.groups, counts.roles, counts.managedPolicies,
            counts.inlinePolicies,
          ])
        let snapshotID = Int(db.lastInsertRowID)
        try withoutCheckConstraints {
          var writer = try SnapshotWriter(db: db, snapshotID: snapshotID)
          try writer.write(snapshot, progress: progress)
        }
        if let provenance = metadata.provenance { try insertProvenance(provenance, snapshotID: snapshotID) }
        try Ledger(db: db, path: path).recordSnapshot(snapshotID, recordedAt: metadata.ingestedAt.description)
        return snapshotID
      }
    }
    if id < 0, let existing = try self.snapshot(id: -id) { return .alreadyIngested(existing) }
    guard let record = try self.snapshot(id: id) else {
      throw StoreError(path: path, message: "snapshot \(id) vanished after it was written")
    }
    return .ingested(record)
  }

  /// Runs `body` with SQLite's CHECK constraints left out of the statements it prepares (`PRAGMA
  /// ignore_check_constraints`, on this connection only), then puts them back. For the bulk inserts
  /// of principal states and results, whose checked columns are written from Swift enumerations:
  /// SQLite (3.40) evaluates a CHECK's `IN` list of three or more values by building a temporary
  /// table at every execution of the statement, about half the cost of inserting the row (measured).
  func withoutCheckConstraints<T>(_ body: () throws -> T) throws -> T {
    try db.execute("PRAGMA ignore_check_constraints = ON")
    defer { try? db.execute("PRAGMA ignore_check_constraints = OFF") }
    return try body()
  }

  /// Turns SQLite's automatic checkpoint at commit on (the default) or off. While it is off, a
  /// checkpoint by another connection (``checkpointPassively(path:)``) copies the committed pages
  /// from the WAL into the database file.
  public func setAutomaticCheckpoints(_ on: Bool) throws(StoreError) {
    try wrap { try db.execute("PRAGMA wal_autocheckpoint = \(on ? 1000 : 0)") }
  }

  /// A PASSIVE checkpoint of the database at `path` on a connection of its own: copies what is
  /// committed, never blocks a writer. Any failure leaves the work to the next checkpoint.
  public static func checkpointPassively(path: String) {
    if let connection = try? SQLiteConnection(path: path, mode: .readWrite) {
      connection.setBusyTimeout(milliseconds: 1_000)
      try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
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

extension EvidenceStore {
  /// The accounts that have snapshots.
  public func accounts() throws(StoreError) -> [String] {
    try wrap { try db.query("SELECT DISTINCT account_id FROM snapshots ORDER BY account_id").map { try $0.string("account_id") } }
  }

  /// The one account a command works on: `--account`, or the only account in the database. Several
  /// accounts and no `--account` is an error: reports never mix accounts silently.
  public func resolveAccount(_ account: String?) throws(StoreError) -> String {
    let all = try accounts()
    if let account {
      guard all.contains(account) else { throw StoreError(path: path, message: "no snapshot of account \(account)") }
      return account
    }
    switch all.count {
    case 0: throw StoreError(path: path, message: "the database holds no snapshot yet")
    case 1: return all[0]
    default:
      throw StoreError(path: path, message: "the database holds several accounts (\(all.joined(separator: ", "))); pass --account")
    }
  }
}
