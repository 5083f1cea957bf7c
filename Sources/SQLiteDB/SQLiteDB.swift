import CSQLite

/// The SQLite library version linked at run time.
public let sqliteVersion = String(cString: sqlite3_libversion())

/// An error reported by SQLite, with the result code, SQLite's message and the SQL that failed.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
  /// The primary or extended result code (e.g. 5 = SQLITE_BUSY, 26 = SQLITE_NOTADB).
  public var code: Int32
  public var message: String
  public var sql: String?

  public var description: String {
    var s = "SQLite error \(code): \(message)"
    if let sql { s += " (in: \(sql.prefix(200)))" }
    return s
  }

  /// True for "file is not a database" and "database disk image is malformed".
  public var isNotADatabase: Bool { code & 0xFF == SQLITE_NOTADB || code & 0xFF == SQLITE_CORRUPT }
  /// True when a read-only connection cannot do what SQLite needs (e.g. create the `-shm` file of a
  /// WAL database in a read-only folder).
  public var isReadOnlyOrCannotOpen: Bool { code & 0xFF == SQLITE_READONLY || code & 0xFF == SQLITE_CANTOPEN }
  /// True when another connection holds a conflicting lock.
  public var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
}

/// A value bound to or read from a statement.
public enum SQLiteValue: Sendable, Equatable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob([UInt8])
}

/// Something that can be bound as a statement parameter.
public protocol SQLiteBindable {
  var sqliteValue: SQLiteValue { get }
}

extension Int: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Int64: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(self) } }
extension Bool: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) } }
extension Double: SQLiteBindable { public var sqliteValue: SQLiteValue { .real(self) } }
extension String: SQLiteBindable { public var sqliteValue: SQLiteValue { .text(self) } }
extension SQLiteValue: SQLiteBindable { public var sqliteValue: SQLiteValue { self } }
extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
  public var sqliteValue: SQLiteValue { self?.sqliteValue ?? .null }
}

/// A connection to one SQLite database file. Owns the `sqlite3*` handle and closes it in `deinit`.
///
/// Not thread-safe: use one connection per thread (SQLite's own locking coordinates processes).
public final class SQLiteConnection {
  let handle: OpaquePointer
  /// The path the connection was opened with.
  public let path: String

  /// How to open the file.
  public enum Mode: Sendable {
    /// Read only, with SQLite's usual locking. A database in WAL mode still needs its `-wal` and
    /// `-shm` files: SQLite creates them (empty) when they are missing and it can.
    case readOnly
    /// Read only, as a file that nothing changes (SQLite's `immutable=1`): no locks, no `-wal` or
    /// `-shm` file, nothing created. For read-only media; wrong while another process writes.
    case readOnlyImmutable
    case readWrite
    case readWriteCreate
  }

