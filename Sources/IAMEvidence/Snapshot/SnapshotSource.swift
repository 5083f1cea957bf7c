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
