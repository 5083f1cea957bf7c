// Calls into the C library: see the note at the top of MappedFile.swift on why System/ may.
import Crypto
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Why a snapshot input could not be read (``InputFile``).
public enum InputFileError: Error, Equatable, Sendable {
  /// open(2) failed: the reason in words.
  case cannotOpen(reason: String)
  /// Not a regular file: a FIFO, a device, a socket or a folder (`kind` says which, with its article).
  case notARegularFile(kind: String)
  /// More bytes than the limit.
  case tooLarge(limit: Int)
  /// A regular file whose size changed while it was read (another process writes or truncates it).
  case changedWhileReading(expected: Int, read: Int)
  /// read(2) failed.
  case readFailed(reason: String)
  /// The private copy of a large input could not be written.
  case cannotCopy(folder: String, reason: String)
}

/// Snapshot input read into memory that only this process can change, with the SHA-256 of exactly
/// those bytes: ingest hashes what it decodes, whatever another process does to the file meanwhile.
///
/// Up to 16 MiB are read with bounded `read(2)` calls (1 MiB at a time) into memory, each chunk
/// hashed as it is read. A larger file is copied by the kernel (`sendfile`) to an unlinked file of our
/// own in the temporary folder (`$TMPDIR`), which is then memory-mapped (``MappedFile``) and hashed;
/// larger standard input goes there chunk by chunk. So a 100 MB export is not resident at once, and
/// no mapping of a file that someone else may truncate (SIGBUS) or rewrite is ever made. A regular file whose size changes while it is read is an error. Names given are
/// opened without blocking and must be regular files: a FIFO or a device is refused, never waited on.
/// Standard input may be a pipe; it is read to its end, up to the same limit.
public enum InputFile {
  /// The largest snapshot ingest accepts, from a file or standard input: 2 GiB.
  public static let maximumBytes = 2 << 30
  static let chunkSize = 1 << 20
  static let memoryLimit = 16 << 20

  /// The regular file at `path`, with its modification time (seconds since 1970).
  public static func read(path: String, limit: Int = maximumBytes, afterChunk: ((Int) -> Void)? = nil) throws(InputFileError) -> (
    bytes: SnapshotBytes, modificationTime: Int64?
  ) {
    #if canImport(Glibc)
      let (fd, info) = try openRegular(path: path)
      defer { close(fd) }
      let size = Int(info.st_size)
      if size > limit { throw .tooLarge(limit: limit) }
      let modified = Int64(info.st_mtim.tv_sec)
      if size > memoryLimit, let copied = try copyInKernel(fd, size: size, limit: limit, afterChunk: afterChunk) {
        return (copied, modified)
      }
      return (try read(descriptor: fd, expectedSize: size, limit: limit, afterChunk: afterChunk), modified)
    #else
      throw .cannotOpen(reason: "not supported on this platform")
    #endif
  }

