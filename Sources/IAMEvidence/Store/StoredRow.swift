import SQLiteDB

/// A row of a named table, for values SQLite cannot check: times, enumerations and id lists stored as
/// text. A stored value that does not parse is damage, reported with the table, the row id and the
/// column; never replaced by a default (a garbage time must not become 1970, a garbage list must not
/// become empty).
struct StoredRow {
  let row: SQLiteRow
  let table: String
  let rowID: String
  let path: String

  init(_ row: SQLiteRow, table: String, id: some CustomStringConvertible, path: String) {
    self.row = row
    self.table = table
    self.rowID = id.description
    self.path = path
  }

  func damaged(_ column: String, _ problem: String) -> StoreError {
    StoreError(path: path, message: "table \(table), row \(rowID), column \(column): \(problem) (damaged database?)")
  }

  /// A time stored as text, not NULL.
  func timestamp(_ column: String) throws -> Timestamp {
    try parse(column, try row.string(column))
  }

  /// A time stored as text, or NULL.
  func optionalTimestamp(_ column: String) throws -> Timestamp? {
    try row.optionalString(column).map { try parse(column, $0) }
  }

  func parse(_ column: String, _ text: String) throws -> Timestamp {
    guard let t = Timestamp(parsing: text) else { throw damaged(column, "\"\(text.prefix(80))\" is not a time") }
    return t
  }

  /// An enumeration stored as its raw text.
  func value<T: RawRepresentable>(_ column: String, as type: T.Type) throws -> T where T.RawValue == String {
    let text = try row.string(column)
    guard let v = T(rawValue: text) else { throw damaged(column, "unknown value \"\(text.prefix(80))\"") }
    return v
  }

  /// An id list (``IDList``), with its base read from `db` when it has one.
  func idList(_ column: String, in db: SQLiteConnection) throws -> [Int64] {
    let text = try row.string(column)
    guard let ids = try IDList.decode(text, in: db) else { throw damaged(column, "not a list of ids: \"\(text.prefix(80))\"") }
    return ids
  }

  /// A JSON array of strings.
  func stringList(_ column: String) throws -> [String] {
    let text = try row.string(column)
    guard let items = (try? JSONParser.parse(text))?.arrayValue else {
      throw damaged(column, "not a JSON array: \"\(text.prefix(80))\"")
    }
    return try items.map { item in
      guard let s = item.stringValue else { throw damaged(column, "not a JSON array of strings: \"\(text.prefix(80))\"") }
      return s
    }
  }
}
