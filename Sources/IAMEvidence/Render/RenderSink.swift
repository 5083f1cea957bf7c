import Crypto

/// A report file on its way out: renderers write it a piece at a time, the sink gathers the pieces
/// into blocks of about 1 MB for `consume` (a file being written, or memory), and counts and hashes
/// (SHA-256) the bytes on the way. So a report's largest files are never held whole in memory, and
/// the report names each with its size and hash without reading it back.
public final class RenderSink {
  private var buffer: [UInt8] = []
  private let blockSize: Int
  private let consume: (UnsafeRawBufferPointer) throws -> Void
  private var hasher = SHA256()
  /// The bytes written so far.
  public private(set) var byteCount = 0

  /// A sink handing blocks of about `blockSize` bytes to `consume`.
  public init(blockSize: Int = 1 << 20, consume: @escaping (UnsafeRawBufferPointer) throws -> Void) {
    self.blockSize = blockSize
    self.consume = consume
    buffer.reserveCapacity(blockSize)
  }

  /// Appends `bytes`.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    if buffer.count + bytes.count > blockSize {
      try flush()
      if bytes.count >= blockSize { return try emit(bytes) }
    }
    buffer.append(contentsOf: bytes)
  }

  /// Appends the UTF-8 of `text`.
  public func write(_ text: String) throws {
    var text = text
    try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
  }

  /// Hands what is gathered on.
  public func flush() throws {
    guard !buffer.isEmpty else { return }
    try buffer.withUnsafeBytes { try emit($0) }
    buffer.removeAll(keepingCapacity: true)
  }

  private func emit(_ bytes: UnsafeRawBufferPointer) throws {
    hasher.update(bufferPointer: bytes)
    byteCount += bytes.count
    try consume(bytes)
  }

  /// Flushes, and describes what was written: `name`, the size, the SHA-256 and `rows`.
  public func finish(name: String, rows: Int = 0) throws -> RenderedFile {
    try flush()
    return RenderedFile(name: name, byteCount: byteCount, sha256: hasher.finalize().hexString, rows: rows)
  }
}

/// A written report file as the report names it: its name, size, SHA-256, and the records it holds
/// (results, for the files holding the population; 0 where that means nothing).
public struct RenderedFile: Sendable, Hashable {
  public var name: String
  public var byteCount: Int
  /// Lowercase hex.
  public var sha256: String
  public var rows: Int

  public init(name: String, byteCount: Int, sha256: String, rows: Int) {
    self.name = name
    self.byteCount = byteCount
    self.sha256 = sha256
    self.rows = rows
  }
}