  /// Opens the regular file at `path` for reading, with its `fstat`: the descriptor, which the
  /// caller closes. Opened without blocking (`O_NONBLOCK`) and checked on the open descriptor, so a
  /// FIFO or a device swapped in for the name is refused, never waited on or read; reading a regular
  /// file is unaffected by the flag.
  static func openRegular(path: String) throws(InputFileError) -> (fd: Int32, info: stat) {
    #if canImport(Glibc)
      let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
      guard fd >= 0 else { throw .cannotOpen(reason: String(cString: strerror(errno))) }
      var info = stat()
      guard fstat(fd, &info) == 0 else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw .cannotOpen(reason: reason)
      }
      guard (info.st_mode & S_IFMT) == S_IFREG else {
        close(fd)
        throw .notARegularFile(kind: kind(info.st_mode))
      }
      return (fd, info)
    #else
      throw .cannotOpen(reason: "not supported on this platform")
    #endif
  }

  /// The regular file at `path` as a `FileHandle` that closes it (``openRegular(path:)``), and its size.
  static func regularFileHandle(path: String) throws(InputFileError) -> (handle: FileHandle, size: Int) {
    let (fd, info) = try openRegular(path: path)
    return (FileHandle(fileDescriptor: fd, closeOnDealloc: true), Int(info.st_size))
  }

  /// Standard input, read to its end.
  public static func readStandardInput(limit: Int = maximumBytes) throws(InputFileError) -> SnapshotBytes {
    try read(descriptor: 0, expectedSize: nil, limit: limit, afterChunk: nil)
  }

  /// Reads `descriptor` to its end (at most `limit` bytes) into private memory, hashing as it reads.
  /// With `expectedSize` (a regular file), reading another number of bytes is an error.
  static func read(
    descriptor fd: Int32, expectedSize: Int?, limit: Int, afterChunk: ((Int) -> Void)?
  ) throws(InputFileError) -> SnapshotBytes {
    #if canImport(Glibc)
      var hasher = SHA256()
      var memory: [UInt8] = []
      var spool: Int32 = -1
      var spoolFolder = ""
      defer { if spool >= 0 { close(spool) } }
      var total = 0
      let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
      defer { chunk.deallocate() }
      while true {
        let n = Glibc.read(fd, chunk.baseAddress, min(chunkSize, limit + 1 - total))
        if n < 0 {
          if errno == EINTR { continue }
          if errno == EAGAIN {
            // Standard input in non-blocking mode: wait until there is something to read.
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, -1)
            continue
          }
          throw .readFailed(reason: String(cString: strerror(errno)))
        }
        if n == 0 { break }
        let bytes = UnsafeRawBufferPointer(rebasing: chunk[0..<n])
        total += n
        if total > limit { throw .tooLarge(limit: limit) }
        hasher.update(bufferPointer: bytes)
        if spool < 0 && memory.count + n > memoryLimit {
          (spool, spoolFolder) = try openSpool()
          let failure = memory.withUnsafeBytes { raw -> InputFileError? in
            do throws(InputFileError) { try write(spool, raw, folder: spoolFolder) } catch { return error }
            return nil
          }
          if let failure { throw failure }
          memory = []
        }
        if spool >= 0 {
          try write(spool, bytes, folder: spoolFolder)
        } else {
          memory.append(contentsOf: bytes)
        }
        afterChunk?(total)
      }
      if let expectedSize, total != expectedSize { throw .changedWhileReading(expected: expectedSize, read: total) }
      let sha256 = hasher.finalize().hexString
      guard spool >= 0 else { return SnapshotBytes(memory, sha256: sha256) }
      guard let mapped = MappedFile(descriptor: spool, length: total) else {
        throw .cannotCopy(folder: spoolFolder, reason: "cannot map the copy: \(String(cString: strerror(errno)))")
      }
      return SnapshotBytes(
        buffer: mapped.buffer, discard: { mapped.discard(upTo: $0) }, release: { withExtendedLifetime(mapped) {} }, sha256: sha256)
    #else
      throw .readFailed(reason: "not supported on this platform")
    #endif
  }

  #if canImport(Glibc)
    /// A large regular file copied to a private file by the kernel (`sendfile`, 8 MiB at a time: no
    /// pass through this process's memory), then mapped and hashed. Nil when the kernel cannot copy
    /// between these files (the caller reads them instead).
    private static func copyInKernel(
      _ fd: Int32, size: Int, limit: Int, afterChunk: ((Int) -> Void)?
    ) throws(InputFileError) -> SnapshotBytes? {
      let (spool, folder) = try openSpool()
      defer { close(spool) }
      var total = 0
      while true {
        let n = sendfile(spool, fd, nil, min(8 << 20, limit + 1 - total))
        if n < 0 {
          if errno == EINTR { continue }
          if total == 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) { return nil }
          if errno == ENOSPC || errno == EDQUOT { throw .cannotCopy(folder: folder, reason: String(cString: strerror(errno))) }
          throw .readFailed(reason: String(cString: strerror(errno)))
        }
        if n == 0 { break }
        total += n
        if total > limit { throw .tooLarge(limit: limit) }
        afterChunk?(total)
      }
      if total != size { throw .changedWhileReading(expected: size, read: total) }
      guard let mapped = MappedFile(descriptor: spool, length: total) else {
        throw .cannotCopy(folder: folder, reason: "cannot map the copy: \(String(cString: strerror(errno)))")
      }
      // The copy is ours: hashing it, then decoding it, reads the same bytes.
      var hasher = SHA256()
      var offset = 0
      while offset < total {
        let end = min(offset + (4 << 20), total)
        hasher.update(bufferPointer: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: mapped.buffer[offset..<end])))
        offset = end
        mapped.discard(upTo: offset)
      }
      return SnapshotBytes(
        buffer: mapped.buffer, discard: { mapped.discard(upTo: $0) }, release: { withExtendedLifetime(mapped) {} },
        sha256: hasher.finalize().hexString)
    }

    /// An unlinked file of our own (mode 0600) in the temporary folder.
    private static func openSpool() throws(InputFileError) -> (Int32, String) {
      let folder = FileManager.default.temporaryDirectory.path
      var template = Array((folder + "/iam-evidence-input-XXXXXX").utf8CString)
      let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
      guard fd >= 0 else { throw .cannotCopy(folder: folder, reason: String(cString: strerror(errno))) }
      template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
      return (fd, folder)
    }

    private static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, folder: String) throws(InputFileError) {
      var offset = 0
      while offset < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          throw .cannotCopy(folder: folder, reason: String(cString: strerror(errno)))
        }
        offset += n
      }
    }

    /// What a file that is not a regular one is, in words.
    static func kind(_ mode: mode_t) -> String {
      switch mode & S_IFMT {
      case S_IFIFO: return "a FIFO"
      case S_IFCHR: return "a character device"
      case S_IFBLK: return "a block device"
      case S_IFSOCK: return "a socket"
      case S_IFDIR: return "a folder"
      default: return "not a regular file"
      }
    }
  #endif

  /// The kind of the file at `path` (following links): nil for a regular file, else what it is in
  /// words; a file that cannot be examined counts as regular here (opening it says why it fails).
  public static func nonRegularKind(path: String) -> String? {
    #if canImport(Glibc)
      var info = stat()
      guard stat(path, &info) == 0 else { return nil }
      return (info.st_mode & S_IFMT) == S_IFREG ? nil : kind(info.st_mode)
    #else
      return nil
    #endif
  }
}
