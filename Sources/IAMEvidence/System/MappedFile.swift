// System/ is the one folder of the library that calls the C library directly (mmap, madvise,
// munmap, dlsym, mallopt from Glibc): these are operating-system calls, not a C module of this
// project, so they need no wrapper target. Each use is kept behind a small Swift type that owns
// what it allocates, so nothing else in the library (and nothing in the CLI) touches raw memory
// mappings or symbols.
#if canImport(Glibc)
  import Glibc
#endif

/// A regular file mapped read-only into memory. Ingest reads it front to back and drops the pages
/// behind it (``discard(upTo:)``), so a 100 MB export is never resident at once. Unmapped in `deinit`.
public final class MappedFile: @unchecked Sendable {
  /// The file's bytes; valid while this object lives. Only read, never written, so sharing it across
  /// threads is sound.
  public let buffer: UnsafeBufferPointer<UInt8>
  private let pageSize: Int

  /// Maps the file at `path`; nil where mapping is not possible or not useful: a missing or unreadable
  /// file, a directory, a pipe or device, an empty file, or a platform without `mmap`.
  public init?(path: String) {
    #if canImport(Glibc)
      // Non-blocking, so that opening a pipe without a writer returns at once (and is then refused).
      let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
      guard fd >= 0 else { return nil }
      defer { close(fd) }
      var info = stat()
      guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 else { return nil }
      let length = Int(info.st_size)
      guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else { return nil }
      _ = madvise(base, length, MADV_SEQUENTIAL)
      pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
      buffer = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: length)
    #else
      return nil
    #endif
  }

  deinit {
    #if canImport(Glibc)
      _ = munmap(UnsafeMutableRawPointer(mutating: buffer.baseAddress), buffer.count)
    #endif
  }

  /// Drops the whole pages before `offset` from memory: they are not needed for now, and reading them
  /// again faults them back in from the page cache (the mapping is read-only, so nothing is lost).
  public func discard(upTo offset: Int) {
    #if canImport(Glibc)
      let end = min(offset, buffer.count) / pageSize * pageSize
      if end > 0 { _ = madvise(UnsafeMutableRawPointer(mutating: buffer.baseAddress), end, MADV_DONTNEED) }
    #endif
  }
}

extension SnapshotBytes {
  /// The file at `path`, memory-mapped (``MappedFile``), its pages dropped as ingest reads past them;
  /// nil where mapping is not possible (read the file instead).
  public convenience init?(mapping path: String) {
    guard let file = MappedFile(path: path) else { return nil }
    self.init(buffer: file.buffer, discard: { file.discard(upTo: $0) }, release: { withExtendedLifetime(file) {} })
  }
}
