import Crypto
import SQLiteDB

/// A running SHA-256 over database rows in an unambiguous binary form, read in place from SQLite
/// (nothing is copied into Swift strings). Each row is the byte 0xFE, its column count (8 bytes,
/// big-endian), then each value as a type tag and its bytes: NULL 0x00; INTEGER 0x01 and 8 bytes
/// big-endian; REAL 0x02 and the 8 bytes of its IEEE 754 bit pattern; TEXT 0x03 and BLOB 0x04, each
/// followed by the length (8 bytes) and the bytes. A label (0xFF, length, UTF-8 bytes) separates
/// the parts of a digest. The ledger (``Ledger``) is made of such digests; README's "Database"
/// section documents the format.
struct RowDigest {
  private var hasher = SHA256()
  /// Bytes not yet handed to the hasher: one update per 64 KB instead of one per value.
  private var pending: [UInt8] = []

  init() { pending.reserveCapacity(1 << 16) }

  private mutating func flushIfFull() {
    if pending.count >= 1 << 16 {
      hasher.update(data: pending)
      pending.removeAll(keepingCapacity: true)
    }
  }

  /// 8 bytes, big-endian, appended at once (a row of a dozen columns writes a dozen of these).
  private mutating func append(length: Int) {
    withUnsafeBytes(of: UInt64(UInt(bitPattern: length)).bigEndian) { pending.append(contentsOf: $0) }
  }

  private mutating func append(_ bytes: UnsafeRawBufferPointer) {
    append(length: bytes.count)
    if bytes.count >= 1 << 14 {
      hasher.update(data: pending)
      pending.removeAll(keepingCapacity: true)
      hasher.update(bufferPointer: bytes)
    } else {
      pending.append(contentsOf: bytes)
    }
  }

  /// A label naming what follows.
  mutating func label(_ text: String) {
    pending.append(0xFF)
    var text = text
    text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    flushIfFull()
  }

  /// One row: its first `columns` columns (nil: every column), in order.
  mutating func add(_ row: SQLiteRawRow, columns: Int? = nil) {
    pending.append(0xFE)
    let count = min(columns ?? row.count, row.count)
    append(length: count)
    for i in 0..<count {
      switch row.value(i) {
      case .null: pending.append(0x00)
      case .integer(let v):
        pending.append(0x01)
        append(length: Int(bitPattern: UInt(UInt64(bitPattern: v))))
      case .real(let v):
        pending.append(0x02)
        append(length: Int(bitPattern: UInt(v.bitPattern)))
      case .text(let bytes):
        pending.append(0x03)
        append(bytes)
      case .blob(let bytes):
        pending.append(0x04)
        append(bytes)
      }
    }
    flushIfFull()
  }

  /// Binds `arguments`, adds every row `statement` returns, hands each to `each` as well, and
  /// returns how many rows there were.
  @discardableResult
  mutating func rows(
    _ statement: SQLiteStatement, _ arguments: [any SQLiteBindable], each: (SQLiteRawRow) throws -> Void = { _ in }
  ) throws -> Int {
    try statement.bind(arguments)
    var count = 0
    try statement.forEachRawRow { row in
      add(row)
      try each(row)
      count += 1
    }
    statement.reset()
    return count
  }

  /// Adds the rows whose first column is one of `ids` (ascending; a key listed twice is added
  /// twice), in key order, reading them in range scans: `statement` takes the lowest and highest key
  /// of a range and returns the rows in it ordered by the first column (then by the rest of its
  /// primary key). Only the first `columns` columns go into the digest. `each` gets every row added;
  /// `missing` every key with no row.
  ///
  /// Keys closer together than ``maximumGap`` share one scan; a farther key starts another. A list
  /// whose keys are spread over the table is so never read as the whole range between its lowest and
  /// highest key: in a database of many accounts, a new snapshot's results reuse a few rows stored
  /// with the first account's (an AWS-managed policy's results are the same in every account), and
  /// one scan from there to the new rows read every result stored in between (0.3 s per assessment
  /// after 600 snapshots of 200 accounts).
  mutating func rows(
    keyedBy ids: [Int64], _ statement: SQLiteStatement, columns: Int? = nil, each: (SQLiteRawRow) throws -> Void = { _ in },
    missing: (Int64) -> Void = { _ in }
  ) throws {
    var k = 0
    var found = false
    func skipKey() {
      if !found { missing(ids[k]) }
      let key = ids[k]
      while k < ids.count && ids[k] == key { k += 1 }
      found = false
    }
    var first = 0
    while first < ids.count {
      var last = first
      while last + 1 < ids.count && ids[last + 1] - ids[last] <= Self.maximumGap { last += 1 }
      try statement.bind([ids[first], ids[last]])
      try statement.forEachRawRow { row in
        guard let key = row.int64(0) else { return }
        while k < ids.count && ids[k] < key { skipKey() }
        guard k < ids.count, ids[k] == key else { return }
        var end = k
        while end < ids.count && ids[end] == key { end += 1 }
        for _ in k..<end {
          add(row, columns: columns)
          try each(row)
        }
        found = true
      }
      statement.reset()
      while k <= last { skipKey() }
      first = last + 1
    }
  }

  /// The largest distance between two keys read in one range scan by ``rows(keyedBy:_:columns:each:missing:)``.
  static let maximumGap: Int64 = 64

  /// The digest, as lower-case hexadecimal.
  mutating func hex() -> String {
    hasher.update(data: pending)
    pending.removeAll()
    return hasher.finalize().hexString
  }
}

extension SQLiteRawRow {
  /// Column `index` as an integer, nil when it is not one.
  func int64(_ index: Int) -> Int64? {
    if case .integer(let v) = value(index) { return v }
    return nil
  }

  /// Column `index` as text, nil when it is not text.
  func text(_ index: Int) -> String? {
    if case .text(let bytes) = value(index) { return String(decoding: bytes, as: UTF8.self) }
    return nil
  }

  /// Whether column `index` is text with exactly `bytes`.
  func textEquals(_ index: Int, _ bytes: [UInt8]) -> Bool {
    if case .text(let stored) = value(index) { return stored.elementsEqual(bytes) }
    return false
  }

  /// Column `index` as the bytes of a text or blob value, copied.
  func bytes(_ index: Int) -> [UInt8]? {
    switch value(index) {
    case .text(let b), .blob(let b): return Array(b)
    default: return nil
    }
  }
}