  /// Opens (and, in `.readWriteCreate` mode, creates) the database at `path`.
  public init(path: String, mode: Mode = .readWriteCreate) throws(SQLiteError) {
    var db: OpaquePointer?
    var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
    var name = path
    switch mode {
    case .readOnly: flags |= SQLITE_OPEN_READONLY
    case .readOnlyImmutable:
      flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
      name = Self.fileURI(path) + "?immutable=1"
    case .readWrite: flags |= SQLITE_OPEN_READWRITE
    case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
    }
    let rc = sqlite3_open_v2(name, &db, flags, nil)
    guard rc == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
      if let db { sqlite3_close_v2(db) }
      throw SQLiteError(code: rc, message: message, sql: nil)
    }
    self.handle = db
    self.path = path
    sqlite3_extended_result_codes(db, 1)
    _ = csqlite_db_config_defensive(db, 1)
  }

  deinit { sqlite3_close_v2(handle) }

  /// `file:` URI of `path` (RFC 3986: every byte outside the unreserved set and `/` percent-encoded,
  /// so that `?`, `#` and `%` in a file name stay part of the name).
  static func fileURI(_ path: String) -> String {
    var out = "file:"
    for b in path.utf8 {
      switch b {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
        out.unicodeScalars.append(Unicode.Scalar(b))
      default:
        let digits = Array("0123456789ABCDEF".unicodeScalars)
        out.unicodeScalars.append("%")
        out.unicodeScalars.append(digits[Int(b >> 4)])
        out.unicodeScalars.append(digits[Int(b & 0xF)])
      }
    }
    return out
  }

  func error(_ rc: Int32, sql: String?) -> SQLiteError {
    SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
  }

  /// Waits up to `milliseconds` for locks held by other connections before failing with SQLITE_BUSY.
  public func setBusyTimeout(milliseconds: Int32) {
    sqlite3_busy_timeout(handle, milliseconds)
  }

  /// Runs one or more statements that return no rows of interest.
  public func execute(_ sql: String) throws(SQLiteError) {
    var message: UnsafeMutablePointer<CChar>?
    let rc = sqlite3_exec(handle, sql, nil, nil, &message)
    if rc != SQLITE_OK {
      let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
      sqlite3_free(message)
      throw SQLiteError(code: rc, message: text, sql: sql)
    }
  }

  /// Compiles `sql` into a reusable statement.
  public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
    var stmt: OpaquePointer?
    let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
    guard rc == SQLITE_OK, let stmt else { throw error(rc, sql: sql) }
    return SQLiteStatement(connection: self, handle: stmt, sql: sql)
  }

  /// Runs `sql` with `arguments` and returns every row.
  public func query(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> [SQLiteRow] {
    let stmt = try prepare(sql)
    try stmt.bind(arguments)
    var rows: [SQLiteRow] = []
    while let row = try stmt.step() { rows.append(row) }
    return rows
  }

  /// Runs `sql` with `arguments`, discarding any rows.
  public func run(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) {
    let stmt = try prepare(sql)
    try stmt.bind(arguments)
    try stmt.run()
  }

  /// The first column of the first row, if any.
  public func scalar(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> SQLiteValue? {
    try query(sql, arguments).first?.values.first
  }

  /// The rowid of the last inserted row.
  public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

  /// Rows changed by the last statement.
  public var changes: Int { Int(sqlite3_changes(handle)) }

  /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws.
  public func transaction<T>(_ body: () throws -> T) throws -> T {
    try execute("BEGIN IMMEDIATE")
    do {
      let result = try body()
      try execute("COMMIT")
      return result
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }
}

/// A column value that cannot be read as asked, naming the column and the SQL that produced the row
/// (as GRDB's `RowDecodingError` does): a typo in a column name, a NULL where a value is required, or
/// a value of another type than the column should hold.
public struct SQLiteDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What is wrong with the column.
  public enum Problem: Sendable, Equatable {
    /// The row has no column of that name (a typo in the query or the accessor).
    case columnNotFound
    /// The column is NULL where a value is required.
    case null
    /// The column holds another type (`expected` and `found` are SQLite type names).
    case wrongType(expected: String, found: String)
  }

  public var problem: Problem
  public var column: String
  /// The statement whose row was read.
  public var sql: String

  public init(problem: Problem, column: String, sql: String) {
    self.problem = problem
    self.column = column
    self.sql = sql
  }

  public var description: String {
    let what: String
    switch problem {
    case .columnNotFound: what = "no column \"\(column)\" in the row"
    case .null: what = "column \"\(column)\" is NULL where a value is required"
    case .wrongType(let expected, let found): what = "column \"\(column)\" holds \(found) where \(expected) is required"
    }
    return "\(what) (in: \(sql.prefix(200)))"
  }
}

/// One row of a result, with values by column position and name.
///
/// The accessors throw ``SQLiteDecodingError`` naming the column and the SQL: a column that does not
/// exist, a NULL where a value is required, and a value of the wrong type are errors, never a default.
public struct SQLiteRow: Sendable {
  public var columns: [String]
  public var values: [SQLiteValue]
  /// The statement that produced the row (for error messages).
  public var sql: String

  public init(columns: [String], values: [SQLiteValue], sql: String) {
    self.columns = columns
    self.values = values
    self.sql = sql
  }

  /// The value of the named column; a column the row does not have is an error.
  public func value(_ name: String) throws(SQLiteDecodingError) -> SQLiteValue {
    guard let i = columns.firstIndex(of: name) else { throw SQLiteDecodingError(problem: .columnNotFound, column: name, sql: sql) }
    return values[i]
  }

  /// A TEXT column that must not be NULL.
  public func string(_ name: String) throws(SQLiteDecodingError) -> String {
    guard let s = try optionalString(name) else { throw SQLiteDecodingError(problem: .null, column: name, sql: sql) }
    return s
  }

  /// A TEXT column that may be NULL.
  public func optionalString(_ name: String) throws(SQLiteDecodingError) -> String? {
    switch try value(name) {
    case .null: return nil
    case .text(let s): return s
    case let other: throw wrongType(name, expected: "TEXT", found: other)
    }
  }

  /// An INTEGER column that must not be NULL.
  public func int64(_ name: String) throws(SQLiteDecodingError) -> Int64 {
    guard let i = try optionalInt64(name) else { throw SQLiteDecodingError(problem: .null, column: name, sql: sql) }
    return i
  }

  /// An INTEGER column that may be NULL.
  public func optionalInt64(_ name: String) throws(SQLiteDecodingError) -> Int64? {
    switch try value(name) {
    case .null: return nil
    case .integer(let i): return i
    case let other: throw wrongType(name, expected: "INTEGER", found: other)
    }
  }

  /// An INTEGER column that must not be NULL.
  public func int(_ name: String) throws(SQLiteDecodingError) -> Int { Int(try int64(name)) }

  /// An INTEGER column that may be NULL.
  public func optionalInt(_ name: String) throws(SQLiteDecodingError) -> Int? { try optionalInt64(name).map { Int($0) } }

  /// A boolean stored as an INTEGER (0 is false), not NULL.
  public func bool(_ name: String) throws(SQLiteDecodingError) -> Bool { try int64(name) != 0 }

  /// A boolean stored as an INTEGER (0 is false), or NULL.
  public func optionalBool(_ name: String) throws(SQLiteDecodingError) -> Bool? { try optionalInt64(name).map { $0 != 0 } }

  private func wrongType(_ name: String, expected: String, found: SQLiteValue) -> SQLiteDecodingError {
    let type: String
    switch found {
    case .null: type = "NULL"
    case .integer: type = "INTEGER"
    case .real: type = "REAL"
    case .text: type = "TEXT"
    case .blob: type = "BLOB"
    }
    return SQLiteDecodingError(problem: .wrongType(expected: expected, found: type), column: name, sql: sql)
  }
}

/// A compiled statement. Owns the `sqlite3_stmt*` and finalises it in `deinit`.
public final class SQLiteStatement {
  let connection: SQLiteConnection
  let handle: OpaquePointer
  /// The SQL text, for error messages.
  public let sql: String
  private lazy var columnNames: [String] = (0..<sqlite3_column_count(handle)).map {
    String(cString: sqlite3_column_name(handle, $0))
  }
  lazy var parameterCount = Int(sqlite3_bind_parameter_count(handle))

  init(connection: SQLiteConnection, handle: OpaquePointer, sql: String) {
    self.connection = connection
    self.handle = handle
    self.sql = sql
  }

  deinit { sqlite3_finalize(handle) }

  /// Resets the statement and binds `arguments` to its parameters in order. There must be exactly one
  /// argument per parameter: a missing or extra one is an error naming the SQL, not a silent NULL.
  public func bind(_ arguments: [any SQLiteBindable]) throws(SQLiteError) {
    reset()
    guard arguments.count == parameterCount else {
      throw SQLiteError(
        code: SQLITE_RANGE, message: "\(arguments.count) argument(s) given for \(parameterCount) parameter(s)", sql: sql)
    }
    for (i, arg) in arguments.enumerated() {
      let index = Int32(i + 1)
      let rc: Int32
      switch arg.sqliteValue {
      case .null: rc = sqlite3_bind_null(handle, index)
      case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
      case .real(let v): rc = sqlite3_bind_double(handle, index, v)
      case .text(var s):
        // The UTF-8 bytes in place, with their length: no C-string copy, no strlen, and a NUL byte in
        // the text is kept rather than ending it.
        rc = s.withUTF8 { bytes in
          bytes.withMemoryRebound(to: CChar.self) { chars in
            // A NULL pointer would bind NULL: the empty text gets a pointer to a byte of its own.
            guard let base = chars.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, csqlite_transient()) }
            return sqlite3_bind_text(handle, index, base, Int32(chars.count), csqlite_transient())
          }
        }
      case .blob(let b):
        rc = b.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), csqlite_transient()) }
      }
      guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
    }
  }

  /// Resets the statement and clears its bindings (releasing what they hold), ready to bind again.
  public func reset() {
    sqlite3_reset(handle)
    sqlite3_clear_bindings(handle)
  }

  /// Advances to the next row; nil when done.
  public func step() throws(SQLiteError) -> SQLiteRow? {
    let rc = sqlite3_step(handle)
    switch rc {
    case SQLITE_ROW:
      var values: [SQLiteValue] = []
      let n = sqlite3_column_count(handle)
      values.reserveCapacity(Int(n))
      for i in 0..<n {
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(handle, i)))
        case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(handle, i)))
        case SQLITE_TEXT:
          // Read with its length (as written: a NUL byte inside the text is part of it).
          let text = sqlite3_column_text(handle, i)
          let count = Int(sqlite3_column_bytes(handle, i))
          values.append(.text(String(decoding: UnsafeRawBufferPointer(start: text, count: count), as: UTF8.self)))
        case SQLITE_BLOB:
          let count = Int(sqlite3_column_bytes(handle, i))
          if let p = sqlite3_column_blob(handle, i) {
            values.append(.blob(Array(UnsafeRawBufferPointer(start: p, count: count))))
          } else {
            values.append(.blob([]))
          }
        default: values.append(.null)
        }
      }
      return SQLiteRow(columns: columnNames, values: values, sql: sql)
    case SQLITE_DONE:
      return nil
    default:
      throw connection.error(rc, sql: sql)
    }
  }

  /// Steps through the remaining rows, handing each to `body` in place: no value is copied, and text
  /// and blob values point into SQLite's memory, valid only during that call. For reading many rows
  /// to hash them.
  public func forEachRawRow(_ body: (SQLiteRawRow) throws -> Void) throws {
    while true {
      let rc = sqlite3_step(handle)
      switch rc {
      case SQLITE_ROW: try body(SQLiteRawRow(handle: handle))
      case SQLITE_DONE: return
      default: throw connection.error(rc, sql: sql)
      }
    }
  }

  /// Steps until done, discarding rows.
  public func run() throws(SQLiteError) {
    while try step() != nil {}
  }

  /// Binds `arguments` and runs to completion, discarding any rows: the common insert path.
  ///
  /// Texts and blobs are copied once into one buffer that SQLite reads in place while the statement
  /// runs, instead of SQLite copying each value into memory of its own (an allocation and a free per
  /// value: most of the cost of binding a row of a dozen texts). The statement is reset and its
  /// bindings cleared before the buffer goes.
  public func execute(_ arguments: [any SQLiteBindable]) throws(SQLiteError) {
    reset()
    guard arguments.count == parameterCount else {
      throw SQLiteError(
        code: SQLITE_RANGE, message: "\(arguments.count) argument(s) given for \(parameterCount) parameter(s)", sql: sql)
    }
    let values = arguments.map(\.sqliteValue)
    var buffer: [UInt8] = []
    var extents: [Range<Int>] = []
    extents.reserveCapacity(values.count)
    for value in values {
      let start = buffer.count
      switch value {
      case .text(var s): s.withUTF8 { buffer.append(contentsOf: $0) }
      case .blob(let b): buffer.append(contentsOf: b)
      default: break
      }
      extents.append(start..<buffer.count)
    }
    // A byte past the end: the buffer's address is never nil, so an empty text is not bound as NULL.
    buffer.append(0)
    try buffer.withUnsafeBufferPointer { (bytes: UnsafeBufferPointer<UInt8>) throws(SQLiteError) -> Void in
      defer { reset() }
      let base = UnsafeRawPointer(bytes.baseAddress!)
      for (i, value) in values.enumerated() {
        let index = Int32(i + 1)
        let extent = extents[i]
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
        case .real(let v): rc = sqlite3_bind_double(handle, index, v)
        // A nil destructor is SQLITE_STATIC: SQLite uses the bytes where they are.
        case .text:
          rc = sqlite3_bind_text(
            handle, index, (base + extent.lowerBound).assumingMemoryBound(to: CChar.self), Int32(extent.count), nil)
        case .blob: rc = sqlite3_bind_blob(handle, index, base + extent.lowerBound, Int32(extent.count), nil)
        }
        guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
      }
      try run()
    }
  }
}

