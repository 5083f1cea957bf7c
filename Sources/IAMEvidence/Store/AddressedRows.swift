import SQLiteDB

/// Rows of a content-addressed table (a UNIQUE key, inserted with `ON CONFLICT … DO NOTHING`), one
/// prepared statement each, written from a reused ``SQLiteRowBuffer``: each row's id found, new or
/// already stored, as the store needs it to refer to the row.
///
/// One row per statement on purpose: a statement writing several rows inside a transaction, where a
/// constraint (a foreign key) may abort it, makes SQLite keep a statement journal of every page the
/// statement changes. Measured on the default-quota shape: about 2 GB written to temporary files,
/// and storing a result cost 15 µs instead of 10 µs of CPU.
final class AddressedRows<Key> {
  private let insert: SQLiteStatement
  private let find: SQLiteStatement
  private let bindKey: (SQLiteStatement, Key) throws -> Void
  private let db: SQLiteConnection
  private let table: String
  /// The row being written: fill it, then ``write(key:)``.
  var row = SQLiteRowBuffer()

  /// `insert` is the statement up to its values (`INSERT INTO t (a, b)`); `find`, a `SELECT id FROM
  /// table WHERE …` whose parameters `bindKey` binds for a key.
  init(
    db: SQLiteConnection, table: String, insert head: String, conflict: String, columns: Int, find: String,
    bindKey: @escaping (SQLiteStatement, Key) throws -> Void
  ) throws {
    insert = try db.prepare(
      "\(head) VALUES (\(Array(repeating: "?", count: columns).joined(separator: ","))) ON CONFLICT(\(conflict)) DO NOTHING")
    self.find = try db.prepare(find)
    self.bindKey = bindKey
    self.db = db
    self.table = table
  }

  /// Writes the row filled in ``row`` (and `extra`), unless a row with `key` is stored; returns its
  /// id and whether it was written now.
  func write(key: Key, _ extra: SQLiteValue...) throws -> (id: Int64, isNew: Bool) {
    defer { row.removeAll() }
    row.endRow()
    switch extra.count {
    case 0: try insert.execute(row: 0, of: row)
    case 1: try insert.execute(row: 0, of: row, extra[0])
    default: preconditionFailure("at most one value after the row")
    }
    if db.changes > 0 { return (db.lastInsertRowID, true) }
    return (try id(of: key), false)
  }

  /// The id of the stored row with `key`.
  func id(of key: Key) throws -> Int64 {
    try bindKey(find, key)
    defer { find.reset() }
    guard case .integer(let id) = try find.step()?.values.first else {
      throw StoreError(path: db.path, message: "table \(table): a row written in this transaction is missing")
    }
    return id
  }
}

/// Rows of a table that are only inserted (no id needed), one prepared statement, written from a
/// reused ``SQLiteRowBuffer``.
final class InsertedRows {
  private let insert: SQLiteStatement
  /// The row being written: fill it, then ``write()``.
  var row = SQLiteRowBuffer()

  /// `head` is the statement up to its values (`INSERT INTO t (a, b)`).
  init(db: SQLiteConnection, _ head: String, columns: Int) throws {
    insert = try db.prepare("\(head) VALUES (\(Array(repeating: "?", count: columns).joined(separator: ",")))")
  }

  /// Inserts the row filled in ``row``.
  func write() throws {
    defer { row.removeAll() }
    row.endRow()
    try insert.execute(row: 0, of: row)
  }
}
