import CSQLite

/// Statement parameters of many rows, packed: the values of each row in order, texts and blobs
/// copied once into one byte buffer. A worker thread can fill one (it is a plain value) and the
/// thread that owns the connection bind its rows (``SQLiteStatement/execute(row:of:_:)``), SQLite
/// reading the bytes in place: no array of boxed arguments, no allocation per value.
public struct SQLiteRowBuffer: Sendable {
  @usableFromInline enum Slot: Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(Int, Int)
    case blob(Int, Int)
  }
  @usableFromInline var slots: [Slot] = []
  @usableFromInline var bytes: [UInt8] = []
  /// The index in `slots` where each row starts, and where the next will.
  @usableFromInline var starts: [Int] = [0]

  public init() {}

  /// Reserves room for `rows` rows of `values` values each and `bytes` bytes of text and blobs, so
  /// that filling it does not grow it step by step.
  public mutating func reserveCapacity(rows: Int, values: Int, bytes: Int) {
    slots.reserveCapacity(rows * values)
    starts.reserveCapacity(rows + 1)
    self.bytes.reserveCapacity(bytes)
  }

  /// The number of rows ended (``endRow()``).
  public var count: Int { starts.count - 1 }

  @inlinable public mutating func null() { slots.append(.null) }

  @inlinable public mutating func integer(_ v: Int64) { slots.append(.integer(v)) }

  @inlinable public mutating func integer(_ v: Int) { slots.append(.integer(Int64(v))) }

  /// An integer, or NULL.
  @inlinable public mutating func integer(_ v: Int64?) { slots.append(v.map { .integer($0) } ?? .null) }

  /// An integer, or NULL.
  @inlinable public mutating func integer(_ v: Int?) { slots.append(v.map { .integer(Int64($0)) } ?? .null) }

  /// A boolean as SQLite stores one (1 or 0), or NULL.
  @inlinable public mutating func bool(_ v: Bool?) { slots.append(v.map { .integer($0 ? 1 : 0) } ?? .null) }

  @inlinable public mutating func real(_ v: Double) { slots.append(.real(v)) }

  /// A text, or NULL.
  @inlinable public mutating func text(_ s: String?) {
    guard var s else { return slots.append(.null) }
    let start = bytes.count
    s.withUTF8 { bytes.append(contentsOf: $0) }
    slots.append(.text(start, bytes.count - start))
  }

  /// A text given as its UTF-8 bytes.
  @inlinable public mutating func text(utf8 b: [UInt8]) {
    let start = bytes.count
    bytes.append(contentsOf: b)
    slots.append(.text(start, b.count))
  }

  /// A text given as its UTF-8 bytes.
  @inlinable public mutating func text<C: Collection>(utf8 b: C) where C.Element == UInt8 {
    let start = bytes.count
    bytes.append(contentsOf: b)
    slots.append(.text(start, bytes.count - start))
  }

  /// A blob.
  @inlinable public mutating func blob<C: Collection>(_ b: C) where C.Element == UInt8 {
    let start = bytes.count
    bytes.append(contentsOf: b)
    slots.append(.blob(start, bytes.count - start))
  }

  /// Ends a row: the values appended since the previous one.
  @inlinable public mutating func endRow() { starts.append(slots.count) }

  /// Forgets every row, keeping the memory for the next.
  @inlinable public mutating func removeAll() {
    slots.removeAll(keepingCapacity: true)
    bytes.removeAll(keepingCapacity: true)
    starts.removeAll(keepingCapacity: true)
    starts.append(0)
  }
}

extension SQLiteStatement {
  /// Binds the values of row `k` of `rows`, then `extra`, to the parameters in order (there must be
  /// exactly one value per parameter), runs the statement to its end, discarding any rows, and resets
  /// it. Texts and blobs are read by SQLite where they are in `rows`.
  public func execute(row k: Int, of rows: SQLiteRowBuffer, _ extra: SQLiteValue...) throws(SQLiteError) {
    let first = rows.starts[k]
    let width = rows.starts[k + 1] - first
    guard width + extra.count == parameterCount else {
      throw SQLiteError(
        code: SQLITE_RANGE, message: "\(width + extra.count) argument(s) given for \(parameterCount) parameter(s)", sql: sql)
    }
    try rows.bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(SQLiteError) -> Void in
      defer { reset() }
      for i in 0..<width {
        let index = Int32(i + 1)
        let rc: Int32
        switch rows.slots[first + i] {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
        case .real(let v): rc = sqlite3_bind_double(handle, index, v)
        // SQLITE_STATIC (a nil destructor): SQLite reads the bytes in place until the reset. An empty
        // text gets a pointer of its own (a NULL pointer would bind NULL).
        case .text(let start, let count):
          if count == 0 {
            rc = sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
          } else {
            rc = sqlite3_bind_text(
              handle, index, UnsafeRawPointer(buffer.baseAddress! + start).assumingMemoryBound(to: CChar.self), Int32(count), nil)
          }
        case .blob(let start, let count):
          if count == 0 {
            rc = sqlite3_bind_zeroblob(handle, index, 0)
          } else {
            rc = sqlite3_bind_blob(handle, index, UnsafeRawPointer(buffer.baseAddress! + start), Int32(count), nil)
          }
        }
        guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
      }
      for (j, value) in extra.enumerated() { try bind(value, at: Int32(width + j + 1)) }
      try run()
    }
  }

  /// Binds one value (texts and blobs copied by SQLite).
  func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
    let rc: Int32
    switch value {
    case .null: rc = sqlite3_bind_null(handle, index)
    case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
    case .real(let v): rc = sqlite3_bind_double(handle, index, v)
    case .text(var s):
      rc = s.withUTF8 { bytes in
        bytes.withMemoryRebound(to: CChar.self) { chars in
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