/// A column value read in place (``SQLiteStatement/forEachRawRow(_:)``): text and blob bytes are
/// valid only while the row is being handed over.
public enum SQLiteRawValue {
  case null
  case integer(Int64)
  case real(Double)
  case text(UnsafeRawBufferPointer)
  case blob(UnsafeRawBufferPointer)
}

/// The current row of a statement, read in place (see ``SQLiteStatement/forEachRawRow(_:)``).
public struct SQLiteRawRow {
  let handle: OpaquePointer

  /// The number of columns.
  public var count: Int { Int(sqlite3_column_count(handle)) }

  /// Column `index` (0-based) in place.
  public func value(_ index: Int) -> SQLiteRawValue {
    let i = Int32(index)
    switch sqlite3_column_type(handle, i) {
    case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, i))
    case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, i))
    case SQLITE_TEXT:
      let p = sqlite3_column_text(handle, i)
      return .text(UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, i))))
    case SQLITE_BLOB:
      let p = sqlite3_column_blob(handle, i)
      return .blob(UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, i))))
    default: return .null
    }
  }
}

/// Named, append-only schema migrations, each applied once in its own transaction and recorded in
/// `schema_migrations`. A shipped migration is never edited: add a new one.
public struct SQLiteMigrator {
  /// One migration: a stable name, the SQL that applies it, and optionally code that completes it
  /// in the same transaction (given the connection and the time it is applied at), for what SQL
  /// alone cannot compute.
  public struct Migration: Sendable {
    public var name: String
    public var sql: String
    public var complete: (@Sendable (SQLiteConnection, String) throws -> Void)?
    public init(name: String, sql: String, complete: (@Sendable (SQLiteConnection, String) throws -> Void)? = nil) {
      self.name = name
      self.sql = sql
      self.complete = complete
    }
  }

  public var migrations: [Migration]

  public init(migrations: [Migration]) { self.migrations = migrations }

  /// The names of migrations recorded in the database.
  public static func appliedNames(in db: SQLiteConnection) throws -> [String] {
    let exists = try db.scalar("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'")
    guard exists == .integer(1) else { return [] }
    return try db.query("SELECT name FROM schema_migrations ORDER BY rowid").map { row throws(SQLiteDecodingError) in try row.string("name")
    }
  }

  /// Applies every migration not yet recorded. Returns the names applied.
  @discardableResult
  public func migrate(_ db: SQLiteConnection, appliedAt: String) throws -> [String] {
    try db.execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)")
    var applied: [String] = []
    for migration in migrations {
      try db.transaction {
        // Checked inside the write transaction so two processes cannot both apply it.
        let done = try db.scalar("SELECT count(*) FROM schema_migrations WHERE name = ?", [migration.name])
        if done == .integer(1) { return }
        try db.execute(migration.sql)
        try migration.complete?(db, appliedAt)
        try db.run("INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)", [migration.name, appliedAt])
        applied.append(migration.name)
      }
    }
    return applied
  }
}
