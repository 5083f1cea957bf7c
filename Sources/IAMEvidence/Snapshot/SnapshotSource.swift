import Crypto

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

/// The bytes of one snapshot, in memory only this process can change (a copy, or ``InputFile``'s
/// private mapped copy), and the SHA-256 of exactly those bytes, computed when they were read.
///
/// Ingest decodes them front to back and says how far it has got, so a mapping can drop the pages
/// already read: a 100 MB export then never has to be resident at once.
public final class SnapshotBytes: @unchecked Sendable {
  /// The bytes; valid while this object lives.
  public let buffer: UnsafeBufferPointer<UInt8>
  /// SHA-256 (hex) of ``buffer``.
  public let sha256: String
  private let discard: ((Int) -> Void)?
  private let release: () -> Void

  /// A copy of `bytes` (hashed here).
  public convenience init(_ bytes: [UInt8]) {
    self.init(bytes, sha256: SHA256.hash(data: bytes).hexString)
  }

  /// A copy of `bytes`, whose SHA-256 the caller computed.
  convenience init(_ bytes: [UInt8], sha256: String) {
    let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
    _ = copy.initialize(from: bytes)
    self.init(
      buffer: UnsafeBufferPointer(rebasing: UnsafeBufferPointer(copy)[0..<bytes.count]), discard: nil,
      release: { copy.deallocate() }, sha256: sha256)
  }

  /// Memory owned elsewhere (``InputFile``'s private mapping). `discard` is told, as reading
  /// advances, the offset before which the bytes will not be read again; `release` is called once,
  /// when this object goes away.
  init(buffer: UnsafeBufferPointer<UInt8>, discard: ((Int) -> Void)?, release: @escaping () -> Void, sha256: String) {
    self.buffer = buffer
    self.discard = discard
    self.release = release
    self.sha256 = sha256
  }

  deinit { release() }

  /// Bytes before `offset` are not needed any more.
  func discard(upTo offset: Int) { discard?(offset) }
}
